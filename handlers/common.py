"""HTTP conventions shared by the handlers: entity tags and conditional requests, Location
headers, long-running work."""

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from connexion import NoContent
from starlette.responses import Response

from models.access import EDIT, Principal, dashboard_for
from models.content import Dashboard

Handler = TypeVar("Handler", bound=Callable[..., Any])
# What a handler answers, as Connexion takes it: a body (a serializer's, or text), a response
# sent as it is, or (body, status) or (body, status, headers), the body NoContent for none.
Body = Mapping[str, Any] | str | bytes
Answer = Body | Response | tuple[Any, int] | tuple[Any, int, Mapping[str, str]]

# One element of RFC 9110's `#entity-tag` list: an optional weak marker and a quoted opaque tag
# (etagc: any visible character but DQUOTE, and obs-text), between optional spaces, ending at a
# comma or the end of the header.
ENTITY_TAG = re.compile(r'[ \t]*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|\Z)')
VERSION = re.compile(r"\d{1,18}")


def long_running(function: Handler) -> Handler:
    """Marks a handler whose work the store's indexes do not bound (card queries, rows in the
    body, a table to drop): it runs on the shared thread pool, not in a request lane (framework.py)."""
    function.long_running = True  # type: ignore[attr-defined]  # read by framework.py
    return function


def read_only(function: Handler) -> Handler:
    """Marks a handler of a method other than GET that changes nothing (a render asked with a
    JSON body): it runs as reads do, without a transaction and its write lock (framework.py)."""
    function.read_only = True  # type: ignore[attr-defined]
    return function


def etag(version: int) -> str:
    """A version as a strong entity tag: the `ETag` of a dashboard (and what is in it) or a dataset."""
    return f'"{version}"'


def state_tag(state: object) -> str:
    """A weak entity tag for an answer built from `state` (JSON-ready values naming everything it
    shows, such as a render's): 128 bits of the state's SHA-256, so any change of it is a new tag."""
    return 'W/"' + hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()[:32] + '"'


def entity_tags(header: str) -> list[tuple[bool, str]]:
    """The tags an If-Match or If-None-Match header lists, as (weak, opaque tag) pairs in order.

    An element that is not an entity tag (unquoted, unterminated, `*` inside a list) is skipped
    up to the next comma: it names nothing, so it matches nothing.
    """
    tags, position = [], 0
    while position < len(header):
        match = ENTITY_TAG.match(header, position)
        if match:
            tags.append((match.group(1) is not None, match.group(2)))
            position = match.end()
        else:
            comma = header.find(",", position)
            if comma < 0:
                break
            position = comma + 1
    return tags


def expected_versions(if_match: str | None) -> set[int] | None:
    """The versions an If-Match header accepts: None for any (absent or `*`).

    If-Match compares strongly (RFC 9110): a weak or malformed tag matches nothing, so the write
    is refused with 412.
    """
    if if_match is None or if_match.strip() == "*":
        return None
    return {int(tag) for weak, tag in entity_tags(if_match) if not weak and VERSION.fullmatch(tag)}


def none_match(if_none_match: str | None, tag: str) -> bool:
    """Whether an If-None-Match header names `tag`, the current representation's entity tag:
    `*` (the resource exists), or a listed tag equal to it by RFC 9110's weak comparison (a
    `W/` on either side is ignored). The one comparison behind every 304."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    ((_, current),) = entity_tags(tag)
    return any(listed == current for _, listed in entity_tags(if_none_match))


def not_modified(tag: str, **headers: str) -> Answer:
    """304 Not Modified: no body, the `ETag` (and any header the 200 carries) repeated."""
    return NoContent, 304, {"ETag": tag, **headers}


def conditional(if_none_match: str | None, tag: str, answer: Callable[[], Body], **headers: str) -> Answer:
    """A read with its `ETag`: 304 when If-None-Match names `tag`, before anything is built;
    otherwise 200 with `answer()`, a body or JSON already encoded (bytes, sent as they are)."""
    if none_match(if_none_match, tag):
        return not_modified(tag, **headers)
    body = answer()
    headers = {"ETag": tag, **headers}
    if isinstance(body, bytes):
        return Response(body, headers=headers, media_type="application/json")
    return body, 200, headers


def located(body: Body, path: str, **headers: str) -> Answer:
    return body, 201, {"Location": f"/api{path}", **headers}


def dashboard_to_change(user: Principal, dashboard_id: int, if_match: str | None) -> Dashboard:
    """The dashboard the caller may edit, locked, its version bumped first: the bump is the lock
    that serializes writers and refuses a stale If-Match before anything else is read."""
    dashboard = dashboard_for(user, dashboard_id, EDIT, lock=True)
    dashboard.bump_version(expected_versions(if_match))
    return dashboard
