"""What the API adds to Connexion: strict JSON bodies checked off the event loop, parameter and
query parsing, the store around every handler, problem documents for every error, the headers
every answer carries, and the spec served as it is written.

Each private Connexion member relied on here has a test in tests/test_framework.py, so that an
upgrade of Connexion breaks there first.
"""

import functools
import gc
import importlib
import inspect
import json
import logging
import math
import pkgutil
import re
import sys
import threading
import time

import anyio
import connexion
import inflection
import yaml
from anyio.lowlevel import RunVar
from connexion import NoContent
from connexion.exceptions import ResolverError
from connexion.json_schema import Draft4RequestValidator
from connexion.lifecycle import ConnexionResponse
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.swagger_ui import SwaggerUIAPI, SwaggerUIMiddleware
from connexion.resolver import Resolution, Resolver
from connexion.uri_parsing import OpenAPIURIParser
from connexion.utils import is_null, is_nullable
from connexion.validators import ParameterValidator
from connexion.validators.json import JSONRequestBodyValidator
from jsonschema import Draft4Validator, ValidationError
from jsonschema.validators import extend
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from handlers.security import BearerToken
from models import db, field_errors
from models.access import principal_for_token
from models.errors import (
    CorsRefused,
    DomainError,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    Unauthenticated,
    UnsupportedMediaType,
)

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
log = logging.getLogger("dashboards_api")

# Problem documents stay small whatever the request: jsonschema messages quote the offending
# value, and one bad body can break a rule thousands of times.
MAX_ERRORS = 50
MAX_MESSAGE_CHARS = 300
MAX_DETAIL_CHARS = 1000

# JSON nested deeper than this is refused before any schema sees it: no body of the API needs
# more than a handful of levels, and validators recurse once per level.
MAX_JSON_DEPTH = 64

# Bodies up to this size are parsed and checked on the event loop: a thread hop costs more than
# the work (measured; README, design notes). Larger ones go to a worker thread.
INLINE_BODY_BYTES = 16 * 1024

# The parsed body, handed from the body validator to the handler so that it is parsed once.
BODY_SCOPE_KEY = "dashboards_api.body"

# Errors the framework raises itself, as the domain errors they are.
FRAMEWORK_ERRORS = {
    400: InvalidRequest,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
}


def _clip(text, limit):
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def problem(status, code, title, detail, *, errors=None, headers=None, extra=None):
    """The one place problem documents are made; every error of every operation passes here."""
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": _clip(detail, MAX_DETAIL_CHARS),
        "error": code,
    }
    if errors:
        body["errors"] = [
            {"path": _clip(e["path"], MAX_MESSAGE_CHARS), "message": _clip(e["message"], MAX_MESSAGE_CHARS)}
            for e in errors[:MAX_ERRORS]
        ]
        body["error_count"] = len(errors)
    body.update(extra or {})
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
    return ConnexionResponse(
        status_code=status,
        mimetype="application/problem+json",
        content_type="application/problem+json",
        body=json.dumps(body, allow_nan=False),
        headers=headers or {},
    )


def domain_error(_request, exc: DomainError):
    return problem(exc.status, exc.code, exc.title, exc.detail, errors=exc.errors, headers=exc.headers, extra=exc.extra)


def internal_error(request, exc):
    log.error("unhandled error", exc_info=exc)
    return domain_error(request, InternalError("The server failed to complete the request; the error has been logged."))


class SpecPaths:
    """The spec's path templates: to answer 405 with every method a path has, and 400 for an
    operation's path whose parameters the router could not take.

    The router sees one route per operation, so its own Allow header names only one of them. And
    it routes an integer path parameter only when it looks like one (Connexion's `int`
    convertor), and no path with a line break (Starlette's mount of `/api`): `/dashboards/abc`
    meets no route and would be a 404 `not_found`, where `/dashboards/-1` (routed, then checked
    against the schema) is a 400 `invalid_request`. Both are the operation's 400 here.
    """

    INTEGER = re.compile(r"[+-]?[0-9]+")  # what the router's int convertor routes

    def __init__(self, spec_file):
        spec = yaml.safe_load(spec_file.read_text())
        base = spec["servers"][0]["url"].rstrip("/")
        self.templates = [
            (
                re.compile("^" + re.sub(r"\\{([^/]+)\\}", r"(?P<\1>[^/]+)", re.escape(base + path)) + r"\Z"),
                sorted(method.upper() for method in item if method in HTTP_METHODS),
                _path_parameter_validators(spec, item),
            )
            for path, item in sorted(spec["paths"].items(), key=lambda kv: kv[0].count("{"))
        ]

    def _template(self, path):
        """The most specific template that matches (literal segments win), or None."""
        return next(
            (
                (match, methods, validators)
                for pattern, methods, validators in self.templates
                if (match := pattern.match(path))
            ),
            None,
        )

    def allowed(self, path):
        found = self._template(path)
        return ", ".join(found[1]) if found else ""

    def parameter_errors(self, method, path):
        """For an unrouted request to an operation's path, each path parameter that breaks its
        schema, at `/path/<name>` (none: the route is unknown after all)."""
        found = self._template(path)
        if found is None or method not in found[1]:
            return []
        match, _, validators = found
        errors = []
        for name, text in match.groupdict().items():
            validator = validators[name]
            value = int(text) if validator.schema.get("type") == "integer" and self.INTEGER.fullmatch(text) else text
            error = next(validator.iter_errors(value), None)
            if error is not None:
                errors.append({"path": f"/path/{name}", "message": error.message})
        return errors


