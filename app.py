"""The HTTP application: the spec, its handlers over the store, and one mapping of errors."""

import functools
import json
import logging
import pathlib
import re

import handlers  # noqa: F401  (first: it quiets a notice Connexion prints at import)
import connexion
from connexion import NoContent
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionResponse
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from connexion.uri_parsing import OpenAPIURIParser
from connexion.utils import get_function_from_name
from connexion.validators import ParameterValidator
from connexion.validators.json import JSONRequestBodyValidator
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
import yaml

import telemetry
from config import Settings
from models import db, render
from models.errors import DomainError, InternalError, InvalidRequest, PayloadTooLarge

ROOT = pathlib.Path(__file__).resolve().parent
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
log = logging.getLogger("dashboards_api")

# Errors the framework raises itself, named by status.
FRAMEWORK_CODES = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def problem(status, code, title, detail, *, errors=None, headers=None, extra=None):
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "error": code}
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
    return ConnexionResponse(
        status_code=status,
        mimetype="application/problem+json",
        content_type="application/problem+json",
        body=json.dumps(body),
        headers=headers or {},
    )


def domain_error(_request, exc: DomainError):
    return problem(exc.status, exc.code, exc.title, exc.detail, errors=exc.errors,
                   headers=exc.headers, extra=exc.extra)


class SpecPaths:
    """The spec's path templates, to answer 405 with every method a path has.

    The router sees one route per operation, so its own Allow header names only one of them.
    """

    def __init__(self, spec_file):
        spec = yaml.safe_load(spec_file.read_text())
        base = spec["servers"][0]["url"].rstrip("/")
        self.templates = [
            (re.compile("^" + re.sub(r"\\{[^/]+\\}", "[^/]+", re.escape(base + path)) + "$"),
             sorted(method.upper() for method in item if method in HTTP_METHODS))
            for path, item in sorted(spec["paths"].items(), key=lambda kv: kv[0].count("{"))
        ]

    def allowed(self, path):
        """The methods of the most specific template that matches (literal segments win)."""
        return next((", ".join(methods) for pattern, methods in self.templates if pattern.match(path)), "")


def framework_error_handler(paths):
    def framework_error(request, exc: HTTPException):
        status = exc.status_code
        if status >= 500:
            return internal_error(request, exc)
        title = getattr(exc, "title", None) or exc.detail or "Error"
        detail = exc.detail or title
        errors = [{"path": "", "message": detail}] if status == 400 else None
        headers = dict(exc.headers or {})
        if status == 405:
            headers["Allow"] = paths.allowed(request.url.path) or headers.get("Allow", "")
        return problem(status, FRAMEWORK_CODES.get(status, "error"), title, detail,
                       errors=errors, headers=headers)

    return framework_error


def internal_error(_request, exc):
    log.error("unhandled error", exc_info=exc)
    err = InternalError("The server failed to complete the request; the error has been logged.")
    return domain_error(_request, err)


def _json_response(result):
    """Handlers return a body, (body, status) or (body, status, headers); one place makes it JSON."""
    body, status, headers = result, 200, {}
    if isinstance(result, tuple):
        body, status, *rest = result
        headers = rest[0] if rest else {}
    if body is NoContent or body is None:
        return Response(status_code=status if status != 200 else 204, headers=headers)
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return Response(payload, status_code=status, headers=headers, media_type="application/json")


def _with_store(function, read_only, header_params, json_body):
    """Run a handler on its own connection, a write inside one transaction: a failed request
    stores nothing.

    Connexion injects path, query and body arguments; the header parameters the spec declares
    (such as If-Match) are injected here, under their snake_case names.
    """

    @functools.wraps(function)
    def handler(*args, **kwargs):
        for name in header_params:
            kwargs[name.lower().replace("-", "_")] = connexion.request.headers.get(name)
        if json_body and isinstance(kwargs.get("body"), bytes):
            # An optional body sent without Content-Type reaches the handler as the bytes the
            # body validator already parsed as JSON and checked (or the schema's default).
            kwargs["body"] = json.loads(kwargs["body"] or b"null")
        with db.database.connection_context():
            if read_only:  # reads need no transaction: two round trips fewer on PostgreSQL
                result = function(*args, **kwargs)
            else:
                with db.write_transaction():
                    result = function(*args, **kwargs)
        return _json_response(result)

    return handler


class StoreResolver(Resolver):
    def resolve(self, operation):
        resolution = super().resolve(operation)
        read_only = operation.method.lower() in ("get", "head")
        spec = operation._operation
        headers = [p["name"] for p in spec.get("parameters", []) if p.get("in") == "header"]
        json_body = set(spec.get("requestBody", {}).get("content", {})) == {"application/json"}
        resolution.function = _with_store(resolution.function, read_only, headers, json_body)
        return resolution


