"""Tenancy and identity: orgs, projects, users, groups, project permissions and API tokens."""

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Self

import peewee

from models.base import BaseModel, listing, text_match, utcnow
from models.db import database
from models.errors import GroupNameTaken, TokenNotFound, UserNotFound

ROLES = ("viewer", "editor", "admin")
PERMISSIONS = ("dashboard.view", "dashboard.edit", "dataset.edit")
TOKEN_PREFIX = "dba_"
# Bounds of a token's lifetime in seconds, when it has one: a minute to a year.
TOKEN_LIFETIME_MIN, TOKEN_LIFETIME_MAX = 60, 365 * 24 * 3600


class Org(BaseModel):
    name = peewee.CharField(max_length=255, unique=True)
    created_at = peewee.DateTimeField(default=utcnow)


class Project(BaseModel):
    org = peewee.ForeignKeyField(Org, backref="projects", on_delete="CASCADE")
    org_id: int
    name = peewee.CharField(max_length=255)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("org", "name"), True),)


class User(BaseModel):
    org = peewee.ForeignKeyField(Org, backref="users", on_delete="CASCADE")
    org_id: int
    email = peewee.CharField(max_length=320, unique=True)
    name = peewee.CharField(max_length=255, default="")
    role = peewee.CharField(max_length=16, default="viewer")
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "app_user"

    @classmethod
    def listed(cls, org_id: int, limit: int, offset: int, q: str | None = None) -> tuple[list[Self], int]:
        """(one page of the org's users, by name then id, those whose name or email holds `q` if
        given; how many there are in all)."""
        query = text_match(cls.select().where(cls.org == org_id), q, cls.name, cls.email)
        return listing(query, limit, offset, cls.name, cls.id)

    @classmethod
    def in_org(cls, org_id: int, user_id: int) -> Self:
        """A user named in a path: 404 when it is not a member of the caller's org."""
        return cls.get_or_raise(
            lambda: UserNotFound(f"User {user_id} does not exist."), (cls.id == user_id) & (cls.org == org_id)
        )


class Group(BaseModel):
    org = peewee.ForeignKeyField(Org, backref="groups", on_delete="CASCADE")
    org_id: int
    name = peewee.CharField(max_length=255)
    description = peewee.TextField(default="")
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "user_group"
        indexes = ((("org", "name"), True),)

    @classmethod
    def listed(cls, org_id: int, limit: int, offset: int, q: str | None = None) -> tuple[list[Self], int]:
        """(one page of the org's groups, by name then id, those whose name holds `q` if given;
        how many there are in all)."""
        query = text_match(cls.select().where(cls.org == org_id), q, cls.name)
        return listing(query, limit, offset, cls.name, cls.id)

    @classmethod
    def named(cls, group_ids: Iterable[int]) -> list[Self]:
        """The groups among `group_ids` (the caller's own), by name: id and name only."""
        return list(cls.select(cls.id, cls.name).where(cls.id.in_(list(group_ids))).order_by(cls.name))

    def users(self) -> list[User]:
        """The group's members, by name then id."""
        return list(User.select().join(GroupMember).where(GroupMember.group == self.id).order_by(User.name, User.id))

    def save_unique(self, **fields: Any) -> Self:
        """Save with these fields; a name another group of the org holds is 409, not an IntegrityError."""
        for name, value in fields.items():
            setattr(self, name, value)
        self.updated_at = utcnow()
        try:
            with database.atomic():
                self.save()
        except peewee.IntegrityError:
            raise GroupNameTaken(f"A group named {self.name!r} exists in your org.") from None
        return self


class GroupMember(BaseModel):
    group = peewee.ForeignKeyField(Group, backref="members", on_delete="CASCADE")
    user = peewee.ForeignKeyField(User, backref="memberships", on_delete="CASCADE")

    class Meta:
        primary_key = peewee.CompositeKey("group", "user")
        indexes = ((("user",), False),)


class ProjectPermission(BaseModel):
    """A permission of the new layer, granted to a user or a group for one project."""

    project = peewee.ForeignKeyField(Project, on_delete="CASCADE")
    user = peewee.ForeignKeyField(User, null=True, on_delete="CASCADE")
    group = peewee.ForeignKeyField(Group, null=True, on_delete="CASCADE")
    permission = peewee.CharField(max_length=32)

    class Meta:
        indexes = ((("project", "user", "group", "permission"), True),)


class ApiToken(BaseModel):
    user = peewee.ForeignKeyField(User, backref="tokens", on_delete="CASCADE")
    project = peewee.ForeignKeyField(Project, on_delete="CASCADE")
    user_id: int
    project_id: int
    token_hash = peewee.CharField(max_length=64, unique=True)
    prefix = peewee.CharField(max_length=16)
    created_at = peewee.DateTimeField(default=utcnow)
    expires_at = peewee.DateTimeField(null=True)  # null: never (schema migration 2 added it)

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    @classmethod
    def issue(cls, user: User | int, project: Project | int, expires_in: int | None = None) -> tuple[Self, str]:
        """Create a token for `user` in `project`, valid for `expires_in` seconds (None: until
        revoked); the plain token is returned once, never stored."""
        if expires_in is not None and not TOKEN_LIFETIME_MIN <= expires_in <= TOKEN_LIFETIME_MAX:
            raise ValueError(f"a token lives {TOKEN_LIFETIME_MIN} to {TOKEN_LIFETIME_MAX} seconds")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        expires_at = None if expires_in is None else now + timedelta(seconds=expires_in)
        row = cls.create(
            user=user,
            project=project,
            token_hash=cls.hash(token),
            prefix=token[:12],
            created_at=now,
            expires_at=expires_at,
        )
        return row, token

    @classmethod
    def listed(cls, user_id: int, limit: int, offset: int) -> tuple[list[Self], int]:
        """(one page of the user's tokens of every project, by id; how many there are in all)."""
        return listing(cls.select().where(cls.user == user_id), limit, offset, cls.id)

    @classmethod
    def of_user(cls, user_id: int, token_id: int) -> Self:
        """One of the user's own tokens; anyone else's answers as if it did not exist."""
        return cls.get_or_raise(
            lambda: TokenNotFound(f"Token {token_id} does not exist."), (cls.id == token_id) & (cls.user == user_id)
        )
