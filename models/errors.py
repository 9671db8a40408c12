"""Domain errors: the one exception tree that the HTTP layer maps to problem+json.

Each class states its HTTP status and machine code once; handlers and the model layer raise
these and never build error responses themselves.
"""

from typing import Any


class DomainError(Exception):
    """Raised when a request cannot be served for a reason the client should be told."""

    status = 500
    code = "internal_error"
    title = "Internal Server Error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.detail = detail or self.title
        self.errors = errors
        if code:
            self.code = code
        self.headers = headers or {}
        self.extra = extra
        super().__init__(self.detail)


class InvalidRequest(DomainError):
    """Raised when a request breaks a rule that the spec states (type, enum, pattern, bounds)."""

    status, code, title = 400, "invalid_request", "Invalid request"


class CorsRefused(InvalidRequest):
    """Raised when a CORS preflight asks for an origin, method or header that is not allowed."""

    code, title = "cors_refused", "CORS request refused"


class InvalidParameter(DomainError):
    """Raised when a render parameter is unknown, missing or does not fit its declared type."""

    status, code, title = 400, "invalid_parameter", "Invalid parameter"


class Unauthenticated(DomainError):
    """Raised when the bearer token is missing, malformed, unknown or revoked."""

    status, code, title = 401, "unauthenticated", "Unauthenticated"

    def __init__(self, detail: str = "A valid bearer token is required.", **kw: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"}, **kw)


class PermissionDenied(DomainError):
    """Raised when the caller may see the resource but not perform this action on it."""

    status, code, title = 403, "permission_denied", "Permission denied"


class NotFound(DomainError):
    """Raised when a resource does not exist, or is outside the caller's org and project."""

    status, code, title = 404, "not_found", "Not found"


class CollectionNotFound(NotFound):
    """Raised when a collection in the path does not exist in the caller's project."""

    code = "collection_not_found"


class DashboardNotFound(NotFound):
    """Raised when a dashboard does not exist or the caller cannot view it."""

    code = "dashboard_not_found"


class CardNotFound(NotFound):
    """Raised when a card does not exist on the dashboard."""

    code = "card_not_found"


class PageNotFound(NotFound):
    """Raised when a page number does not exist on the dashboard."""

    code = "page_not_found"


class ShareNotFound(NotFound):
    """Raised when a share grant does not exist on the dashboard."""

    code = "share_not_found"


class DatasetNotFound(NotFound):
    """Raised when a dataset does not exist in the caller's project."""

    code = "dataset_not_found"


class GroupNotFound(NotFound):
    """Raised when a group does not exist in the caller's org."""

    code = "group_not_found"


class UserNotFound(NotFound):
    """Raised when a user does not exist in the caller's org."""

    code = "user_not_found"


class TemplateNotFound(NotFound):
    """Raised when a dashboard template id is unknown."""

    code = "template_not_found"


class TokenNotFound(NotFound):
    """Raised when an API token does not exist or belongs to someone else."""

    code = "token_not_found"


class PublicDashboardNotFound(NotFound):
    """Raised when a public slug is unknown or its dashboard is no longer public."""

    code = "public_dashboard_not_found"


class MethodNotAllowed(DomainError):
    """Raised when a known path is called with a method it does not have."""

    status, code, title = 405, "method_not_allowed", "Method not allowed"


class Conflict(DomainError):
    """Raised when a request conflicts with the current state of a resource."""

    status, code, title = 409, "conflict", "Conflict"


class GroupNameTaken(Conflict):
    """Raised when a group would take a name another group of the org holds."""

    code = "group_name_taken"


class CollectionCycle(Conflict):
    """Raised when a collection would be moved under itself or one of its descendants."""

    code = "collection_cycle"


class CollectionNotEmpty(Conflict):
    """Raised when a collection that still holds dashboards or collections is deleted."""

    code = "collection_not_empty"


class CardPositionConflict(Conflict):
    """Raised when a card would overlap another card of its page."""

    code = "card_position_conflict"


class LastPage(Conflict):
    """Raised when the only page of a dashboard would be deleted."""

    code = "last_page"


class PreconditionFailed(DomainError):
    """Raised when an If-Match header names a version that is no longer current."""

    status, code, title = 412, "precondition_failed", "Precondition failed"


class PayloadTooLarge(DomainError):
    """Raised when a request body exceeds the configured size limit."""

    status, code, title = 413, "payload_too_large", "Payload too large"


class UriTooLong(DomainError):
    """Raised when a request target (path and query) is longer than the HTTP server reads."""

    status, code, title = 414, "uri_too_long", "URI too long"


class UnsupportedMediaType(DomainError):
    """Raised when a request body has a media type the operation does not accept."""

    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class Unprocessable(DomainError):
    """Raised when a well-formed request breaks a rule the spec cannot state."""

    status, code, title = 422, "unprocessable", "Unprocessable request"


class InvalidReference(Unprocessable):
    """Raised when a request body names an object that does not exist (code names the kind)."""


class InvalidParameters(Unprocessable):
    """Raised when a dashboard's parameter definitions are inconsistent."""

    code = "invalid_parameters"


class InvalidLayout(Unprocessable):
    """Raised when a card layout breaks the grid's bounds or a batch names a card wrongly."""

    code = "invalid_layout"


class InvalidPosition(Unprocessable):
    """Raised when a page would be put at a position past the end of the dashboard's pages."""

    code = "invalid_position"


class InvalidCardConfig(Unprocessable):
    """Raised when a card config fails its card type's schema or names something missing."""

    code = "invalid_card_config"


class InvalidColumns(Unprocessable):
    """Raised when a dataset's columns repeat a name or are not `{name, type}`."""

    code = "invalid_columns"


class InvalidRows(Unprocessable):
    """Raised when a row of dataset data does not fit the dataset's columns."""

    code = "invalid_rows"


class InvalidQuery(Unprocessable):
    """Raised when a card query names an unknown column or applies a metric that does not fit."""

    code = "invalid_query"


class TemplateIncompatible(Unprocessable):
    """Raised when a dataset lacks what a dashboard template needs."""

    code = "template_incompatible"


class InternalError(DomainError):
    """Raised (or substituted) when the service itself failed; details stay in the server log."""

    status, code, title = 500, "internal_error", "Internal Server Error"


class ServiceUnavailable(DomainError):
    """Raised when the store cannot be reached or stays locked past its wait; the client may retry."""

    status, code, title = 503, "service_unavailable", "Service unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1, **kw: Any) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)}, **kw)


class SchemaOutdated(ServiceUnavailable):
    """Raised when the store's schema is not at the version this code expects (run `init`)."""

    code = "schema_outdated"
