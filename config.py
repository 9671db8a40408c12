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
    card_time_budget_ms: int = 5000
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
            "card_time_budget_ms": int(environ.get("CARD_TIME_BUDGET_MS", cls.card_time_budget_ms)),
            "metrics_token": environ.get("METRICS_TOKEN", cls.metrics_token),
            "shutdown_timeout_s": int(environ.get("SHUTDOWN_TIMEOUT_S", cls.shutdown_timeout_s)),
        }
        values.update(overrides)
        return cls(**values)
