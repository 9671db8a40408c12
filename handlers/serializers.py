"""How each resource is shown: one marshmallow schema per resource, used by every handler."""

from datetime import timezone

from marshmallow import Schema, fields

from models.identity import GroupMember, User


class UTCDateTime(fields.Field):
    """Stored as naive UTC; shown as RFC 3339 with its offset."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Timestamps(Schema):
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class CollectionSchema(Timestamps):
    id = fields.Int()
    name = fields.Str()
    description = fields.Str()
    parent_id = fields.Int(allow_none=True)


class DashboardSchema(Timestamps):
    id = fields.Int()
    name = fields.Str()
    description = fields.Str()
    collection_id = fields.Int(allow_none=True)
    parameters = fields.Raw()
    default_audience = fields.Str()
    public_slug = fields.Str(allow_none=True)
    owner_id = fields.Int()
    version = fields.Int()


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


class PageSchema(Schema):
    page_number = fields.Int(attribute="position")
    name = fields.Str()


class LayoutSchema(Schema):
    x = fields.Int()
    y = fields.Int()
    w = fields.Int()
    h = fields.Int()


_layout = LayoutSchema()


class CardSchema(Timestamps):
    id = fields.Int()
    card_type = fields.Str()
    config = fields.Raw()
    page = fields.Int(attribute="page_number")
    layout = fields.Function(lambda card: _layout.dump(card))


class ShareSchema(Timestamps):
    id = fields.Int()
    subject_type = fields.Str()
    subject_id = fields.Int()
    access_level = fields.Str()


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


class CardPlacementSchema(LayoutSchema):
    card_id = fields.Int(attribute="id")
    page = fields.Function(lambda card: card.page.position)


collection = CollectionSchema()
collections = CollectionSchema(many=True)
dashboard = DashboardSchema()
dashboards = DashboardSchema(many=True)
dataset = DatasetSchema()
datasets = DatasetSchema(many=True)
page = PageSchema()
pages = PageSchema(many=True)
card_schema = CardSchema()
cards = CardSchema(many=True)
share = ShareSchema()
placements = CardPlacementSchema(many=True)
shares = ShareSchema(many=True)
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


def dashboard_detail(row):
    """The dashboard with its pages, cards (with their page number and layout) and shares."""
    page_rows = list(row.pages.order_by(row.pages.model.position))
    numbers = {page.id: page.position for page in page_rows}
    card_rows = list(row.cards.order_by(row.cards.model.id))
    for card in card_rows:
        card.page_number = numbers[card.page_id]
    return {
        **dashboard.dump(row),
        "pages": pages.dump(page_rows),
        "cards": cards.dump(card_rows),
        "shares": shares.dump(row.shares.order_by(row.shares.model.id)),
    }


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