def _path_parameter_validators(spec, item):
    """{name: validator of its schema} for a path's parameters, declared on the path or its
    operations."""

    def resolved(node):
        while "$ref" in node:
            section, name = node["$ref"].split("/")[-2:]
            node = spec["components"][section][name]
        return node

    declared = [
        *item.get("parameters", []),
        *(p for method, op in item.items() if method in HTTP_METHODS for p in op.get("parameters", [])),
    ]
    return {
        parameter["name"]: Draft4Validator(resolved(parameter["schema"]))
        for parameter in map(resolved, declared)
        if parameter["in"] == "path"
    }


def framework_error_handler(paths):
    """Connexion's and Starlette's own HTTP errors, answered as the domain errors they are."""

    def framework_error(request, exc: HTTPException):
        kind = FRAMEWORK_ERRORS.get(exc.status_code)
        if exc.status_code >= 500:
            return internal_error(request, exc)
        if kind is None:  # a status this API never answers by itself; still a problem document
            return problem(exc.status_code, "error", str(exc.detail or "Error"), str(exc.detail or "Error"))
        detail = exc.detail or getattr(exc, "title", None) or kind.title
        headers = dict(exc.headers or {})
        if kind is MethodNotAllowed:
            headers["Allow"] = paths.allowed(request.url.path) or headers.get("Allow", "")
        # The path as sent: request.url.path has lost its line breaks (urlsplit drops them).
        if kind is NotFound and (wrong := paths.parameter_errors(request.method, request.scope["path"])):
            return domain_error(request, InvalidRequest("The request parameters do not match the spec.", errors=wrong))
        errors = [{"path": "", "message": detail}] if kind is InvalidRequest else None
        error = kind(detail, errors=errors)
        error.headers = {**error.headers, **headers}
        return domain_error(request, error)

    return framework_error


def _json_response(result):
    """Handlers return a body, (body, status) or (body, status, headers); one place makes it JSON.

    Strict JSON only: a non-finite number raises here (a logged 500), never reaches a client.
    """
    if isinstance(result, Response):  # already encoded by the handler (a render answer)
        return result
    body, status, headers = result, 200, {}
    if isinstance(result, tuple):
        body, status, *rest = result
        headers = rest[0] if rest else {}
    if body is NoContent or body is None:
        return Response(status_code=status if status != 200 else 204, headers=headers)
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return Response(payload, status_code=status, headers=headers, media_type="application/json")


RELEASE_SLICE = 2000


def release(body):
    """Empty the long lists of a body a slice at a time, once it is no longer needed.

    Freeing 100,000 rows at once holds the GIL for about 15 ms, wherever the last reference goes
    (on the event loop, as often as not); in slices of RELEASE_SLICE other threads take it
    between them. The top-level lists and those of the top-level object are the long ones.
    """
    values = body.values() if isinstance(body, dict) else (body,)
    for value in values:
        if isinstance(value, list):
            while len(value) > RELEASE_SLICE:
                del value[-RELEASE_SLICE:]


def caller(token):
    """The caller behind a bearer token (401 when unknown), looked up once per request."""
    if token.principal is None:
        token.principal = principal_for_token(token)
    return token.principal


def _bearer_token(scope):
    """The not yet looked-up bearer token Connexion's security put in the request's context."""
    token = scope.get("extensions", {}).get("connexion_context", {}).get("user")
    return token if isinstance(token, BearerToken) else None


