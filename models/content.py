"""Collections, dashboards and what a dashboard holds: pages, cards and share grants."""

import peewee

from models.base import BaseModel, TimestampedModel
from models.db import JSONField
from models.identity import Project, User

AUDIENCES = ("private", "org", "public")
ACCESS_LEVELS = ("viewer", "commenter", "editor")


class Collection(TimestampedModel):
    project = peewee.ForeignKeyField(Project, on_delete="CASCADE")
    parent = peewee.ForeignKeyField("self", null=True, backref="children", on_delete="RESTRICT")
    name = peewee.CharField(max_length=255)
    description = peewee.TextField(default="")

    class Meta:
        indexes = ((("project", "parent"), False),)


class Dashboard(TimestampedModel):
    project = peewee.ForeignKeyField(Project, on_delete="CASCADE")
    collection = peewee.ForeignKeyField(Collection, null=True, backref="dashboards", on_delete="RESTRICT")
    owner = peewee.ForeignKeyField(User, on_delete="CASCADE")
    name = peewee.CharField(max_length=255)
    description = peewee.TextField(default="")
    parameters = JSONField(default=list)
    default_audience = peewee.CharField(max_length=16, default="private")
    public_slug = peewee.CharField(max_length=64, null=True, unique=True)
    version = peewee.IntegerField(default=1)

    class Meta:
        indexes = (
            (("project", "collection"), False),
            (("project", "owner"), False),
        )


class Page(BaseModel):
    dashboard = peewee.ForeignKeyField(Dashboard, backref="pages", on_delete="CASCADE")
    position = peewee.IntegerField()
    name = peewee.CharField(max_length=255)

    class Meta:
        indexes = ((("dashboard", "position"), False),)


class Card(TimestampedModel):
    dashboard = peewee.ForeignKeyField(Dashboard, backref="cards", on_delete="CASCADE")
    page = peewee.ForeignKeyField(Page, backref="cards", on_delete="CASCADE")
    card_type = peewee.CharField(max_length=32)
    config = JSONField(default=dict)
    x = peewee.IntegerField()
    y = peewee.IntegerField()
    w = peewee.IntegerField()
    h = peewee.IntegerField()

    class Meta:
        indexes = ((("dashboard", "page"), False),)


class Share(TimestampedModel):
    dashboard = peewee.ForeignKeyField(Dashboard, backref="shares", on_delete="CASCADE")
    subject_type = peewee.CharField(max_length=8)
    subject_id = peewee.IntegerField()
    access_level = peewee.CharField(max_length=16)

    class Meta:
        indexes = (
            (("dashboard", "subject_type", "subject_id"), True),
            (("subject_type", "subject_id"), False),
        )
