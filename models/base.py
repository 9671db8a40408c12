"""The base model every table derives from, bound through the database proxy."""

from datetime import datetime, timezone

import peewee

from models.db import database


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False

    @classmethod
    def get_or_raise(cls, error, *where):
        """The one row matching `where`, or the domain error the caller names."""
        row = cls.get_or_none(*where)
        if row is None:
            raise error()
        return row


class TimestampedModel(BaseModel):
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    def save(self, *args, **kwargs):
        if self._pk is not None and kwargs.get("only") is None:
            self.updated_at = utcnow()
        return super().save(*args, **kwargs)