class Lanes:
    """How many worker threads run handlers at once, per event loop: `threads` for reads and as
    many again for writes; long-running handlers take the shared pool (anyio's, 40 threads).

    Threads that all want the GIL hand it to each other at every driver call (each SQLite step,
    each PostgreSQL round trip): with one thread per request, GET one dashboard under eight
    concurrent clients spent a third of its CPU in the kernel passing the GIL (README,
    performance). Reads and writes have lanes of their own, so that a write waiting for SQLite's
    lock does not hold up the reads, which never wait for it.
    """

    _limiters = RunVar("request_lanes")

    def __init__(self, threads):
        if threads < 1:
            raise ValueError(f"REQUEST_THREADS must be at least 1, not {threads}")
        self.threads = threads

    def limiter(self, lane):
        if lane is None:
            return None
        try:
            limiters = self._limiters.get()
        except LookupError:
            limiters = {"read": anyio.CapacityLimiter(self.threads), "write": anyio.CapacityLimiter(self.threads)}
            self._limiters.set(limiters)
        return limiters[lane]


def _with_store(function, read_only, header_params, lanes):
    """Run a handler on the request's one connection, a write inside one transaction: a failed
    request stores nothing.

    One thread hop per request: the bearer token's lookup, the handler and the JSON encoding
    run together on a worker thread of the request's lane (`Lanes`), on one connection (a thread
    hop costs about as much as the queries of a read). Connexion injects path, query and body
    arguments; the header parameters the spec declares (such as If-Match) are injected here,
    under their snake_case names.
    """
    lane = None if getattr(function, "long_running", False) else "read" if read_only else "write"

    def attempt(token, args, kwargs, began):
        with db.connected():
            if token is not None:
                kwargs["user"] = caller(token)
            if read_only:  # reads need no transaction: two round trips fewer on PostgreSQL
                return function(*args, **kwargs)
            began.append(True)
            with db.write_transaction():
                return function(*args, **kwargs)

    def run(token, args, kwargs):
        began = []
        try:
            try:
                result = attempt(token, args, dict(kwargs), began)
            except db.KeptConnectionLost as lost:
                if began and not read_only:  # a write may have reached the store: no second try
                    raise db.unavailable(lost) from None
                try:
                    result = attempt(token, args, dict(kwargs), [])
                except db.KeptConnectionLost as again:
                    raise db.unavailable(again) from None
            return _json_response(result)
        finally:
            release(kwargs.get("body"))

    @functools.wraps(function)
    async def handler(*args, **kwargs):
        request = connexion.request
        for name in header_params:
            kwargs[name.lower().replace("-", "_")] = request.headers.get(name)
        if BODY_SCOPE_KEY in request.scope:
            # The body validator parsed and checked the JSON body once; Connexion saw none.
            kwargs["body"] = request.scope[BODY_SCOPE_KEY]
        token = kwargs.get("user")
        token = token if isinstance(token, BearerToken) else None
        return await anyio.to_thread.run_sync(functools.partial(run, token, args, kwargs), limiter=lanes.limiter(lane))

    # Connexion reads the signature of the innermost function (following __wrapped__) on every
    # request: the wrapper answers it at once, and does not point past itself.
    handler.__signature__ = inspect.signature(function)
    handler.handles = handler.__wrapped__
    del handler.__wrapped__
    return handler


class HandlerResolver(Resolver):
    """Resolves an operation to its handler: the function of `handlers/` named by the operationId
    in snake_case (`getDashboard` is `handlers.dashboards.get_dashboard`). A name found in no
    handler module, or in more than one, stops the app at startup.

    The operationIds are the names generated clients give their functions, and the operation keeps
    its operationId as the spec writes it: the request log line and the `operation` label of the
    metrics carry `getDashboard`, not the function's dotted path.
    """

    PACKAGE = "handlers"

    def resolve(self, operation):
        return Resolution(self.handler(operation), operation.operation_id)

    def handler(self, operation):
        name = inflection.underscore(operation.operation_id)
        found = [
            module.__dict__[name]
            for module in _handler_modules(self.PACKAGE)
            if inspect.isfunction(module.__dict__.get(name)) and module.__dict__[name].__module__ == module.__name__
        ]
        if len(found) != 1:
            where = "no handler module" if not found else ", ".join(f.__module__ for f in found)
            raise ResolverError(
                f"{operation.method.upper()} {operation.path} ({operation.operation_id}): {name} is defined in {where}"
            )
        return found[0]


