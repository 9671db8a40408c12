"""Every answer body of the API, one shape per resource, each a plain function of what the models
loaded: a row, a model object, a tuple of a prepared query. Nothing here reads the store; the
handlers hand in what `models/` read, and turn the bodies into responses (status, ETag).

Plain functions rather than a schema library: marshmallow's per-field machinery was a sixth of the
CPU of GET one dashboard (README, performance). Each shape is a TypedDict named after its schema
in openapi.yaml, so the type checker holds every function to its shape.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypedDict, TypeVar

from models.access import Principal
from models.card_types import CardTypeEntry
from models.content import Card, Collection, Contents, Dashboard, Page, Share
from models.datasets import Dataset
from models.identity import ApiToken, Group, User
from models.render import CardOutcome, RenderedPage
from models.templates import Template

Row = TypeVar("Row")
Body = TypeVar("Body")


def utc(value: datetime | None) -> str | None:
    """Stored as naive UTC; shown as RFC 3339 with its offset (`Z`), to the millisecond."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


# --- lists ---------------------------------------------------------------------------------


class Paged(TypedDict, Generic[Body]):
    items: list[Body]
    total: int
    limit: int
    offset: int


def paged(show: Callable[[Row], Body], rows: Iterable[Row], total: int, limit: int, offset: int) -> Paged[Body]:
    """One page of a list answer: each row shown, and how many rows there are in all."""
    return {"items": [show(row) for row in rows], "total": total, "limit": limit, "offset": offset}


def window(show: Callable[[Row], Body], rows: Sequence[Row], limit: int, offset: int) -> Paged[Body]:
    """One page of a list held in memory (the palette, the templates), in its own order."""
    return paged(show, rows[offset : offset + limit], len(rows), limit, offset)


# --- collections and dashboards -------------------------------------------------------------


class CollectionBody(TypedDict):
    id: int
    name: str
    description: str
    parent_id: int | None
    created_at: str | None
    updated_at: str | None


def collection(row: Collection) -> CollectionBody:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "parent_id": row.parent_id,
        "created_at": utc(row.created_at),
        "updated_at": utc(row.updated_at),
    }


class DashboardBody(TypedDict):
    id: int
    name: str
    description: str
    collection_id: int | None
    parameters: list[dict[str, Any]]
    default_audience: str
    public_slug: str | None
    owner_id: int
    version: int
    created_at: str | None
    updated_at: str | None


def dashboard(row: Dashboard) -> DashboardBody:
    return dashboard_of(row.__data__)


def dashboard_of(data: Mapping[str, Any]) -> DashboardBody:
    """A dashboard from its fields by name (a row's `__data__`, or a row of a `.dicts()` query);
    a nullable field a new row was not given is absent from `__data__`."""
    return {
        "id": data["id"],
        "name": data["name"],
        "description": data["description"],
        "collection_id": data.get("collection"),
        "parameters": data["parameters"],
        "default_audience": data["default_audience"],
        "public_slug": data.get("public_slug"),
        "owner_id": data["owner"],
        "version": data["version"],
        "created_at": utc(data["created_at"]),
        "updated_at": utc(data["updated_at"]),
    }


class PageBody(TypedDict):
    page_number: int
    name: str


def page(row: Page) -> PageBody:
    return {"page_number": row.position, "name": row.name}


class LayoutBody(TypedDict):
    x: int
    y: int
    w: int
    h: int


class CardBody(TypedDict):
    id: int
    card_type: str
    config: dict[str, Any]
    page: int
    layout: LayoutBody
    created_at: str | None
    updated_at: str | None


def card(row: Card) -> CardBody:
    """One card, loaded with its page (for its number)."""
    return _card_of(
        row.id, row.card_type, row.config, row.page.position, row.x, row.y, row.w, row.h, row.created_at, row.updated_at
    )


def _card_of(
    card_id: int,
    card_type: str,
    config: dict[str, Any],
    page_number: int,
    x: int,
    y: int,
    w: int,
    h: int,
    created_at: datetime,
    updated_at: datetime,
) -> CardBody:
    return {
        "id": card_id,
        "card_type": card_type,
        "config": config,
        "page": page_number,
        "layout": {"x": x, "y": y, "w": w, "h": h},
        "created_at": utc(created_at),
        "updated_at": utc(updated_at),
    }


class ShareBody(TypedDict):
    id: int
    subject_type: str
    subject_id: int
    access_level: str
    created_at: str | None
    updated_at: str | None


def share(row: Share) -> ShareBody:
    return _share_of(row.id, row.subject_type, row.subject_id, row.access_level, row.created_at, row.updated_at)


def _share_of(
    share_id: int, subject_type: str, subject_id: int, access_level: str, created_at: datetime, updated_at: datetime
) -> ShareBody:
    return {
        "id": share_id,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "access_level": access_level,
        "created_at": utc(created_at),
        "updated_at": utc(updated_at),
    }


class DashboardDetailBody(DashboardBody):
    pages: list[PageBody]
    cards: list[CardBody]
    shares: list[ShareBody]


