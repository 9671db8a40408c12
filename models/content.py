"""Collections, dashboards and what a dashboard holds: pages, cards and share grants."""

import secrets
from datetime import datetime
from typing import Any, NamedTuple, Self

import peewee

from models.base import BaseModel, TimestampedModel, listing, utcnow
from models.db import JSONField, Prepared
from models.errors import (
    CollectionCycle,
    CollectionNotEmpty,
    CollectionNotFound,
    InvalidReference,
    PreconditionFailed,
    PublicDashboardNotFound,
    ShareNotFound,
)
from models.identity import Group, Project, User
from models.parameters import validate_definitions

AUDIENCES = ("private", "org", "public")
ACCESS_LEVELS = ("viewer", "commenter", "editor")


class Collection(TimestampedModel):
    project = peewee.ForeignKeyField(Project, on_delete="CASCADE")
    parent = peewee.ForeignKeyField("self", null=True, backref="children", on_delete="RESTRICT")
    name = peewee.CharField(max_length=255)
    description = peewee.TextField(default="")
    project_id: int
    parent_id: int | None
    children: "peewee.ModelSelect[Collection]"  # backrefs
    dashboards: "peewee.ModelSelect[Dashboard]"

    not_found = CollectionNotFound

    class Meta:
        indexes = ((("project", "parent"), False),)

    @classmethod
    def listed(cls, project_id: int, limit: int, offset: int, parent_id: int | None = None) -> tuple[list[Self], int]:
        """(one page of the project's collections, by name then id, under `parent_id` if given; how
        many there are in all)."""
        query = cls.select().where(cls.project == project_id)
        if parent_id is not None:
            query = query.where(cls.parent == parent_id)
        return listing(query, limit, offset, cls.name, cls.id)

    @classmethod
    def referenced(cls, project_id: int, collection_id: int | None, field: str) -> Self | None:
        """The collection a body names: 422 when it is not in the caller's project."""
        return None if collection_id is None else cls.named_in_body(project_id, collection_id, field)

    def move_under(self, parent: Self | None) -> None:
        """Re-parent, refusing to put the collection under itself or a descendant."""
        node = parent
        while node is not None:
            if node.id == self.id:
                raise CollectionCycle("A collection cannot move under itself or its descendants.")
            node = node.parent
        self.parent = parent

    def ensure_empty(self) -> None:
        if self.children.exists() or self.dashboards.exists():
            raise CollectionNotEmpty("The collection still holds dashboards or collections.")


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
    project_id: int
    collection_id: int | None
    owner_id: int
    pages: "peewee.ModelSelect[Page]"  # backrefs
    cards: "peewee.ModelSelect[Card]"

    class Meta:
        indexes = (
            (("project", "collection"), False),
            (("project", "owner"), False),
        )

    @classmethod
    def create_with_first_page(cls, **fields: Any) -> Self:
        dashboard = cls.create(**fields)
        if dashboard.default_audience == "public":
            dashboard.public_slug = secrets.token_urlsafe(24)
            dashboard.save()
        Page.create(dashboard=dashboard, position=1, name="Page 1")
        return dashboard

    @classmethod
    def public(cls, slug: str) -> Self:
        """The dashboard behind a public slug while it is public; 404 otherwise."""
        return cls.get_or_raise(
            lambda: PublicDashboardNotFound("No public dashboard has this link."),
            (cls.public_slug == slug) & (cls.default_audience == "public"),
        )

    def apply_changes(self, changes: dict[str, Any]) -> None:
        """The top-level fields a PATCH sends, each checked as on create."""
        if "collection_id" in changes:
            self.collection = Collection.referenced(self.project_id, changes["collection_id"], "collection_id")
        if "parameters" in changes:
            self.parameters = validate_definitions(changes["parameters"])
        if "default_audience" in changes:
            self.set_audience(changes["default_audience"])
        for field in ("name", "description"):
            if field in changes:
                setattr(self, field, changes[field])
        self.updated_at = utcnow()
        _STORE_TOP_FIELDS.execute(
            self.id,
            self.collection_id,
            self.name,
            self.description,
            Dashboard.parameters.db_value(self.parameters),
            self.default_audience,
            self.public_slug,
            Dashboard.updated_at.db_value(self.updated_at),
        )

    def set_audience(self, audience: str) -> None:
        """A public dashboard keeps one slug while it stays public; leaving public retires it."""
        if audience == "public" and not self.public_slug:
            self.public_slug = secrets.token_urlsafe(24)
        elif audience != "public":
            self.public_slug = None
        self.default_audience = audience

    def bump_version(self, expected: set[int] | None = None) -> None:
        """Record a change; with `expected` versions, refuse it when the current one is not among them.

        The conditional UPDATE is the lock: of two writers holding the same version, the second
        finds no row to update once the first commits.
        """
        now = utcnow()
        shape = "any" if expected is None else len(expected)
        bumped = _BUMP.rows(self.id, Dashboard.updated_at.db_value(now), *sorted(expected or ()), shape=shape)
        if not bumped:
            current = Dashboard.select(Dashboard.version).where(Dashboard.id == self.id).scalar()
            raise PreconditionFailed(
                f"The dashboard is at version {current}, which If-Match does not name.",
                current_version=current,
            )
        self.version, self.updated_at = bumped[0][0], now


