"""Dataset metadata: each dataset is one real SQL table whose columns are described here."""

import peewee

from models.base import TimestampedModel
from models.db import JSONField
from models.errors import DatasetNotFound
from models.identity import Project

COLUMN_TYPES = ("string", "integer", "number", "boolean", "date", "datetime")


class Dataset(TimestampedModel):
    """`columns` is a list of {name, type, key}: `key` is the safe SQL identifier of the column."""

    project = peewee.ForeignKeyField(Project, on_delete="CASCADE")
    name = peewee.CharField(max_length=255)
    description = peewee.TextField(default="")
    columns = JSONField(default=list)
    row_count = peewee.BigIntegerField(default=0)
    version = peewee.IntegerField(default=1)
    not_found = DatasetNotFound

    class Meta:
        indexes = ((("project", "name"), False),)

    @property
    def table_name(self):
        return f"dataset_rows_{self.id}"