def _pointer(path):
    return "".join(f"/{part}" for part in path)


class BodyValidator(JSONRequestBodyValidator):
    """JSON bodies: every schema error with its JSON Pointer, and bad bytes as 400, not 500."""

    async def _parse(self, stream, scope):
        raw = b"".join([message async for message in stream])
        if not raw:
            return None
        try:
            body = json.loads(raw.decode("utf-8"))
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeError as exc:
            raise InvalidRequest("The body is not valid UTF-8.",
                                 errors=[{"path": "", "message": str(exc)}]) from None
        except json.JSONDecodeError as exc:
            raise InvalidRequest("The body is not valid JSON.",
                                 errors=[{"path": "", "message": str(exc)}]) from None
        return body

    def _validate(self, body):
        if body is None and not self._nullable:
            raise InvalidRequest("A request body is required.", errors=[{"path": "", "message": "required"}])
        errors = sorted(self._validator.iter_errors(body), key=lambda e: (list(map(str, e.absolute_path)), e.message))
        if errors:
            raise InvalidRequest(
                "The request body does not match the schema.",
                errors=[{"path": _pointer(e.absolute_path), "message": e.message} for e in errors[:50]],
            )
        return body


class QueryValidator(ParameterValidator):
    """Path, query and header parameters: every error named by location and name."""

    LOCATIONS = ("path", "query", "header", "cookie")

    def validate_request(self, request):
        errors = []
        if self.strict_validation:
            extra = self.validate_query_parameter_list(request, self.security_query_params)
            errors += [{"path": f"/query/{name}", "message": "unknown query parameter"} for name in sorted(extra)]
        for location in self.LOCATIONS:
            check = getattr(self, f"validate_{location}_parameter")
            for param in self.parameters.get(location, []):
                message = check(param, request)
                if message:
                    errors.append({"path": f"/{location}/{param['name']}", "message": message.splitlines()[0]})
        if errors:
            raise InvalidRequest("The request parameters do not match the spec.", errors=errors)


class QueryParser(OpenAPIURIParser):
    """deepObject query parameters keep every repeated value, and accept `name.key` for `name[key]`.

    `param.region=EMEA&param[region]=APAC` gives `param == {"region": ["EMEA", "APAC"]}`;
    Connexion's own parser keeps only the first value of a repeated key.
    """

    DEEP_KEY = re.compile(r"^([^\[\].]+)(?:\[([^\[\]]*)\]|\.(.+))$")

    def _preprocess_deep_objects(self, query_data):
        resolved = {}
        for key, values in query_data.items():
            match = self.DEEP_KEY.match(key)
            if match and self._is_deep_object_style_param(match[1]):
                entry = resolved.setdefault(match[1], [{}])[0]
                entry.setdefault(match[2] if match[2] is not None else match[3], []).extend(values)
            else:
                resolved[key] = values
        return resolved


class BodyLimit:
    """Refuses bodies over the configured size, by Content-Length and while streaming."""

    def __init__(self, app, max_bytes):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        too_large = PayloadTooLarge(f"The body exceeds the limit of {self.max_bytes} bytes.")
        if not declared.isdigit():
            raise InvalidRequest("Content-Length is not a number.", errors=[{"path": "/header/Content-Length", "message": "not a number"}])
        if int(declared) > self.max_bytes:
            raise too_large
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise too_large
            return message

        await self.app(scope, limited_receive, send)


def create_app(settings=None):
    settings = settings or Settings.from_env()
    db.bind(settings.database_url)
    render.configure(workers=settings.render_workers, budget_ms=settings.card_time_budget_ms)
    app = connexion.AsyncApp(__name__, specification_dir=ROOT)
    app.add_api(
        "openapi.yaml",
        resolver=telemetry.StorelessResolver(StoreResolver(get_function_from_name)),
        strict_validation=True,
        uri_parser_class=QueryParser,
        validate_responses=settings.validate_responses,
        validator_map={"body": {"application/json": BodyValidator, "*/*json": BodyValidator},
                       "parameter": QueryValidator},
        swagger_ui_options=SwaggerUIOptions(swagger_ui=True, spec_path="/openapi.json"),
    )
    app.add_error_handler(DomainError, domain_error)
    framework_error = framework_error_handler(SpecPaths(ROOT / "openapi.yaml"))
    app.add_error_handler(ProblemException, framework_error)
    app.add_error_handler(HTTPException, framework_error)
    app.add_error_handler(Exception, internal_error)
    telemetry.install(app, settings)
    app.add_middleware(BodyLimit, position=MiddlewarePosition.BEFORE_SECURITY, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION,
            allow_origins=list(settings.cors_origins), allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "If-None-Match"],
            expose_headers=["ETag", "Location"],
        )
    return app
