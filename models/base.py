"""The base model every table derives from, bound through the database proxy."""

import functools
import operator
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Self, TypeVar

import peewee

from models.db import database
from models.errors import InvalidReference, NotFound

Query = TypeVar("Query", bound=peewee.Select)
Row = TypeVar("Row", bound=peewee.Model)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def text_match(query: Query, q: str | None, *fields: peewee.Field) -> Query:
    """Narrow `query` to rows where one of `fields` contains `q`, ignoring case; LIKE wildcards in
    `q` match only themselves."""
    if not q:
        return query
    return query.where(text_condition(like_pattern(q), *fields))


def listing(query: "peewee.ModelSelect[Row]", limit: int, offset: int, *order: peewee.Node) -> tuple[list[Row], int]:
    """One page of a list: (the rows of `query` in a stable `order`, from `offset`, at most
    `limit` of them; how many rows the query has in all)."""
    return list(query.order_by(*order).limit(limit).offset(offset)), query.count()


def like_pattern(q: str) -> str:
    """The LIKE pattern of `q` for `text_condition`: lower case, its wildcards escaped."""
    escaped = q.lower().replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
    return f"%{escaped}%"


def text_condition(pattern: str, *fields: peewee.Field) -> peewee.Expression:
    """One of `fields`, lower-cased, matches the LIKE `pattern` (escaped with a backslash); the
    pattern is a plain value, so a prepared query can take it."""
    escape = peewee.Value("\\", converter=False)
    return functools.reduce(
        operator.or_,
        (
            peewee.Expression(
                peewee.fn.LOWER(f), peewee.OP.ILIKE, peewee.NodeList((pattern, peewee.SQL("ESCAPE"), escape))
            )
            for f in fields
        ),
    )


class BaseModel(peewee.Model):
    # For the type checker: the key peewee adds to every table without one of its own, and what the
    # models of a project's objects (those `in_project` and `named_in_body` look in) define.
    id: "peewee.AutoField[int]"
    project: Any
    not_found: ClassVar[type[NotFound]]

    class Meta:
        database = database
        legacy_table_names = False

    @classmethod
    def get_or_raise(cls, error: Callable[[], Exception], *where: peewee.Node) -> Self:
        """The one row matching `where`, or the domain error the caller names."""
        row = cls.get_or_none(*where)
        if row is None:
            raise error()
        return row

    @classmethod
    def in_project(cls, project_id: int, object_id: int) -> Self:
        """The object of the caller's project that a path names; otherwise the model's own 404."""
        return cls.get_or_raise(
            lambda: cls.not_found(f"{cls.__name__} {object_id} does not exist."),
            (cls.id == object_id) & (cls.project == project_id),
        )

    @classmethod
    def named_in_body(cls, project_id: int, object_id: int, field: str) -> Self:
        """The object of the caller's project that a request body names at `/field`; otherwise
        422 `<kind>_not_found` (a body is not a path: the request itself is well-routed)."""
        found = cls.get_or_none((cls.id == object_id) & (cls.project == project_id))
        if found is None:
            kind = cls.__name__.lower()
            raise InvalidReference(
                f"{cls.__name__} {object_id} does not exist.",
                code=f"{kind}_not_found",
                errors=[{"path": f"/{field}", "message": f"no such {kind} in this project"}],
            )
        return found


class TimestampedModel(BaseModel):
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    def save(self, *args: Any, **kwargs: Any) -> int:
        if self.get_id() is not None and kwargs.get("only") is None:
            self.updated_at = utcnow()
        return super().save(*args, **kwargs)
