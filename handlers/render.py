from typing import Any

from starlette.responses import Response

from handlers import serializers
from handlers.common import Answer, long_running, none_match, not_modified, read_only, state_tag
from models import parameters, render
from models.access import Principal, dashboard_for
from models.content import Dashboard

# Any cache may keep a public render, but must revalidate it (a cheap 304 by its ETag).
PUBLIC_CACHING = {"Cache-Control": "public, no-cache"}


@long_running
def render_dashboard(
    user: Principal,
    dashboard_id: int,
    page: int,
    param: dict[str, list[str]] | None = None,
    if_none_match: str | None = None,
) -> Answer:
    return _answer(dashboard_for(user, dashboard_id), page, param, if_none_match)


@long_running
@read_only
def render_dashboard_with_body(
    user: Principal, dashboard_id: int, body: dict[str, Any] | None = None, if_none_match: str | None = None
) -> Answer:
    body = body or {}
    return _answer(
        dashboard_for(user, dashboard_id),
        body.get("page", 1),
        body.get("parameters"),
        if_none_match,
        source=parameters.BODY,
    )


@long_running
def render_public_dashboard(
    slug: str, page: int, param: dict[str, list[str]] | None = None, if_none_match: str | None = None
) -> Answer:
    return _answer(Dashboard.public(slug), page, param, if_none_match, PUBLIC_CACHING)


@long_running
@read_only
def render_public_dashboard_with_body(
    slug: str, body: dict[str, Any] | None = None, if_none_match: str | None = None
) -> Answer:
    body = body or {}
    return _answer(
        Dashboard.public(slug),
        body.get("page", 1),
        body.get("parameters"),
        if_none_match,
        PUBLIC_CACHING,
        source=parameters.BODY,
    )


def _answer(
    dashboard: Dashboard,
    page: int,
    given: dict[str, Any] | None,
    if_none_match: str | None,
    headers: dict[str, str] | None = None,
    source: parameters.Source = parameters.QUERY,
) -> Answer:
    # A POST render stores nothing and is answered as the GET is, its 304 included (as HTTP's
    # QUERY method has it).
    payload, etag = rendered(render.renderer(), dashboard, page, given or {}, if_none_match, source)
    headers = headers or {}
    if payload is None:
        return not_modified(etag, **headers)
    # The renderer keeps answers encoded; they go out as they are, not decoded and encoded again.
    return Response(payload, headers={"ETag": etag, **headers}, media_type="application/json")


def rendered(
    renderer: render.Renderer,
    dashboard: Dashboard,
    page: int,
    params: dict[str, Any],
    if_none_match: str | None = None,
    source: parameters.Source | None = None,
) -> tuple[bytes | None, str]:
    """(the page's render as JSON bytes, its ETag), or (None, ETag) when If-None-Match names it.

    The ETag is known only once the state the render depends on is read, and a 304 needs nothing
    more; otherwise the answer is the one kept under its ETag, or built and kept unless a card
    met an error that may not recur.
    """
    state = renderer.state(dashboard, page, params, source)
    etag = state_tag(state.identity())
    if none_match(if_none_match, etag):
        return None, etag

    def build() -> tuple[serializers.RenderBody, bool]:
        rendered_page = renderer.run(state)
        return serializers.render(rendered_page), rendered_page.settled

    return renderer.kept("page", etag, build), etag
