from connexion import NoContent
from starlette.responses import Response

from handlers.common import long_running
from models import render
from models.access import dashboard_for
from models.content import Dashboard


# Any cache may keep a public render, but must revalidate it (a cheap 304 by its ETag).
PUBLIC_CACHING = {"Cache-Control": "public, no-cache"}


@long_running
def render_dashboard(user, dashboard_id, page, param=None, if_none_match=None):
    return _answer(dashboard_for(user, dashboard_id), page, param, if_none_match)


@long_running
def render_public_dashboard(slug, page, param=None, if_none_match=None):
    return _answer(Dashboard.public(slug), page, param, if_none_match, PUBLIC_CACHING)


def _answer(dashboard, page, param, if_none_match, headers=None):
    payload, etag = render.renderer().render(dashboard, page, param or {}, if_none_match)
    headers = {"ETag": etag, **(headers or {})}
    if payload is None:
        return NoContent, 304, headers
    # The renderer keeps answers encoded; they go out as they are, not decoded and encoded again.
    return Response(payload, headers=headers, media_type="application/json")
