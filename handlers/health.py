"""Liveness, readiness and metrics: what whoever runs the service probes and scrapes."""

from starlette.concurrency import run_in_threadpool

import telemetry
from handlers import serializers
from handlers.common import Answer
from models import schema

metrics_token_info = telemetry.metrics_token_info
# Named, because each operation also documents problem+json answers.
JSON = {"Content-Type": "application/json"}


async def get_health() -> Answer:
    return serializers.health(), 200, JSON


async def get_ready() -> Answer:
    return serializers.readiness(await run_in_threadpool(schema.ready_version)), 200, JSON


async def get_metrics(user: str | None = None) -> Answer:
    return telemetry.exposition(user), 200, {"Content-Type": "text/plain"}
