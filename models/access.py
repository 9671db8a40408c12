"""The access rules of SEMANTICS, in one place: who is calling, and what they may see and change.

Every handler asks this module; nothing else decides access. The list filter is one SQL
condition, so a page of dashboards costs one query whatever the caller's grants.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import peewee
from peewee import Cast, fn

from models.base import like_pattern, text_condition, utcnow
from models.content import ACCESS_LEVELS, Dashboard, Share
from models.db import Prepared, is_sqlite
from models.errors import DashboardNotFound, GroupNotFound, PermissionDenied, Unauthenticated
from models.identity import ApiToken, Group, GroupMember, Org, Project, ProjectPermission, User

VIEW, COMMENT, EDIT = "view", "comment", "edit"
DASHBOARD_PERMISSIONS = frozenset({"dashboard.view", "dashboard.edit"})


@dataclass(frozen=True)
class Rule:
    """What, besides org role admin and ownership (which grant everything), grants one right."""

    audience: bool  # an `org` or `public` default audience
    levels: frozenset[str]  # share grant levels, to the user or one of its groups
    permissions: frozenset[str]  # project permissions
    roles: tuple[str, ...]  # legacy org roles below admin


RULES = {
    VIEW: Rule(True, frozenset(ACCESS_LEVELS), DASHBOARD_PERMISSIONS, ()),
    COMMENT: Rule(False, frozenset({"commenter", "editor"}), frozenset({"dashboard.edit"}), ("editor",)),
    EDIT: Rule(False, frozenset({"editor"}), frozenset({"dashboard.edit"}), ("editor",)),
}


@dataclass(frozen=True)
class Principal:
    """The caller: a user acting in the project its token is bound to."""

    user_id: int
    email: str
    name: str
    role: str
    org_id: int
    org_name: str
    project_id: int
    project_name: str
    group_ids: frozenset[int]
    permissions: frozenset[str]
    token_id: int | None = None  # the token of this request, so a token list can mark it

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_legacy_editor(self) -> bool:
        return self.role in ("editor", "admin")


def _joined(expr: peewee.Node) -> peewee.Function:
    """The values of `expr` over a subquery's rows as one comma-separated text (NULL for none):
    what the caller's groups and permissions, and its grants on a dashboard, travel as, so that
    each lookup is one statement and one row (a pipeline of two cost more than both of them)."""
    if is_sqlite():
        return fn.group_concat(expr, ",")
    return fn.string_agg(Cast(expr, "text"), ",")


def _split(joined: str | None, convert: Callable[[str], Any] = str) -> frozenset[Any]:
    return frozenset(convert(value) for value in joined.split(",")) if joined else frozenset()


def _token_row(token_hash: str, now: str) -> "peewee.ModelSelect[ApiToken]":
    """The token's row with its user, project and org, and the user's groups and the project
    permissions it holds directly or through them."""
    member = GroupMember.alias()
    groups = member.select(_joined(member.group)).where(member.user == User.id)
    in_groups = GroupMember.select(GroupMember.group).where(GroupMember.user == User.id)
    permissions = ProjectPermission.select(_joined(ProjectPermission.permission)).where(
        (ProjectPermission.project == Project.id)
        & ((ProjectPermission.user == User.id) | ProjectPermission.group.in_(in_groups))
    )
    return (
        ApiToken.select(
            ApiToken.id,
            User.id,
            User.email,
            User.name,
            User.role,
            User.org,
            Project.id,
            Project.name,
            Project.org,
            Org.name,
            groups,
            permissions,
        )
        .join(User)
        .switch(ApiToken)
        .join(Project)
        .join(Org)
        .where((ApiToken.token_hash == token_hash) & (ApiToken.expires_at.is_null() | (ApiToken.expires_at > now)))
        .limit(1)
        .tuples()
    )


_TOKEN = Prepared(_token_row)


def principal_for_token(token: str) -> Principal:
    """The caller behind a bearer token, or Unauthenticated (an expired token is as unknown):
    one prepared statement, whose groups and permissions count only when it finds the token."""
    row = _TOKEN.first(ApiToken.hash(token), ApiToken.expires_at.db_value(utcnow()))
    if row is None:
        raise Unauthenticated()
    token_id, user_id, email, name, role, user_org_id, project_id, project_name, org_id, org_name, groups, grants = row
    if user_org_id != org_id:
        raise Unauthenticated()
    return Principal(
        user_id=user_id,
        email=email,
        name=name,
        role=role,
        org_id=org_id,
        org_name=org_name,
        project_id=project_id,
        project_name=project_name,
        group_ids=_split(groups, int),
        permissions=_split(grants),
        token_id=token_id,
    )


def may_create_content(principal: Principal) -> bool:
    """Creating dashboards and collections, and changing collections."""
    return principal.is_legacy_editor or "dashboard.edit" in principal.permissions


def require_create_content(principal: Principal) -> None:
    if not may_create_content(principal):
        raise PermissionDenied("Creating or changing this needs the editor role or dashboard.edit.")


def _grants_reaching(user_id: int, group_ids: Iterable[int]) -> peewee.Expression:
    subject = (Share.subject_type == "user") & (Share.subject_id == user_id)
    if group_ids:
        subject |= (Share.subject_type == "group") & Share.subject_id.in_(list(group_ids))
    return subject


def _sees_every_dashboard(principal: Principal) -> bool:
    return principal.is_admin or bool(principal.permissions & DASHBOARD_PERMISSIONS)


def _visible(project_id: int, user_id: int, group_ids: Iterable[int], every: bool) -> "peewee.ModelSelect[Dashboard]":
    """The dashboards of the project the caller can view (RULES[VIEW] in SQL)."""
    query = Dashboard.select().where(Dashboard.project == project_id)
    if every:
        return query
    granted = Share.select(Share.dashboard).where(_grants_reaching(user_id, group_ids))
    return query.where(
        (Dashboard.owner == user_id) | Dashboard.default_audience.in_(["org", "public"]) | Dashboard.id.in_(granted)
    )


def _listing(
    project_id: int,
    user_id: int,
    collection_id: int | None,
    pattern: str,
    limit: int,
    offset: int,
    *group_ids: int,
    shape: tuple[bool, bool, bool, int, str],
) -> "peewee.ModelSelect[Dashboard]":
    every, in_collection, matching, _, kind = shape
    query = _visible(project_id, user_id, group_ids, every)
    if in_collection:
        query = query.where(Dashboard.collection == collection_id)
    if matching:
        query = query.where(text_condition(pattern, Dashboard.name, Dashboard.description))
    if kind == "total":
        return query.select(fn.COUNT(Dashboard.id)).tuples()
    if kind == "page with total":  # each row carries how many there are in all
        query = query.select_extend(fn.COUNT(Dashboard.id).over().alias("total"))
    return query.order_by(Dashboard.name, Dashboard.id).limit(limit).offset(offset).dicts()


_LISTING = Prepared(_listing)


def dashboard_list(
    principal: Principal, limit: int, offset: int, collection_id: int | None = None, q: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """(one page of the dashboards the caller can view, ordered by name then id, as dicts of
    their fields; how many there are in all), whatever the caller's grants: on PostgreSQL one
    statement (a page past the end counts with a second), on SQLite, where a statement costs no
    round trip and the window function costs more than a count, a page and a count."""
    groups = sorted(principal.group_ids)
    every = _sees_every_dashboard(principal)
    values = (
        principal.project_id,
        principal.user_id,
        collection_id,
        like_pattern(q) if q else "",
        limit,
        offset,
        *([] if every else groups),
    )
    shape = (every, collection_id is not None, bool(q), 0 if every else len(groups))
    if is_sqlite():
        return _LISTING.rows(*values, shape=(*shape, "page")), _LISTING.first(*values, shape=(*shape, "total"))[0]
    rows = _LISTING.rows(*values, shape=(*shape, "page with total"))
    if not rows:
        return rows, (_LISTING.first(*values, shape=(*shape, "total"))[0] if offset else 0)
    total = rows[0]["total"]
    for row in rows:
        del row["total"]
    return rows, total


def _grant_levels(joined: str | None) -> dict[str, set[str]]:
    """The levels of the share grants that reach the caller on one dashboard, by subject type
    (`joined`: the `type:level` pairs `_DASHBOARD` reads with the dashboard)."""
    levels: dict[str, set[str]] = {"user": set(), "group": set()}
    for grant in _split(joined):
        subject_type, _, level = grant.partition(":")
        levels[subject_type].add(level)
    return levels


def reasons_of(principal: Principal, dashboard: Dashboard, grants: str | None) -> dict[str, list[str]]:
    """For view, comment and edit, the layers that grant it to the caller (empty: not granted),
    from the caller's grants on this dashboard (`grants`, as `_DASHBOARD` reads them); comment and
    edit need view first.
    """
    levels = _grant_levels(grants)

    def layers(rule: Rule) -> list[str]:
        found = {
            "admin": principal.is_admin,
            "owner": dashboard.owner_id == principal.user_id,
            "audience": rule.audience and dashboard.default_audience in ("org", "public"),
            "user_grant": bool(levels["user"] & rule.levels),
            "group_grant": bool(levels["group"] & rule.levels),
            "project_permission": bool(principal.permissions & rule.permissions),
            "legacy_role": principal.role in rule.roles,
        }
        return [layer for layer, granted in found.items() if granted]

    reasons = {right: layers(rule) for right, rule in RULES.items()}
    if not reasons[VIEW]:
        return {right: [] for right in RULES}
    return reasons


def access_of(principal: Principal, dashboard: Dashboard, grants: str | None) -> frozenset[str]:
    """The caller's rights on one dashboard of its project: a set of VIEW, COMMENT, EDIT."""
    return frozenset(right for right, layers in reasons_of(principal, dashboard, grants).items() if layers)