@functools.cache
def _handler_modules(package):
    """The modules of a package, imported."""
    root = importlib.import_module(package)
    return tuple(importlib.import_module(f"{package}.{info.name}") for info in pkgutil.iter_modules(root.__path__))


class StoreResolver(HandlerResolver):
    """Resolves each operation to its handler run by `_with_store`, in a lane of `lanes`: GET
    and HEAD as reads, and so any handler marked `read_only` (handlers/common.py)."""

    def __init__(self, function_resolver, lanes):
        super().__init__(function_resolver)
        self.lanes = lanes

    def resolve(self, operation):
        resolution = super().resolve(operation)
        read_only = operation.method.lower() in ("get", "head") or getattr(resolution.function, "read_only", False)
        spec = operation._operation
        headers = [p["name"] for p in spec.get("parameters", []) if p.get("in") == "header"]
        resolution.function = _with_store(resolution.function, read_only, headers, self.lanes)
        return resolution


def _pointer(path):
    return "".join(f"/{str(part).replace('~', '~0').replace('/', '~1')}" for part in path)


class _Rejected:
    """A JSON literal that strict JSON refuses (NaN, Infinity, 1e309, an over-long integer)."""

    __slots__ = ("literal", "reason")

    def __init__(self, literal, reason):
        self.literal, self.reason = literal, reason


def _strict_hooks():
    """json.loads hooks that put a _Rejected where a literal is refused, and the list of them."""
    rejected = []

    def reject(literal, reason):
        rejected.append(_Rejected(literal, reason))
        return rejected[-1]

    def parse_float(text):
        value = float(text)
        return value if math.isfinite(value) else reject(text, "is out of the range of a double")

    def parse_int(text):
        try:
            return int(text)
        except ValueError:  # over Python's limit on integer digits
            return reject(text, "has too many digits")

    hooks = {
        "parse_float": parse_float,
        "parse_int": parse_int,
        "parse_constant": lambda text: reject(text, "is not a finite number"),
    }
    return hooks, rejected


def _rejected_pointers(node, path=()):
    """The JSON Pointer and reason of every _Rejected in a parsed body (nesting already bounded)."""
    if type(node) is _Rejected:
        yield {"path": _pointer(path), "message": f"{_clip(node.literal, 40)} {node.reason}"}
    elif type(node) is dict or type(node) is list:
        for key, item in node.items() if type(node) is dict else enumerate(node):
            yield from _rejected_pointers(item, (*path, key))


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_INNERMOST_PAIR = re.compile(rb"\[\]|\{\}")


def _within_depth(raw, limit=MAX_JSON_DEPTH):
    """Whether valid JSON nests at most `limit` levels, in a few passes of C code: strings out,
    brackets only, then innermost pairs removed once per level. A walk over the parsed values
    would cost seconds for a body of millions of small arrays."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return True
        brackets = _INNERMOST_PAIR.sub(b"", brackets)  # one level, arrays and objects alike
    return not brackets


_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
TOO_DEEP = f"nested deeper than {MAX_JSON_DEPTH} levels"


class _TooDeep(Exception):
    """Raised when a value of a large body nests deeper than MAX_JSON_DEPTH."""


class _LargeBodyWork:
    """While large bodies are parsed, however many at once: the cyclic collector paused and the
    interpreter's thread switch interval shortened.

    Parsing builds many containers and nothing to collect, yet each few hundred of them start a
    collection that walks everything alive: a 10 MB body of small arrays parsed in 1.4 s CPU with
    the collector on and 0.13 s with it paused. And the event loop shares the GIL with the
    parsing thread: with a short switch interval it takes the GIL back within a fraction of a
    millisecond instead of 5 ms each time it needs it (README, design notes).
    """

    SWITCH_INTERVAL = 0.0002

    def __init__(self):
        self.lock = threading.Lock()
        self.holders = 0
        self.resume = False
        self.interval = sys.getswitchinterval()

    def __enter__(self):
        with self.lock:
            if self.holders == 0:
                self.resume = gc.isenabled()
                gc.disable()
                self.interval = sys.getswitchinterval()
                sys.setswitchinterval(min(self.interval, self.SWITCH_INTERVAL))
            self.holders += 1

    def __exit__(self, *exc):
        with self.lock:
            self.holders -= 1
            if self.holders == 0:
                sys.setswitchinterval(self.interval)
                if self.resume:
                    gc.enable()


_large_body_work = _LargeBodyWork()


class _NotStrict(Exception):
    """Raised by the fast decoder at the first literal strict JSON refuses."""


def _refuse(_literal):
    raise _NotStrict()


def _finite(literal):
    value = float(literal)
    if not math.isfinite(value):
        raise _NotStrict()
    return value


# Decodes strict JSON and stops at the first refused literal; the body is then decoded again with
# _strict_hooks to name every one (only a refused body pays twice).
_FAST_DECODER = json.JSONDecoder(parse_float=_finite, parse_constant=_refuse)
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# The containers of the top levels of a large body are walked here, and each value below them is
# decoded by one call of the C decoder: a body of many rows is decoded in many short steps, between
# which the event loop takes the GIL, not in one call that holds it for the whole body.
WALKED_LEVELS = 2
# A large body is background work: every YIELD_EVERY rows its thread sleeps YIELD_SECONDS, so
# light requests keep most of the GIL while it is parsed (a 10 MB body takes about 0.2 s longer;
# its CPU cost is the same). Measured with bench/bench_hostile.py (README, Performance).
YIELD_EVERY, YIELD_SECONDS = 128, 0.0003


def _decode_in_steps(text, decoder):
    """What json.loads(text) with `decoder`'s hooks gives, decoded value by value."""
    value, end = _decode_value(text, _WHITESPACE.match(text).end(), decoder, WALKED_LEVELS)
    end = _WHITESPACE.match(text, end).end()
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def _decode_value(text, index, decoder, levels):
    """(value, end) of the JSON value at `index`."""
    if levels and text[index : index + 1] in ("[", "{"):
        return _decode_container(text, index, decoder, levels)
    value, end = decoder.raw_decode(text, index)
    allowed = MAX_JSON_DEPTH - (WALKED_LEVELS - levels)
    if text.count("[", index, end) + text.count("{", index, end) > allowed and not _within_depth(
        text[index:end].encode("utf-8", "surrogatepass"), allowed
    ):
        raise _TooDeep()
    return value, end


