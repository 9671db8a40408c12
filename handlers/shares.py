from typing import Any

from connexion import NoContent

from handlers import serializers
from handlers.common import Answer, conditional, dashboard_to_change, etag, expected_versions, located
from models.access import EDIT, Principal, dashboard_for, permissions_on
from models.content import Share


def list_shares(
    user: Principal, dashboard_id: int, limit: int, offset: int, if_none_match: str | None = None
) -> Answer:
    """Every grant change bumps the dashboard's version, so its ETag tags the grants too."""
    row = dashboard_for(user, dashboard_id)
    return conditional(
        if_none_match,
        etag(row.version),
        lambda: serializers.paged(serializers.share, *Share.listed(row, limit, offset), limit, offset),
    )


def upsert_share(user: Principal, dashboard_id: int, body: dict[str, Any], if_match: str | None = None) -> Answer:
    row = dashboard_to_change(user, dashboard_id, if_match)
    share, created = Share.upsert(row, user.org_id, body["subject_type"], body["subject_id"], body["access_level"])
    if created:
        return located(serializers.share(share), f"/dashboards/{row.id}/shares/{share.id}", ETag=etag(row.version))
    return serializers.share(share), 200, {"ETag": etag(row.version)}


def delete_share(user: Principal, dashboard_id: int, share_id: int, if_match: str | None = None) -> Answer:
    row = dashboard_for(user, dashboard_id, EDIT, lock=True)
    share = Share.on_dashboard(row, share_id)
    row.bump_version(expected_versions(if_match))
    share.delete_instance()
    return NoContent, 204, {"ETag": etag(row.version)}


def get_my_permissions(user: Principal, dashboard_id: int) -> Answer:
    return serializers.my_permissions(permissions_on(user, dashboard_id))