def _bump(dashboard_id: int, now: str, *versions: int, shape: str | int) -> peewee.Query:
    query = Dashboard.update(version=Dashboard.version + 1, updated_at=now).where(Dashboard.id == dashboard_id)
    if shape != "any":
        query = query.where(Dashboard.version.in_(list(versions)))
    return query.returning(Dashboard.version).tuples()


# A write's version bump and a PATCH's fields, the statements of every dashboard write: prepared.
_BUMP = Prepared(_bump)
_STORE_TOP_FIELDS = Prepared(
    lambda dashboard_id, collection_id, name, description, parameters, audience, slug, now: Dashboard.update(
        collection=collection_id,
        name=name,
        description=description,
        parameters=parameters,
        default_audience=audience,
        public_slug=slug,
        updated_at=now,
    ).where(Dashboard.id == dashboard_id)
)


class Page(BaseModel):
    dashboard = peewee.ForeignKeyField(Dashboard, backref="pages", on_delete="CASCADE")
    position = peewee.IntegerField()
    name = peewee.CharField(max_length=255)
    dashboard_id: int

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
    dashboard_id: int
    page_id: int

    class Meta:
        indexes = ((("dashboard", "page"), False),)


class Share(TimestampedModel):
    dashboard = peewee.ForeignKeyField(Dashboard, backref="shares", on_delete="CASCADE")
    subject_type = peewee.CharField(max_length=8)
    subject_id = peewee.IntegerField()
    access_level = peewee.CharField(max_length=16)
    dashboard_id: int

    class Meta:
        indexes = (
            (("dashboard", "subject_type", "subject_id"), True),
            (("subject_type", "subject_id"), False),
        )

    SUBJECTS: dict[str, type[User] | type[Group]] = {"user": User, "group": Group}

    @classmethod
    def upsert(
        cls, dashboard: Dashboard, org_id: int, subject_type: str, subject_id: int, access_level: str
    ) -> tuple[Self, bool]:
        """Grant `access_level` to a user or group of the org; returns (share, created).

        The caller holds the dashboard's row (dashboard_for(lock=True)), so two upserts of one
        subject cannot both insert.
        """
        model = cls.SUBJECTS[subject_type]
        if not model.select().where((model.id == subject_id) & (model.org == org_id)).exists():
            raise InvalidReference(
                f"There is no {subject_type} {subject_id} in your org.",
                code=f"{subject_type}_not_found",
                errors=[{"path": "/subject_id", "message": f"no such {subject_type} in this org"}],
            )
        share, created = cls.get_or_create(
            dashboard=dashboard,
            subject_type=subject_type,
            subject_id=subject_id,
            defaults={"access_level": access_level},
        )
        if not created:
            share.access_level = access_level
            share.save()
        return share, created

    @classmethod
    def listed(cls, dashboard: Dashboard, limit: int, offset: int) -> tuple[list[Self], int]:
        """(one page of the dashboard's grants, by id; how many there are in all)."""
        return listing(cls.select().where(cls.dashboard == dashboard.id), limit, offset, cls.id)

    @classmethod
    def on_dashboard(cls, dashboard: Dashboard, share_id: int) -> Self:
        return cls.get_or_raise(
            lambda: ShareNotFound(f"Share {share_id} does not exist on this dashboard."),
            (cls.id == share_id) & (cls.dashboard == dashboard.id),
        )


class Contents(NamedTuple):
    """What a dashboard holds, as plain rows in the order its answer shows them."""

    pages: list[tuple[int, int, str]]  # (id, position, name), by position
    # (id, card_type, config, page id, x, y, w, h, created_at, updated_at), by id
    cards: list[tuple[int, str, dict[str, Any], int, int, int, int, int, datetime, datetime]]
    # (id, subject_type, subject_id, access_level, created_at, updated_at), by id
    shares: list[tuple[int, str, int, str, datetime, datetime]]


# Every write of a dashboard answers its contents, and GET one dashboard once per version, so
# their SQL is prepared once and no model object is built.
_PAGES_OF = Prepared(
    lambda dashboard_id: (
        Page.select(Page.id, Page.position, Page.name)
        .where(Page.dashboard == dashboard_id)
        .order_by(Page.position)
        .tuples()
    )
)
_CARDS_OF = Prepared(
    lambda dashboard_id: (
        Card.select(
            Card.id,
            Card.card_type,
            Card.config,
            Card.page,
            Card.x,
            Card.y,
            Card.w,
            Card.h,
            Card.created_at,
            Card.updated_at,
        )
        .where(Card.dashboard == dashboard_id)
        .order_by(Card.id)
        .tuples()
    )
)
_SHARES_OF = Prepared(
    lambda dashboard_id: (
        Share.select(
            Share.id,
            Share.subject_type,
            Share.subject_id,
            Share.access_level,
            Share.created_at,
            Share.updated_at,
        )
        .where(Share.dashboard == dashboard_id)
        .order_by(Share.id)
        .tuples()
    )
)


def contents_of(dashboard: Dashboard) -> Contents:
    """The dashboard's pages, cards and shares, read together (one round trip on PostgreSQL)."""
    return Contents(*Prepared.batch(*((query, (dashboard.id,), None) for query in (_PAGES_OF, _CARDS_OF, _SHARES_OF))))
