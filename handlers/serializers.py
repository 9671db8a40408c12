"""How each resource is shown: one schema per resource, used by every handler.

The resources every read answers (dashboards with their pages, cards and shares, collections)
are plain functions: marshmallow's per-field machinery was a sixth of the CPU of GET one
dashboard (README, performance). The others stay marshmallow schemas.
"""

from marshmallow import Schema, fields

from models import render
from models.content import Card, Page, Share
from models.db import Prepared
from models.identity import GroupMember, User


def utc(value):
    """Stored as naive UTC; shown as RFC 3339 with its offset (`Z`), to the millisecond."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


class UTCDateTime(fields.Field):
    """Stored as naive UTC; shown as RFC 3339 with its offset."""

    def _serialize(self, value, attr, obj, **kwargs):
        return utc(value)


class Shape:
    """A resource's shape as a function of its row, with marshmallow's `dump(obj)` and `many`."""

    def __init__(self, show, many=False):
        self.show, self.many = show, many

    def dump(self, rows):
        return [self.show(row) for row in rows] if self.many else self.show(rows)


class Timestamps(Schema):
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


def _collection(row):
    return {"id": row.id, "name": row.name, "description": row.description, "parent_id": row.parent_id,
            "created_at": utc(row.created_at), "updated_at": utc(row.updated_at)}


def _dashboard(row):
    return dashboard_of(row.__data__)


def dashboard_of(data):
    """A dashboard from its fields by name (a row's `__data__`, or a row of a `.dicts()` query);
    a nullable field a new row was not given is absent from `__data__`."""
    return {"id": data["id"], "name": data["name"], "description": data["description"],
            "collection_id": data.get("collection"), "parameters": data["parameters"],
            "default_audience": data["default_audience"], "public_slug": data.get("public_slug"),
            "owner_id": data["owner"], "version": data["version"],
            "created_at": utc(data["created_at"]), "updated_at": utc(data["updated_at"])}


class ColumnSchema(Schema):
    name = fields.Str()
    type = fields.Str()


class DatasetSchema(Timestamps):
    id = fields.Int()
    name = fields.Str()
    description = fields.Str()
    columns = fields.List(fields.Nested(ColumnSchema))
    row_count = fields.Int()
    version = fields.Int()


def _page(row):
    return {"page_number": row.position, "name": row.name}


def _card(row):
    """A card; `row.page_number` is set by whoever loaded it."""
    return _card_of(row.id, row.card_type, row.config, row.page_number, row.x, row.y, row.w, row.h,
                    row.created_at, row.updated_at)


def _card_of(card_id, card_type, config, page_number, x, y, w, h, created_at, updated_at):
    return {"id": card_id, "card_type": card_type, "config": config, "page": page_number,
            "layout": {"x": x, "y": y, "w": w, "h": h}, "created_at": utc(created_at), "updated_at": utc(updated_at)}


def _share(row):
    return _share_of(row.id, row.subject_type, row.subject_id, row.access_level, row.created_at, row.updated_at)


def _share_of(share_id, subject_type, subject_id, access_level, created_at, updated_at):
    return {"id": share_id, "subject_type": subject_type, "subject_id": subject_id, "access_level": access_level,
            "created_at": utc(created_at), "updated_at": utc(updated_at)}


class UserSchema(Schema):
    id = fields.Int()
    email = fields.Str()
    name = fields.Str()


class GroupSchema(Timestamps):
    id = fields.Int()
    name = fields.Str()
    description = fields.Str()


class TokenSchema(Schema):
    """A token as its owner may see it again: never the token itself, which is shown once."""

    id = fields.Int()
    prefix = fields.Str()
    project_id = fields.Int()
    created_at = UTCDateTime()
    expires_at = UTCDateTime()
    current = fields.Method("_is_current")

    def __init__(self, current_token_id=None, **kwargs):
        super().__init__(**kwargs)
        self.current_token_id = current_token_id

    def _is_current(self, row):
        return row.id == self.current_token_id


def _placement(card):
    return {"card_id": card.id, "page": card.page.position, "x": card.x, "y": card.y, "w": card.w, "h": card.h}


collection = Shape(_collection)
collections = Shape(_collection, many=True)
dashboard = Shape(_dashboard)
dashboards = Shape(_dashboard, many=True)
dataset = DatasetSchema()
datasets = DatasetSchema(many=True)
page = Shape(_page)
pages = Shape(_page, many=True)
card_schema = Shape(_card)
cards = Shape(_card, many=True)
share = Shape(_share)
placements = Shape(_placement, many=True)
shares = Shape(_share, many=True)
users = UserSchema(many=True)
group = GroupSchema()
groups = GroupSchema(many=True)


def tokens(principal, many=True):
    """Tokens marked `current` when they are the one this request came with."""
    return TokenSchema(current_token_id=principal.token_id, many=many)


def group_detail(row):
    """The group with its members, ordered by name."""
    member_rows = User.select().join(GroupMember).where(GroupMember.group == row.id).order_by(User.name, User.id)
    return {**group.dump(row), "members": users.dump(member_rows)}


def my_permissions(reasons):
    """What the caller may do on a dashboard, and which layers grant each right."""
    return {**{right: bool(layers) for right, layers in reasons.items()}, "reasons": reasons}


# What a dashboard holds, as plain rows in the order the answer shows them: every write of a
# dashboard answers it, and GET one dashboard once per version, so their SQL is prepared once and
# no model object is built.
_PAGES_OF = Prepared(lambda dashboard_id: Page.select(Page.id, Page.position, Page.name)
                     .where(Page.dashboard == dashboard_id).order_by(Page.position).tuples())
_CARDS_OF = Prepared(lambda dashboard_id: Card.select(
    Card.id, Card.card_type, Card.config, Card.page, Card.x, Card.y, Card.w, Card.h, Card.created_at, Card.updated_at,
).where(Card.dashboard == dashboard_id).order_by(Card.id).tuples())
_SHARES_OF = Prepared(lambda dashboard_id: Share.select(
    Share.id, Share.subject_type, Share.subject_id, Share.access_level, Share.created_at, Share.updated_at,
).where(Share.dashboard == dashboard_id).order_by(Share.id).tuples())


def dashboard_detail(row):
    """The dashboard with its pages, cards (with their page number and layout) and shares, read
    together (one round trip on PostgreSQL)."""
    page_rows, card_rows, share_rows = Prepared.batch(*((query, (row.id,), None)
                                                        for query in (_PAGES_OF, _CARDS_OF, _SHARES_OF)))
    numbers = {page_id: position for page_id, position, _ in page_rows}
    return {
        **dashboard.dump(row),
        "pages": [{"page_number": position, "name": name} for _, position, name in page_rows],
        "cards": [_card_of(card_id, card_type, config, numbers[page_id], *rest)
                  for card_id, card_type, config, page_id, *rest in card_rows],
        "shares": [_share_of(*share) for share in share_rows],
    }


def dashboard_detail_encoded(row):
    """GET one dashboard's answer as JSON bytes, kept by the dashboard's version (every change of
    its pages, cards and shares bumps it) and creation time (a store made again reuses ids).

    The contents are read after the row, so an answer kept under a version is never older than
    it: a write racing the read can only make it newer, and a newer version has a key of its own.
    """
    key = f"{row.id}:{row.created_at.isoformat()}:{row.version}"
    return render.renderer().kept("dashboard", key, lambda: dashboard_detail(row))


def card(row):
    """One card with its page number (`row.page` is loaded already where it was just set)."""
    row.page_number = row.page.position
    return card_schema.dump(row)


def layout(dashboard_row, card_rows):
    """The dashboard's whole layout: each card's page and place, as `apply_moves` loaded them."""
    return {"dashboard_id": dashboard_row.id, "version": dashboard_row.version, "cards": placements.dump(card_rows)}


def page_of(query, schema, limit, offset, *order):
    """One page of a list answer: rows in a stable order, and how many there are in all."""
    rows = query.order_by(*order).limit(limit).offset(offset)
    return paged(schema.dump(rows), query.count(), limit, offset)


def paged(items, total, limit, offset):
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def window_of(items, limit, offset):
    """One page of a list held in memory (the palette, the templates), in its own order."""
    return paged(items[offset:offset + limit], len(items), limit, offset)


def template_summary(tpl):
    """A template as the list shows it: what it needs of a dataset, its parameters and its tiles."""
    return {
        "id": tpl.id,
        "name": tpl.name,
        "description": tpl.description,
        "requirements": [f"{role.name}: {role.requirement}" for role in tpl.roles],
        "roles": [{"role": role.name, "kind": role.kind, "types": list(role.types),
                   "requirement": role.requirement, "description": role.description} for role in tpl.roles],
        "parameters": [_template_parameter(parameter) for parameter in tpl.parameters],
        "pages": [{"name": page["name"], "tiles": [
            {"title": card["title"], "card_type": card["card_type"], "layout": dict(card["layout"])}
            for card in page["cards"]]} for page in tpl.pages],
    }


def _template_parameter(parameter):
    """A parameter whose type follows a bound column says which role's (`type` is then null)."""
    kind = parameter["type"]
    return {"name": parameter["name"], "type": kind if isinstance(kind, str) else None,
            "type_of_role": kind["$type"] if isinstance(kind, dict) else None,
            "multiple": parameter.get("multiple", False)}
