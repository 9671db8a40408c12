from functools import partial

from starlette.responses import Response

from handlers.common import long_running, none_match, not_modified, read_only
from models import parameters, render
from models.access import dashboard_for
from models.content import Dashboard


# Any cache may keep a public render, but must revalidate it (a cheap 304 by its ETag).
PUBLIC_CACHING = {"Cache-Control": "public, no-cache"}


@long_running
def render_dashboard(user, dashboard_id, page, param=None, if_none_match=None):
    return _answer(dashboard_for(user, dashboard_id), page, param, if_none_match)


@long_running
@read_only
def render_dashboard_with_body(user, dashboard_id, body=None, if_none_match=None):
    body = body or {}
    return _answer(dashboard_for(user, dashboard_id), body.get("page", 1), body.get("parameters"),
                   if_none_match, source=parameters.BODY)


@long_running
def render_public_dashboard(slug, page, param=None, if_none_match=None):
    return _answer(Dashboard.public(slug), page, param, if_none_match, PUBLIC_CACHING)


@long_running
@read_only
def render_public_dashboard_with_body(slug, body=None, if_none_match=None):
    body = body or {}
    return _answer(Dashboard.public(slug), body.get("page", 1), body.get("parameters"),
                   if_none_match, PUBLIC_CACHING, source=parameters.BODY)


def _answer(dashboard, page, given, if_none_match, headers=None, source=parameters.QUERY):
    # The render's ETag is known only once the renderer has read the state it depends on, so the
    # renderer asks the comparison before it looks for or builds the answer. A POST render stores
    # nothing and is answered as the GET is, its 304 included (as HTTP's QUERY method has it).
    payload, etag = render.renderer().render(dashboard, page, given or {}, partial(none_match, if_none_match),
                                             source=source)
    headers = headers or {}
    if payload is None:
        return not_modified(etag, **headers)
    # The renderer keeps answers encoded; they go out as they are, not decoded and encoded again.
    return Response(payload, headers={"ETag": etag, **headers}, media_type="application/json")
