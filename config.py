"""Settings, read once from the environment into one typed object passed to create_app."""

import os
from dataclasses import dataclass, field


def _csv(value):
    return tuple(item.strip() for item in value.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///dashboards.db"
    max_body_bytes: int = 10 * 1024 * 1024
    validate_responses: bool = False
    cors_origins: tuple = field(default_factory=tuple)
    render_workers: int = 8
    request_threads: int = 2
    card_time_budget_ms: int = 5000
    cors_allow_headers: tuple = ("Authorization", "Content-Type", "If-Match", "If-None-Match")
    store_lock_timeout_ms: int = 5000
    render_cache_bytes: int = 64 * 1024 * 1024
    max_cell_chars: int = 131_072
    metrics_token: str = ""
    shutdown_timeout_s: int = 30

    @classmethod
    def from_env(cls, environ=os.environ, **overrides):
        values = {
            "database_url": environ.get("DATABASE_URL", cls.database_url),
            "max_body_bytes": int(environ.get("MAX_BODY_BYTES", cls.max_body_bytes)),
            "validate_responses": environ.get("VALIDATE_RESPONSES", "") == "1",
            "cors_origins": _csv(environ.get("CORS_ORIGINS", "")),
            "render_workers": int(environ.get("RENDER_WORKERS", cls.render_workers)),
            "request_threads": int(environ.get("REQUEST_THREADS", cls.request_threads)),
            "card_time_budget_ms": int(environ.get("CARD_TIME_BUDGET_MS", cls.card_time_budget_ms)),
            "cors_allow_headers": _csv(environ.get("CORS_ALLOW_HEADERS", ",".join(cls.cors_allow_headers))),
            "store_lock_timeout_ms": int(environ.get("STORE_LOCK_TIMEOUT_MS", cls.store_lock_timeout_ms)),
            "render_cache_bytes": int(environ.get("RENDER_CACHE_BYTES", cls.render_cache_bytes)),
            "max_cell_chars": int(environ.get("MAX_CELL_CHARS", cls.max_cell_chars)),
            "metrics_token": environ.get("METRICS_TOKEN", cls.metrics_token),
            "shutdown_timeout_s": int(environ.get("SHUTDOWN_TIMEOUT_S", cls.shutdown_timeout_s)),
        }
        values.update(overrides)
        return cls(**values)
