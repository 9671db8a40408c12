"""Tenancy and identity: orgs, projects, users, groups, project permissions and API tokens."""

import hashlib
import secrets

import peewee

from models.base import BaseModel, utcnow

ROLES = ("viewer", "editor", "admin")
PERMISSIONS = ("dashboard.view", "dashboard.edit", "dataset.edit")
TOKEN_PREFIX = "dba_"


class Org(BaseModel):
    name = peewee.CharField(max_length=255, unique=True)
    created_at = peewee.DateTimeField(default=utcnow)


class Project(BaseModel):
    org = peewee.ForeignKeyField(Org, backref="projects", on_delete="CASCADE")
    name = peewee.CharField(max_length=255)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("org", "name"), True),)


class User(BaseModel):
    org = peewee.ForeignKeyField(Org, backref="users", on_delete="CASCADE")
    email = peewee.CharField(max_length=320, unique=True)
    name = peewee.CharField(max_length=255, default="")
    role = peewee.CharField(max_length=16, default="viewer")
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "app_user"


class Group(BaseModel):
    org = peewee.ForeignKeyField(Org, backref="groups", on_delete="CASCADE")
    name = peewee.CharField(max_length=255)
    description = peewee.TextField(default="")
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "user_group"
        indexes = ((("org", "name"), True),)


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
    token_hash = peewee.CharField(max_length=64, unique=True)
    prefix = peewee.CharField(max_length=16)
    created_at = peewee.DateTimeField(default=utcnow)

    @staticmethod
    def hash(token):
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    @classmethod
    def issue(cls, user, project):
        """Create a token for `user` in `project`; the plain token is returned once, never stored."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = cls.create(user=user, project=project, token_hash=cls.hash(token), prefix=token[:12])
        return row, token