def _decode_container(text, index, decoder, levels):
    closer = "]" if text[index] == "[" else "}"
    items = [] if closer == "]" else {}
    index = _WHITESPACE.match(text, index + 1).end()
    if text[index : index + 1] == closer:
        return items, index + 1
    while True:
        if closer == "}":
            if text[index : index + 1] != '"':
                raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, index)
            key, index = decoder.raw_decode(text, index)
            index = _WHITESPACE.match(text, index).end()
            if text[index : index + 1] != ":":
                raise json.JSONDecodeError("Expecting ':' delimiter", text, index)
            value, index = _decode_value(text, _WHITESPACE.match(text, index + 1).end(), decoder, levels - 1)
            items[key] = value
        else:
            value, index = _decode_value(text, index, decoder, levels - 1)
            items.append(value)
            if not len(items) % YIELD_EVERY:
                time.sleep(YIELD_SECONDS)
        index = _WHITESPACE.match(text, index).end()
        delimiter = text[index : index + 1]
        if delimiter == closer:
            return items, index + 1
        if delimiter != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
        index = _WHITESPACE.match(text, index + 1).end()


def _decode_large(text):
    """(body, rejected literals) of a large body, decoded in steps."""
    with _large_body_work:
        try:
            return _decode_in_steps(text, _FAST_DECODER), []
        except _NotStrict:
            pass
        except ValueError as exc:
            if isinstance(exc, json.JSONDecodeError):
                raise
            # An integer over Python's digit limit: named below, with the others.
        hooks, rejected = _strict_hooks()
        return _decode_in_steps(text, json.JSONDecoder(**hooks)), rejected


def _has_escaped_surrogate(raw, window=1 << 18):
    """Whether `raw` holds a \\uD800-\\uDFFF escape, searched a window at a time (one search of a
    large body would hold the GIL for milliseconds)."""
    return any(_ESCAPED_SURROGATE.search(raw, start, start + window + 5) for start in range(0, len(raw), window))


def _lone_surrogate(body):
    """Whether a string of the body holds a lone surrogate: it decodes, but is no text to store."""
    stack = [body]
    while stack:
        node = stack.pop()
        if type(node) is str:
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif type(node) is dict:
            stack.extend(node)
            stack.extend(node.values())
        elif type(node) is list:
            stack.extend(node)
    return False


