from connexion import NoContent

from models import render
from models.access import dashboard_for
from models.content import Dashboard


# Any cache may keep a public render, but must revalidate it (a cheap 304 by its ETag).
PUBLIC_CACHING = {"Cache-Control": "public, no-cache"}


def render_dashboard(user, dashboard_id, page, param=None, if_none_match=None):
    return _answer(dashboard_for(user, dashboard_id), page, param, if_none_match)


def render_public_dashboard(slug, page, param=None, if_none_match=None):
    return _answer(Dashboard.public(slug), page, param, if_none_match, PUBLIC_CACHING)


def _answer(dashboard, page, param, if_none_match, headers=None):
    body, etag = render.renderer().render(dashboard, page, param or {}, if_none_match)
    if body is None:
        return NoContent, 304, {"ETag": etag, **(headers or {})}
    return body, 200, {"ETag": etag, **(headers or {})}
