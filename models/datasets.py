"""Dataset metadata: each dataset is one real SQL table whose columns are described here."""

from typing import Self

import peewee

from models.base import TimestampedModel, listing, text_match
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
    project_id: int
    not_found = DatasetNotFound

    class Meta:
        indexes = ((("project", "name"), False),)

    @classmethod
    def listed(cls, project_id: int, limit: int, offset: int, q: str | None = None) -> tuple[list[Self], int]:
        """(one page of the project's datasets, by name then id, those whose name or description
        holds `q` if given; how many there are in all)."""
        query = text_match(cls.select().where(cls.project == project_id), q, cls.name, cls.description)
        return listing(query, limit, offset, cls.name, cls.id)

    @property
    def table_name(self) -> str:
        return f"dataset_rows_{self.id}"