def parse_strict_json(raw):
    """The body as Python values, or InvalidRequest: strict JSON only, in UTF-8."""
    try:
        text = raw.decode("utf-8")
        if len(raw) > INLINE_BODY_BYTES:
            body, rejected = _decode_large(text)
        else:
            hooks, rejected = _strict_hooks()
            body = json.loads(text, **hooks)
            if not _within_depth(raw):
                raise _TooDeep()
    except UnicodeError as exc:
        raise InvalidRequest("The body is not valid UTF-8.", errors=[{"path": "", "message": str(exc)}]) from None
    except json.JSONDecodeError as exc:
        raise InvalidRequest("The body is not valid JSON.", errors=[{"path": "", "message": str(exc)}]) from None
    except (RecursionError, _TooDeep):
        raise InvalidRequest("The body is nested too deeply.", errors=[{"path": "", "message": TOO_DEEP}]) from None
    if rejected:
        raise InvalidRequest(
            "The body is not strict JSON: no NaN, no infinities, numbers within range.",
            errors=list(_rejected_pointers(body)),
        )
    if _has_escaped_surrogate(raw) and _lone_surrogate(body):
        raise InvalidRequest(
            "The body is not valid UTF-8.", errors=[{"path": "", "message": "a string holds a lone surrogate"}]
        )
    return body


# Keywords that describe a value without constraining it.
ANNOTATIONS = frozenset({"description", "example", "title"})


def _items_within_bounds(items_validator):
    """Draft 4 `items` that skips an array already over its maxItems (that error says enough, and
    checking every element of a hostile array would cost seconds), and arrays whose items the
    schema only describes (a dataset's rows: checked by the row checker, not 100,000 no-op
    descents here)."""

    def items(validator, item_schema, instance, schema):
        if validator.is_type(instance, "array") and len(instance) > schema.get("maxItems", math.inf):
            return
        if isinstance(item_schema, dict) and item_schema.keys() <= ANNOTATIONS:
            return
        yield from items_validator(validator, item_schema, instance, schema)

    return items


def _max_items(validator, limit, instance, schema):
    """Draft 4 `maxItems` without quoting the array: its repr can be megabytes."""
    if validator.is_type(instance, "array") and len(instance) > limit:
        yield ValidationError(f"has {len(instance)} items, more than the maximum of {limit}")


def _tags(branch):
    """A oneOf branch's tags: its properties of one fixed value (`{"enum": ["kpi"]}`), as the
    members of an OpenAPI discriminated union have them."""
    properties = branch.get("properties", {}) if isinstance(branch, dict) else {}
    return {
        name: schema["enum"][0]
        for name, schema in properties.items()
        if isinstance(schema, dict) and len(schema.get("enum", ())) == 1
    }


def _one_of(one_of):
    """Draft 4 `oneOf`, with a failure told against the branch the body was meant for.

    jsonschema only says that a body "is not valid under any of the given schemas", at the
    oneOf's own place. When the body's tags (an absent one counts as null) select exactly one
    branch, that branch's own errors are reported instead, each at its pointer (`/layout/x`); a
    tag every branch has, with a value none of them takes, is named at its own pointer
    (`/card_type`). Connexion ignores OpenAPI's `discriminator`; the tags say the same here."""

    def validate(validator, branches, instance, schema):
        errors = list(one_of(validator, branches, instance, schema))
        if not errors:
            return
        if not validator.is_type(instance, "object"):
            if all(isinstance(branch, dict) and branch.get("type") == "object" for branch in branches):
                yield ValidationError(f"{_clip(repr(instance), 40)} is not of type 'object'")
            else:
                yield from errors
            return
        tags = [_tags(branch) for branch in branches]
        meant = [
            branch
            for branch, tagged in zip(branches, tags)
            if tagged and all(instance.get(name) == value for name, value in tagged.items())
        ]
        own = list(validator.descend(instance, meant[0])) if len(meant) == 1 else []
        if own:
            yield from own
            return
        for name in sorted(set.intersection(*(set(tagged) for tagged in tags)) if tags else ()):
            values = [tagged[name] for tagged in tags]
            if instance.get(name) not in values:
                if name not in instance:
                    yield ValidationError(f"{name!r} is a required property", path=[name])
                else:
                    named = [value for value in values if value is not None]
                    yield ValidationError(f"{instance[name]!r} is not one of {named!r}", path=[name])
                return
        yield from errors

    return validate


# Unknown and missing properties each at their own pointer (models/field_errors.py).
BodySchemaValidator = extend(
    field_errors.at_fields(Draft4RequestValidator),
    {
        "items": _items_within_bounds(Draft4RequestValidator.VALIDATORS["items"]),
        "maxItems": _max_items,
        "oneOf": _one_of(Draft4RequestValidator.VALIDATORS["oneOf"]),
    },
)

