"""Dataset metadata: each dataset is one real SQL table whose columns are described here."""

import peewee

from models.base import TimestampedModel
from models.db import JSONField
from models.errors import DatasetNotFound, InvalidReference
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

    class Meta:
        indexes = ((("project", "name"), False),)

    @property
    def table_name(self):
        return f"dataset_rows_{self.id}"

    @classmethod
    def in_project(cls, project_id, dataset_id):
        return cls.get_or_raise(
            lambda: DatasetNotFound(f"Dataset {dataset_id} does not exist."),
            (cls.id == dataset_id) & (cls.project == project_id),
        )

    @classmethod
    def referenced(cls, project_id, dataset_id, field):
        """The dataset a body names: 422 when it is not in the caller's project."""
        found = cls.get_or_none((cls.id == dataset_id) & (cls.project == project_id))
        if found is None:
            raise InvalidReference(
                f"Dataset {dataset_id} does not exist.", code="dataset_not_found",
                errors=[{"path": f"/{field}", "message": "no such dataset in this project"}],
            )
        return found
