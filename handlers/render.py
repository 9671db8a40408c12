from starlette.responses import Response

from handlers import serializers
from handlers.common import Answer, long_running, none_match, not_modified, state_tag
from models import render
from models.access import Principal, dashboard_for
from models.content import Dashboard

# Any cache may keep a public render, but must revalidate it (a cheap 304 by its ETag).
PUBLIC_CACHING = {"Cache-Control": "public, no-cache"}


@long_running
def render_dashboard(user: Principal, dashboard_id: int, page: int, param: dict[str, list[str]] | None = None,
                     if_none_match: str | None = None) -> Answer:
    return _answer(dashboard_for(user, dashboard_id), page, param, if_none_match)


@long_running
def render_public_dashboard(slug: str, page: int, param: dict[str, list[str]] | None = None,
                            if_none_match: str | None = None) -> Answer:
    return _answer(Dashboard.public(slug), page, param, if_none_match, PUBLIC_CACHING)


def _answer(dashboard: Dashboard, page: int, param: dict[str, list[str]] | None, if_none_match: str | None,
            headers: dict[str, str] | None = None) -> Answer:
    payload, etag = rendered(render.renderer(), dashboard, page, param or {}, if_none_match)
    headers = headers or {}
    if payload is None:
        return not_modified(etag, **headers)
    # The renderer keeps answers encoded; they go out as they are, not decoded and encoded again.
    return Response(payload, headers={"ETag": etag, **headers}, media_type="application/json")


def rendered(renderer: render.Renderer, dashboard: Dashboard, page: int, params: dict[str, list[str]],
             if_none_match: str | None = None) -> tuple[bytes | None, str]:
    """(the page's render as JSON bytes, its ETag), or (None, ETag) when If-None-Match names it.

    The ETag is known only once the state the render depends on is read, and a 304 needs nothing
    more; otherwise the answer is the one kept under its ETag, or built and kept unless a card
    met an error that may not recur.
    """
    state = renderer.state(dashboard, page, params)
    etag = state_tag(state.identity())
    if none_match(if_none_match, etag):
        return None, etag

    def build() -> tuple[serializers.RenderBody, bool]:
        rendered_page = renderer.run(state)
        return serializers.render(rendered_page), rendered_page.settled

    return renderer.kept("page", etag, build), etag