def _dashboard_in(
    dashboard_id: int, project_id: int, user_id: int, *group_ids: int, shape: tuple[bool, bool, int]
) -> "peewee.ModelSelect[Dashboard]":
    """The dashboard of a project with the caller's grants on it (`grants`); `shape`: (row-locked
    for the write that follows (PostgreSQL: SQLite's writers hold the whole store's lock
    already), whether to read the grants, how many groups the caller is in)."""
    lock, grants, _ = shape
    reaching = Share.select(_joined(Share.subject_type.concat(":").concat(Share.access_level))).where(
        (Share.dashboard == Dashboard.id) & _grants_reaching(user_id, group_ids)
    )
    columns = (Dashboard, reaching.alias("grants")) if grants else (Dashboard,)
    return (
        Dashboard.select(*columns)
        .where((Dashboard.id == dashboard_id) & (Dashboard.project == project_id))
        .for_update(lock)
        .dicts()
    )


_DASHBOARD = Prepared(_dashboard_in)


def dashboard_for(principal: Principal, dashboard_id: int, need: str = VIEW, *, lock: bool = False) -> Dashboard:
    """The dashboard if the caller has `need` on it: 404 when it cannot view, 403 when it cannot edit.

    The dashboard's row and the caller's grants on it are read together (one round trip on
    PostgreSQL); an admin's rights need no grants. Nothing of the dashboard leaves here when the
    caller may not view it.
    """
    dashboard, grants = _with_grants(principal, dashboard_id, lock=lock, grants=not principal.is_admin)
    rights = access_of(principal, dashboard, grants) if dashboard else frozenset()
    if dashboard is None or VIEW not in rights:
        raise DashboardNotFound(f"Dashboard {dashboard_id} does not exist.")
    if need not in rights:
        raise PermissionDenied(f"You may view dashboard {dashboard_id} but not {need} it.")
    return dashboard


