from connexion import NoContent

from handlers import serializers
from handlers.common import conditional, dashboard_to_change, etag, expected_versions, located
from models.access import EDIT, dashboard_for, permissions_on
from models.content import Share


def list_shares(user, dashboard_id, limit, offset, if_none_match=None):
    """Every grant change bumps the dashboard's version, so its ETag tags the grants too."""
    row = dashboard_for(user, dashboard_id)
    return conditional(if_none_match, etag(row.version),
                       lambda: serializers.paged(serializers.share, *Share.listed(row, limit, offset), limit, offset))


def upsert_share(user, dashboard_id, body, if_match=None):
    row = dashboard_to_change(user, dashboard_id, if_match)
    share, created = Share.upsert(row, user.org_id, body["subject_type"], body["subject_id"], body["access_level"])
    if created:
        return located(serializers.share(share), f"/dashboards/{row.id}/shares/{share.id}", ETag=etag(row.version))
    return serializers.share(share), 200, {"ETag": etag(row.version)}


def delete_share(user, dashboard_id, share_id, if_match=None):
    row = dashboard_for(user, dashboard_id, EDIT, lock=True)
    share = Share.on_dashboard(row, share_id)
    row.bump_version(expected_versions(if_match))
    share.delete_instance()
    return NoContent, 204, {"ETag": etag(row.version)}


def get_my_permissions(user, dashboard_id):
    return serializers.my_permissions(permissions_on(user, dashboard_id))
