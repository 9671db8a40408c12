"""HTTP conventions shared by the handlers: entity tags, Location headers, long-running work."""

import re

from models.access import EDIT, dashboard_for

STRONG_TAG = re.compile(r'^\s*"(\d{1,18})"\s*$')


def long_running(function):
    """Marks a handler whose work the store's indexes do not bound (card queries, rows in the
    body, a table to drop): it runs on the shared thread pool, not in a request lane (framework.py)."""
    function.long_running = True
    return function


def etag(version):
    return f'"{version}"'


def expected_versions(if_match):
    """The versions an If-Match header accepts: None for any (absent or `*`).

    Per RFC 9110 a weak or malformed tag matches nothing, so the write is refused with 412.
    """
    if if_match is None or if_match.strip() == "*":
        return None
    tags = (STRONG_TAG.match(tag) for tag in if_match.split(","))
    return {int(tag.group(1)) for tag in tags if tag}


def located(body, path, **headers):
    return body, 201, {"Location": f"/api{path}", **headers}


def dashboard_to_change(user, dashboard_id, if_match):
    """The dashboard the caller may edit, locked, its version bumped first: the bump is the lock
    that serializes writers and refuses a stale If-Match before anything else is read."""
    dashboard = dashboard_for(user, dashboard_id, EDIT, lock=True)
    dashboard.bump_version(expected_versions(if_match))
    return dashboard