# A schema carrying this extension is a card type's config schema, bundled into the spec from
# card_schemas/ by scripts/bundle_card_schemas.py. The body check leaves such a value to the
# handler, which checks it against the card type's own JSON Schema (2020-12, the original of the
# copy) and then against the project's data, and answers any fault of either kind as one 422
# `invalid_card_config` (models/cards.py). The copy says the same in OpenAPI 3.0's words, whose
# errors would come a step earlier, vaguer (an `if`/`then` becomes an `anyOf`) and as a 400.
HANDLER_CHECKED = "x-card-type"


def _without_handler_checked(node):
    """A copy of a body schema in which every HANDLER_CHECKED schema accepts anything."""
    if isinstance(node, dict):
        if HANDLER_CHECKED in node:
            return {}
        return {key: _without_handler_checked(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_without_handler_checked(item) for item in node]
    return node


class BodyValidator(JSONRequestBodyValidator):
    """JSON bodies: strict JSON, every schema error with its JSON Pointer, large bodies checked
    in a worker thread, and the result handed to the handler so the body is parsed once."""

    # One validator per body schema of the spec (by identity; the schema is kept with it):
    # Connexion makes a body validator for every request.
    _compiled = {}

    @property
    def _validator(self):
        entry = self._compiled.get(id(self._schema))
        if entry is None or entry[0] is not self._schema:
            # `components` rides along for references that are all resolved already: left out.
            checked = _without_handler_checked({k: v for k, v in self._schema.items() if k != "components"})
            entry = (self._schema, BodySchemaValidator(checked, format_checker=Draft4Validator.FORMAT_CHECKER))
            self._compiled[id(self._schema)] = entry
        return entry[1]

    async def wrap_receive(self, receive, *, scope):
        raw = bytearray()
        more_body = True
        while more_body:
            message = await receive()
            raw += message.get("body", b"")
            more_body = message.get("more_body", False)
        if not raw:
            body = self._schema.get("default")
            if body is None and (self._required or not self._nullable):
                raise InvalidRequest("A request body is required.", errors=[{"path": "", "message": "required"}])
            body = json.loads(json.dumps(body))  # a fresh copy of the spec's default
        elif len(raw) <= INLINE_BODY_BYTES:
            body = self._check(bytes(raw))
        else:
            body = await run_in_threadpool(self._check_large, raw, _bearer_token(scope))  # no copy on the loop
        return _empty_receive(receive), {**scope, BODY_SCOPE_KEY: body}

    def _check_large(self, raw, token):
        """A large body is parsed only for a known caller: a made-up token is 401 before any
        parse (a small body is checked first, as the handler looks the token up)."""
        if token is not None:
            with db.connected():
                caller(token)
        return self._check(raw)

    def _check(self, raw):
        if len(raw) > INLINE_BODY_BYTES:
            with _large_body_work:  # its schema check builds no garbage either, and yields the GIL as often
                return self._parse_and_validate(raw)
        return self._parse_and_validate(raw)

    def _parse_and_validate(self, raw):
        body = parse_strict_json(raw)
        if not (body is None and self._nullable):
            try:
                self._validate(body)
            except InvalidRequest:
                release(body)
                raise
        return body

    def _validate(self, body):
        if body is None and not self._nullable:
            raise InvalidRequest("A request body is required.", errors=[{"path": "", "message": "required"}])
        errors = []
        for error in self._validator.iter_errors(body):
            errors.append(error)
            if len(errors) > 10 * MAX_ERRORS:  # enough to name; counting them all would cost
                break
        if errors:
            errors.sort(key=lambda e: (list(map(str, e.absolute_path)), e.message))
            raise InvalidRequest(
                "The request body does not match the schema.",
                errors=[{"path": _pointer(e.absolute_path), "message": e.message} for e in errors],
            )
        return body


def _empty_receive(receive):
    """The request's channel with its body already consumed: the handler gets the parsed body."""
    sent = False

    async def receive_():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await receive()

    return receive_


class QueryValidator(ParameterValidator):
    """Path, query and header parameters: every error named by location and name."""

    LOCATIONS = ("path", "query", "header", "cookie")
    # One compiled validator per parameter of the spec (by identity; the parameter is kept with
    # it): Connexion copies the parameter and compiles a validator for it on every request.
    _compiled = {}

    def __init__(self, parameters, *args, **kwargs):
        # Each parameter once: Connexion appends a path's parameters to the list of an operation
        # that declares its own each time it builds the operation (once per middleware), so
        # `/dashboards/-1` would name `/path/dashboard_id` six times.
        unique = {(parameter["in"], parameter["name"]): parameter for parameter in parameters}
        super().__init__(list(unique.values()), *args, **kwargs)

    def validate_parameter(self, parameter_type, value, param, param_name=None):
        if value is None or (is_nullable(param) and is_null(value)):
            return super().validate_parameter(parameter_type, value, param, param_name)
        entry = self._compiled.get(id(param))
        if entry is None or entry[0] is not param:
            entry = (param, Draft4Validator(param.get("schema", param), format_checker=Draft4Validator.FORMAT_CHECKER))
            self._compiled[id(param)] = entry
        try:
            entry[1].validate(value)
        except ValidationError as exception:
            return str(exception)
        return None

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


class AuthoredSpecAPI(SwaggerUIAPI):
    """The spec as written in openapi.yaml, `$ref`s and all, at `/api/openapi.json` and
    `/api/openapi.yaml`, which Swagger UI loads.

    Connexion serves the copy it routes and validates with, every `$ref` inlined: ten times the
    size, and a generator such as openapi-typescript then names no schema. Connexion still routes
    and validates from that copy; only the served document changes. `servers` is adjusted as
    Connexion adjusts it (`Specification.with_base_path`): the path the API is mounted at under
    the request's root path, `/api` as written, or `/prefix/api` behind a proxy that strips
    `/prefix`. Each answer is encoded once per root path, by Connexion's own endpoint (it copied,
    checked and encoded the spec on every request: 0.2 s of the event loop for the YAML).
    """

    MAX_ROOT_PATHS = 8  # a server has one root path; the cache stays small whatever it is given

    def __init__(self, *args, **kwargs):
        self._answers = {}
        super().__init__(*args, **kwargs)

    def _spec_for_prefix(self, request):
        return self.specification.with_base_path(self._base_path_for_prefix(request)).raw

    async def _get_openapi_json(self, request):
        return await self._once(request, super()._get_openapi_json)

    async def _get_openapi_yaml(self, request):
        return await self._once(request, super()._get_openapi_yaml)

    async def _once(self, request, endpoint):
        key = (endpoint.__name__, self._base_path_for_prefix(request))
        answer = self._answers.get(key)
        if answer is None:
            served = await endpoint(request)
            answer = (served.body, served.status_code, served.media_type)
            if len(self._answers) < 2 * self.MAX_ROOT_PATHS:
                self._answers[key] = answer
        body, status, media_type = answer
        return Response(body, status_code=status, media_type=media_type)


class AuthoredSpecUI(SwaggerUIMiddleware):
    """Connexion's Swagger UI middleware, serving the spec with AuthoredSpecAPI."""

    def add_api(self, specification, base_path=None, arguments=None, **kwargs):
        api = AuthoredSpecAPI(
            specification, base_path=base_path, arguments=arguments, default=self.default_fn, **kwargs
        )
        self.router.mount(api.base_path, app=api.router)


# Connexion's middleware stack with AuthoredSpecUI in place of SwaggerUIMiddleware. Nothing may
# then be added at MiddlewarePosition.BEFORE_SWAGGER, which names Connexion's own class.
MIDDLEWARES = [
    AuthoredSpecUI if middleware is SwaggerUIMiddleware else middleware
    for middleware in ConnexionMiddleware.default_middlewares
]


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
            raise InvalidRequest(
                "Content-Length is not a number.",
                errors=[{"path": "/header/Content-Length", "message": "not a number"}],
            )
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


class SecurityHeaders:
    """Headers every answer carries: no MIME sniffing; errors never cached; an authenticated
    answer only in the caller's own cache, revalidated by its ETag. A handler's own
    Cache-Control (the public render's) stands, unless the answer is an error."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        authenticated = any(name == b"authorization" for name, _ in scope["headers"])

        async def send_(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if message["status"] >= 400:
                    headers["Cache-Control"] = "no-store"
                elif authenticated and "cache-control" not in headers:
                    headers["Cache-Control"] = "private, no-cache"
            await send(message)

        await self.app(scope, receive, send_)


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered as a problem document."""

    def preflight_response(self, request_headers):
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        refused = CorsRefused(response.body.decode("utf-8", "replace"))
        answer = problem(refused.status, refused.code, refused.title, refused.detail)
        return Response(answer.body, status_code=answer.status_code, media_type=answer.mimetype)