def permissions_on(principal: Principal, dashboard_id: int) -> dict[str, list[str]]:
    """For view, comment and edit on a dashboard the caller may view, the layers that grant it
    (404 as `dashboard_for` otherwise); an admin's grants are read too, to be shown."""
    dashboard, grants = _with_grants(principal, dashboard_id, lock=False, grants=True)
    reasons = reasons_of(principal, dashboard, grants) if dashboard else {}
    if not reasons.get(VIEW):
        raise DashboardNotFound(f"Dashboard {dashboard_id} does not exist.")
    return reasons


def _with_grants(
    principal: Principal, dashboard_id: int, *, lock: bool, grants: bool
) -> tuple[Dashboard | None, str | None]:
    """(the dashboard of the caller's project or None, the caller's grants on it: none when
    `grants` is false), one statement."""
    groups = sorted(principal.group_ids)
    shape = (lock and not is_sqlite(), grants, len(groups))
    data = _DASHBOARD.first(dashboard_id, principal.project_id, principal.user_id, *groups, shape=shape)
    if data is None:
        return None, None
    joined = data.pop("grants", None)
    # As peewee's own rows are made (its per-query column mapping cost more than the query).
    dashboard = Dashboard(__no_default__=1, **data)
    dashboard._dirty.clear()  # type: ignore[attr-defined]  # a private member, not in the stubs
    return dashboard, joined


def require_dataset_edit(principal: Principal) -> None:
    """Creating and changing datasets: the legacy editor role or project permission dataset.edit."""
    if not (principal.is_legacy_editor or "dataset.edit" in principal.permissions):
        raise PermissionDenied("Changing datasets needs the editor role or dataset.edit.")


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise PermissionDenied("Only org admins may change groups.")


def group_for(principal: Principal, group_id: int, *, change: bool = False) -> Group:
    """A group of the caller's org (404 otherwise); changing it needs org role admin (403)."""
    group = Group.get_or_raise(
        lambda: GroupNotFound(f"Group {group_id} does not exist."),
        (Group.id == group_id) & (Group.org == principal.org_id),
    )
    if change:
        require_admin(principal)
    return group


def delete_group(group: Group) -> None:
    """Delete a group with its memberships, its project permissions and its share grants.

    The dashboards that lose a grant change, so their versions are bumped (one UPDATE).
    """
    granted = Share.select(Share.dashboard).where((Share.subject_type == "group") & (Share.subject_id == group.id))
    Dashboard.update(version=Dashboard.version + 1, updated_at=utcnow()).where(Dashboard.id.in_(granted)).execute()
    Share.delete().where((Share.subject_type == "group") & (Share.subject_id == group.id)).execute()
    ProjectPermission.delete().where(ProjectPermission.group == group.id).execute()
    GroupMember.delete().where(GroupMember.group == group.id).execute()
    group.delete_instance()