def dashboard_detail(row: Dashboard, contents: Contents) -> DashboardDetailBody:
    """The dashboard with its pages, cards (with their page number and layout) and shares, from
    the plain rows `models.content.contents_of` read."""
    numbers = {page_id: position for page_id, position, _ in contents.pages}
    return {
        **dashboard(row),
        "pages": [{"page_number": position, "name": name} for _, position, name in contents.pages],
        "cards": [
            _card_of(card_id, card_type, config, numbers[page_id], x, y, w, h, created_at, updated_at)
            for card_id, card_type, config, page_id, x, y, w, h, created_at, updated_at in contents.cards
        ],
        "shares": [_share_of(*row) for row in contents.shares],
    }


class PlacementBody(TypedDict):
    card_id: int
    page: int
    x: int
    y: int
    w: int
    h: int


class DashboardLayoutBody(TypedDict):
    dashboard_id: int
    version: int
    cards: list[PlacementBody]


def layout(dashboard_row: Dashboard, card_rows: Iterable[Card]) -> DashboardLayoutBody:
    """The dashboard's whole layout: each card (loaded with its page) with its page and place."""
    return {
        "dashboard_id": dashboard_row.id,
        "version": dashboard_row.version,
        "cards": [
            {"card_id": card.id, "page": card.page.position, "x": card.x, "y": card.y, "w": card.w, "h": card.h}
            for card in card_rows
        ],
    }


class MyPermissionsBody(TypedDict):
    view: bool
    comment: bool
    edit: bool
    reasons: dict[str, list[str]]


def my_permissions(reasons: dict[str, list[str]]) -> MyPermissionsBody:
    """What the caller may do on a dashboard, and which layers grant each right."""
    return {
        "view": bool(reasons["view"]),
        "comment": bool(reasons["comment"]),
        "edit": bool(reasons["edit"]),
        "reasons": reasons,
    }


# --- renders --------------------------------------------------------------------------------


class CardErrorBody(TypedDict):
    code: str
    message: str


class RenderedCardBody(TypedDict):
    card_id: int
    card_type: str
    data: Any
    error: CardErrorBody | None


class RenderedDashboardBody(TypedDict):
    id: int
    name: str
    parameters: dict[str, Any]


class RenderBody(TypedDict):
    dashboard: RenderedDashboardBody
    page: int
    cards: list[RenderedCardBody]


def render(rendered: RenderedPage) -> RenderBody:
    """A page's render: the dashboard with its resolved parameters, and each card's data or error."""
    state = rendered.state
    return {
        "dashboard": {"id": state.dashboard.id, "name": state.dashboard.name, "parameters": state.params},
        "page": state.page_number,
        "cards": [rendered_card(outcome) for outcome in rendered.cards],
    }


def rendered_card(outcome: CardOutcome) -> RenderedCardBody:
    error = outcome.error
    return {
        "card_id": outcome.card.id,
        "card_type": outcome.card.card_type,
        "data": outcome.data,
        "error": None if error is None else {"code": error.code, "message": error.message},
    }


# --- datasets -------------------------------------------------------------------------------


class ColumnBody(TypedDict):
    name: str
    type: str


def column(column: Mapping[str, Any]) -> ColumnBody:
    """A dataset column as the API shows it: never its SQL identifier (`key`)."""
    return {"name": column["name"], "type": column["type"]}


class DatasetBody(TypedDict):
    id: int
    name: str
    description: str
    columns: list[ColumnBody]
    row_count: int
    version: int
    created_at: str | None
    updated_at: str | None


def dataset(row: Dataset) -> DatasetBody:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "columns": [column(c) for c in row.columns],
        "row_count": row.row_count,
        "version": row.version,
        "created_at": utc(row.created_at),
        "updated_at": utc(row.updated_at),
    }


class RowPageBody(Paged[dict[str, Any]]):
    columns: list[ColumnBody]


def row_page(row: Dataset, rows: list[dict[str, Any]], limit: int, offset: int) -> RowPageBody:
    """A window of the dataset's rows (each `{column name: value}`, as the model reads them)."""
    return {
        "items": rows,
        "total": row.row_count,
        "limit": limit,
        "offset": offset,
        "columns": [column(c) for c in row.columns],
    }


class RowsAppendedBody(TypedDict):
    appended: int
    row_count: int
    version: int


def rows_appended(row: Dataset, appended: int) -> RowsAppendedBody:
    return {"appended": appended, "row_count": row.row_count, "version": row.version}


# --- identity -------------------------------------------------------------------------------


class UserBody(TypedDict):
    id: int
    email: str
    name: str


def user(row: User) -> UserBody:
    return {"id": row.id, "email": row.email, "name": row.name}


class GroupBody(TypedDict):
    id: int
    name: str
    description: str
    created_at: str | None
    updated_at: str | None


def group(row: Group) -> GroupBody:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "created_at": utc(row.created_at),
        "updated_at": utc(row.updated_at),
    }


