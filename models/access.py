"""The access rules of SEMANTICS, in one place: who is calling, and what they may see and change.

Every handler asks this module; nothing else decides access. The list filter is one SQL
condition, so a page of dashboards costs one query whatever the caller's grants.
"""

from dataclasses import dataclass

from models.content import Dashboard, Share
from models.db import is_sqlite
from models.errors import DashboardNotFound, PermissionDenied, Unauthenticated
from models.identity import ApiToken, GroupMember, Org, Project, ProjectPermission, User

VIEW, COMMENT, EDIT = "view", "comment", "edit"


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
    group_ids: frozenset
    permissions: frozenset

    @property
    def is_admin(self):
        return self.role == "admin"

    @property
    def is_legacy_editor(self):
        return self.role in ("editor", "admin")


def principal_for_token(token):
    """The caller behind a bearer token, or Unauthenticated."""
    row = (
        ApiToken.select(ApiToken, User, Project, Org)
        .join(User).switch(ApiToken).join(Project).join(Org)
        .where(ApiToken.token_hash == ApiToken.hash(token))
        .first()
    )
    if row is None or row.user.org_id != row.project.org_id:
        raise Unauthenticated()
    return load_principal(row.user, row.project)


def load_principal(user, project):
    group_ids = frozenset(
        gid for (gid,) in GroupMember.select(GroupMember.group).where(GroupMember.user == user.id).tuples()
    )
    held_by_me = ProjectPermission.user == user.id
    if group_ids:
        held_by_me |= ProjectPermission.group.in_(list(group_ids))
    permissions = frozenset(
        p for (p,) in ProjectPermission.select(ProjectPermission.permission)
        .where((ProjectPermission.project == project.id) & held_by_me).tuples()
    )
    return Principal(
        user_id=user.id, email=user.email, name=user.name, role=user.role,
        org_id=project.org_id, org_name=project.org.name,
        project_id=project.id, project_name=project.name,
        group_ids=group_ids, permissions=permissions,
    )


def may_create_content(principal):
    """Creating dashboards and collections, and changing collections."""
    return principal.is_legacy_editor or "dashboard.edit" in principal.permissions


def require_create_content(principal):
    if not may_create_content(principal):
        raise PermissionDenied("Creating or changing this needs the editor role or dashboard.edit.")


def _grant_condition(principal):
    subject = (Share.subject_type == "user") & (Share.subject_id == principal.user_id)
    if principal.group_ids:
        subject |= (Share.subject_type == "group") & Share.subject_id.in_(list(principal.group_ids))
    return subject


def visible_dashboards(principal):
    """A query of the dashboards of the caller's project that the caller can view."""
    query = Dashboard.select().where(Dashboard.project == principal.project_id)
    if principal.is_admin or principal.permissions & {"dashboard.view", "dashboard.edit"}:
        return query
    granted = Share.select(Share.dashboard).where(_grant_condition(principal))
    return query.where(
        (Dashboard.owner == principal.user_id)
        | Dashboard.default_audience.in_(["org", "public"])
        | Dashboard.id.in_(granted)
    )


def grant_levels(principal, dashboard_id):
    """The access levels of the share grants that reach the caller on one dashboard."""
    return {
        level for (level,) in Share.select(Share.access_level)
        .where((Share.dashboard == dashboard_id) & _grant_condition(principal)).tuples()
    }


def access_of(principal, dashboard):
    """The caller's rights on one dashboard of its project: a set of VIEW, COMMENT, EDIT."""
    owner = dashboard.owner_id == principal.user_id
    perms = principal.permissions
    grants = grant_levels(principal, dashboard.id)
    view = (
        principal.is_admin or owner or dashboard.default_audience in ("org", "public")
        or bool(grants) or bool(perms & {"dashboard.view", "dashboard.edit"})
    )
    if not view:
        return frozenset()
    edit = owner or principal.is_legacy_editor or "editor" in grants or "dashboard.edit" in perms
    comment = edit or "commenter" in grants
    return frozenset({VIEW} | ({COMMENT} if comment else set()) | ({EDIT} if edit else set()))


def dashboard_for(principal, dashboard_id, need=VIEW, *, lock=False):
    """The dashboard if the caller has `need` on it: 404 when it cannot view, 403 when it cannot edit."""
    query = Dashboard.select().where((Dashboard.id == dashboard_id) & (Dashboard.project == principal.project_id))
    if lock and not is_sqlite():
        query = query.for_update()
    dashboard = query.first()
    rights = access_of(principal, dashboard) if dashboard else frozenset()
    if VIEW not in rights:
        raise DashboardNotFound(f"Dashboard {dashboard_id} does not exist.")
    if need not in rights:
        raise PermissionDenied(f"You may view dashboard {dashboard_id} but not {need} it.")
    return dashboard


def require_dataset_edit(principal):
    """Creating and changing datasets: the legacy editor role or project permission dataset.edit."""
    if not (principal.is_legacy_editor or "dataset.edit" in principal.permissions):
        raise PermissionDenied("Changing datasets needs the editor role or dataset.edit.")
