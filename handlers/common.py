"""HTTP conventions shared by the handlers: entity tags and Location headers."""

from models.errors import InvalidRequest


def etag(version):
    return f'"{version}"'


def expected_version(if_match):
    """The version an If-Match header names, or None when the header is absent or `*`."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.split(",")[0].strip()
    if tag.startswith('"') and tag.endswith('"') and tag[1:-1].isdigit():
        return int(tag[1:-1])
    raise InvalidRequest("If-Match must be an entity tag such as \"3\".",
                         errors=[{"path": "/header/If-Match", "message": "not an entity tag"}])


def located(body, path, **headers):
    return body, 201, {"Location": f"/api{path}", **headers}
