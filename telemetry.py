"""What an operator sees: one JSON log line per request, with its request id, and Prometheus metrics.

Every metric of the service is defined here, labelled only by bounded values (the spec's
operationIds, status codes, fixed names), never by a raw path or an id. Under `serve --workers N`
each process writes its values to files in PROMETHEUS_MULTIPROC_DIR, and whichever process
answers `GET /api/metrics` sums them all.
"""

import atexit
import hmac
import json
import logging
import os
import re
import sys
import time
import uuid
from contextlib import contextmanager

from connexion.middleware import MiddlewarePosition
from connexion.utils import get_function_from_name
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

from framework import HandlerResolver
from models import db
from models.errors import Unauthenticated

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UNROUTED = "unrouted"  # the operation label of requests no operation answers (404s, the docs)

REQUESTS = Counter("dashboards_api_requests", "Requests answered, by operation and status.", ["operation", "status"])
LATENCY = Histogram(
    "dashboards_api_request_duration_seconds",
    "Time to answer a request, by operation and status.",
    ["operation", "status"],
    buckets=LATENCY_BUCKETS,
)
IN_FLIGHT = Gauge("dashboards_api_requests_in_flight", "Requests being answered now.", multiprocess_mode="livesum")
RENDER_CACHE = Counter(
    "dashboards_api_render_cache",
    "Answer cache lookups: whole render answers (page), "
    "card query results (query) and dashboards (dashboard), by result (hit or miss).",
    ["cache", "result"],
)
RENDER_CACHE_BYTES = Gauge(
    "dashboards_api_render_cache_bytes",
    "Bytes the render cache (query results and whole answers, one bound: RENDER_CACHE_BYTES) holds.",
    multiprocess_mode="livesum",
)
CARD_QUERIES = Histogram(
    "dashboards_api_card_query_duration_seconds",
    "Card data queries run in the store, by outcome (ok, timeout, failed).",
    ["outcome"],
    buckets=LATENCY_BUCKETS + (30,),
)
STORE_CONNECTIONS = Gauge(
    "dashboards_api_store_connections",
    "The PostgreSQL pool's connections, by state (in_use, available).",
    ["state"],
    multiprocess_mode="livesum",
)

request_log = logging.getLogger("dashboards_api.requests")
_metrics_token = ""


class JsonLines(logging.Formatter):
    """A record as one JSON object: its `fields` (see log_request), or its message."""

    def format(self, record):
        line = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname.lower()}
        line.update(getattr(record, "fields", None) or {"message": record.getMessage()})
        return json.dumps(line, separators=(",", ":"), default=str)


def install(app, settings):
    """Add the request middleware and the log handler to an app (called once by create_app)."""
    global _metrics_token
    _metrics_token = settings.metrics_token
    if not any(isinstance(h.formatter, JsonLines) for h in request_log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLines())
        request_log.addHandler(handler)
        request_log.setLevel(logging.INFO)
        request_log.propagate = False
    if os.environ.get(MULTIPROC_ENV):
        # A stopped worker's live gauges (in-flight requests, pool, caches) must stop counting.
        atexit.register(multiprocess.mark_process_dead, os.getpid())
    # Outside the error mapping, so that it sees the final status of every answer, errors included.
    app.add_middleware(RequestTelemetry, position=MiddlewarePosition.BEFORE_EXCEPTION)


class StorelessResolver(HandlerResolver):
    """The operations of `handlers.health` run as written; every other one through `store`.

    Liveness must not depend on the store, readiness reports the store's failure itself (503, not
    the 500 a failed connect would give inside the store wrapper), and metrics are text.
    """

    MODULE = "handlers.health"

    def __init__(self, store):
        super().__init__(get_function_from_name)
        self.store = store

    def resolve(self, operation):
        if self.handler(operation).__module__ == self.MODULE:
            return super().resolve(operation)
        return self.store.resolve(operation)


class RequestTelemetry:
    """Gives every request an id (its valid `X-Request-ID`, or a new one), echoes it, and records
    the answer: one log line, the request counter and the latency histogram."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        sent = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = sent if REQUEST_ID.match(sent) else uuid.uuid4().hex
        # Connexion's router works on a copy of the scope but writes the operation and the caller
        # into this same `extensions` dict, which is how they are known here afterwards.
        extensions = scope.setdefault("extensions", {})
        status = 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode("latin-1"))],
                }
            await send(message)

        IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            IN_FLIGHT.dec()
            duration = time.perf_counter() - started
            operation = extensions.get("connexion_routing", {}).get("operation_id") or UNROUTED
            caller = extensions.get("connexion_context", {}).get("user")
            _observe_pool()
            # Never the query string in the log: it carries parameter values (render filters, searches).
            record(
                request_id,
                operation,
                scope["method"],
                scope["path"],
                status,
                duration,
                getattr(caller, "user_id", None),
            )


def record(request_id, operation, method, path, status, duration, user_id=None):
    """One answered request: the request counter, the latency histogram and the log line."""
    REQUESTS.labels(operation, str(status)).inc()
    LATENCY.labels(operation, str(status)).observe(duration)
    log_request(
        {
            "request_id": request_id,
            "operation": operation,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(duration * 1000, 2),
            "user_id": user_id,
        }
    )


def log_request(fields):
    request_log.info("request", extra={"fields": fields})


def _observe_pool():
    pool = db.database.obj
    if hasattr(pool, "_in_use"):  # playhouse.pool's databases: a served store (the command line's SQLite is not pooled)
        STORE_CONNECTIONS.labels("in_use").set(len(pool._in_use))
        STORE_CONNECTIONS.labels("available").set(len(pool._connections))


def render_cache_lookup(cache, hit):
    RENDER_CACHE.labels(cache, "hit" if hit else "miss").inc()


def render_cache_bytes(size):
    RENDER_CACHE_BYTES.set(size)


@contextmanager
def card_query(timeout_error):
    """Times one card query; `timeout_error` is the exception that means it ran out of time."""
    started, outcome = time.perf_counter(), "failed"
    try:
        yield
        outcome = "ok"
    except timeout_error:
        outcome = "timeout"
        raise
    finally:
        CARD_QUERIES.labels(outcome).observe(time.perf_counter() - started)


def metrics_token_info(token):
    """The metrics scheme's check: the configured METRICS_TOKEN, compared in constant time."""
    if _metrics_token and hmac.compare_digest(token.encode(), _metrics_token.encode()):
        return {"sub": "metrics"}
    return None


def exposition(caller):
    """The text exposition (format 0.0.4, which `text/plain` means to Prometheus) of every metric
    (of every worker), for the caller the scheme let in."""
    if _metrics_token and caller != "metrics":
        raise Unauthenticated("The metrics token is required.")
    registry = REGISTRY
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry).decode()
