from connexion import NoContent
from starlette.responses import Response

from models import render
from models.access import dashboard_for
from models.content import Dashboard


def render_dashboard(user, dashboard_id, page, param=None, if_none_match=None):
    return _answer(dashboard_for(user, dashboard_id), page, param, if_none_match)


def render_public_dashboard(slug, page, param=None, if_none_match=None):
    return _answer(Dashboard.public(slug), page, param, if_none_match)


def _answer(dashboard, page, param, if_none_match):
    payload, etag = render.renderer().render(dashboard, page, param or {}, if_none_match)
    if payload is None:
        return NoContent, 304, {"ETag": etag}
    # The renderer keeps answers encoded; they go out as they are, not decoded and encoded again.
    return Response(payload, headers={"ETag": etag}, media_type="application/json")
