from functools import partial

from starlette.responses import Response

from handlers.common import long_running, none_match, not_modified
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
    # The render's ETag is known only once the renderer has read the state it depends on, so the
    # renderer asks the comparison before it looks for or builds the answer.
    payload, etag = render.renderer().render(dashboard, page, param or {}, partial(none_match, if_none_match))
    headers = headers or {}
    if payload is None:
        return not_modified(etag, **headers)
    # The renderer keeps answers encoded; they go out as they are, not decoded and encoded again.
    return Response(payload, headers={"ETag": etag, **headers}, media_type="application/json")
