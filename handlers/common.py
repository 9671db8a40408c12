"""HTTP conventions shared by the handlers: entity tags and Location headers."""

import re

STRONG_TAG = re.compile(r'^\s*"(\d{1,18})"\s*$')

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