class GroupDetailBody(GroupBody):
    members: list[UserBody]


def group_detail(row: Group, members: Iterable[User]) -> GroupDetailBody:
    """The group with its members (as `Group.users` reads them: by name)."""
    return {**group(row), "members": [user(member) for member in members]}


class TokenBody(TypedDict):
    id: int
    prefix: str
    project_id: int
    created_at: str | None
    expires_at: str | None
    current: bool


def token(row: ApiToken, current_token_id: int | None) -> TokenBody:
    """A token as its owner may see it again: never the token itself, which is shown once;
    `current` when it is the one the request came with."""
    return {
        "id": row.id,
        "prefix": row.prefix,
        "project_id": row.project_id,
        "created_at": utc(row.created_at),
        "expires_at": utc(row.expires_at),
        "current": row.id == current_token_id,
    }


class NewTokenBody(TokenBody):
    token: str


def new_token(row: ApiToken, secret: str, current_token_id: int | None) -> NewTokenBody:
    """A token just issued: the only answer that shows the token itself."""
    return {**token(row, current_token_id), "token": secret}


class NamedRefBody(TypedDict):
    id: int
    name: str


class MeBody(TypedDict):
    user: UserBody
    org: NamedRefBody
    project: NamedRefBody
    role: str
    permissions: list[str]
    groups: list[NamedRefBody]


def me(principal: Principal, groups: Iterable[Group]) -> MeBody:
    """The caller, its org, project, role and permissions, and its groups (`Group.named`)."""
    return {
        "user": {"id": principal.user_id, "email": principal.email, "name": principal.name},
        "org": {"id": principal.org_id, "name": principal.org_name},
        "project": {"id": principal.project_id, "name": principal.project_name},
        "role": principal.role,
        "permissions": sorted(principal.permissions),
        "groups": [{"id": g.id, "name": g.name} for g in groups],
    }


# --- the palette and templates --------------------------------------------------------------


class SizeBody(TypedDict):
    w: int
    h: int


class CardTypeBody(TypedDict):
    card_type: str
    title: str
    description: str
    schema: dict[str, Any]
    default_size: SizeBody


def card_type(entry: CardTypeEntry) -> CardTypeBody:
    """A card type with its config's JSON Schema, whose title and description it repeats."""
    schema = entry.schema
    return {
        "card_type": entry.card_type,
        "title": schema["title"],
        "description": schema["description"],
        "schema": schema,
        "default_size": {"w": entry.default_size.w, "h": entry.default_size.h},
    }


class TemplateRoleBody(TypedDict):
    role: str
    kind: str
    types: list[str]
    requirement: str
    description: str


class TemplateParameterBody(TypedDict):
    name: str
    type: str | None
    type_of_role: str | None
    multiple: bool


class TemplateTileBody(TypedDict):
    title: str
    card_type: str
    layout: LayoutBody


class TemplatePageBody(TypedDict):
    name: str
    tiles: list[TemplateTileBody]


class TemplateBody(TypedDict):
    id: str
    name: str
    description: str
    requirements: list[str]
    roles: list[TemplateRoleBody]
    parameters: list[TemplateParameterBody]
    pages: list[TemplatePageBody]


def template(tpl: Template) -> TemplateBody:
    """A template as the list shows it: what it needs of a dataset, its parameters and its tiles."""
    return {
        "id": tpl.id,
        "name": tpl.name,
        "description": tpl.description,
        "requirements": [f"{role.name}: {role.requirement}" for role in tpl.roles],
        "roles": [
            {
                "role": role.name,
                "kind": role.kind,
                "types": list(role.types),
                "requirement": role.requirement,
                "description": role.description,
            }
            for role in tpl.roles
        ],
        "parameters": [_template_parameter(parameter) for parameter in tpl.parameters],
        "pages": [
            {
                "name": page["name"],
                "tiles": [
                    {"title": card["title"], "card_type": card["card_type"], "layout": _layout(card["layout"])}
                    for card in page["cards"]
                ],
            }
            for page in tpl.pages
        ],
    }


def _layout(layout: Mapping[str, int]) -> LayoutBody:
    return {"x": layout["x"], "y": layout["y"], "w": layout["w"], "h": layout["h"]}


def _template_parameter(parameter: Mapping[str, Any]) -> TemplateParameterBody:
    """A parameter whose type follows a bound column says which role's (`type` is then null)."""
    kind = parameter["type"]
    return {
        "name": parameter["name"],
        "type": kind if isinstance(kind, str) else None,
        "type_of_role": kind["$type"] if isinstance(kind, dict) else None,
        "multiple": parameter.get("multiple", False),
    }


# --- the operator's probes ------------------------------------------------------------------


class HealthBody(TypedDict):
    status: str


def health() -> HealthBody:
    return {"status": "ok"}


class ReadinessBody(TypedDict):
    status: str
    schema_version: int


def readiness(schema_version: int) -> ReadinessBody:
    return {"status": "ready", "schema_version": schema_version}
