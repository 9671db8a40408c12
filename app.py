"""The HTTP application: the spec, its handlers over the store, and one mapping of errors."""

import pathlib

import connexion
from connexion.exceptions import ProblemException
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.utils import get_function_from_name
from starlette.exceptions import HTTPException

import framework
import handlers  # noqa: F401  (first: it quiets a notice Connexion prints at import)
import telemetry
from config import Settings
from models import dataset_tables, db, render
from models.errors import DomainError

ROOT = pathlib.Path(__file__).resolve().parent


def create_app(settings=None):
    settings = settings or Settings.from_env()
    db.bind(settings.database_url, lock_timeout_ms=settings.store_lock_timeout_ms, create=False)
    render.configure(
        workers=settings.render_workers, budget_ms=settings.card_time_budget_ms, cache_bytes=settings.render_cache_bytes
    )
    dataset_tables.configure(max_cell_chars=settings.max_cell_chars)
    app = connexion.AsyncApp(__name__, specification_dir=ROOT, middlewares=list(framework.MIDDLEWARES))
    app.add_api(
        "openapi.yaml",
        resolver=telemetry.StorelessResolver(
            framework.StoreResolver(get_function_from_name, framework.Lanes(settings.request_threads))
        ),
        strict_validation=True,
        uri_parser_class=framework.QueryParser,
        validate_responses=settings.validate_responses,
        validator_map={
            "body": {"application/json": framework.BodyValidator, "*/*json": framework.BodyValidator},
            "parameter": framework.QueryValidator,
        },
        swagger_ui_options=SwaggerUIOptions(swagger_ui=True, spec_path="/openapi.json"),
    )
    app.add_error_handler(DomainError, framework.domain_error)
    framework_error = framework.framework_error_handler(framework.SpecPaths(ROOT / "openapi.yaml"))
    app.add_error_handler(ProblemException, framework_error)
    app.add_error_handler(HTTPException, framework_error)
    app.add_error_handler(Exception, framework.internal_error)
    telemetry.install(app, settings)
    app.add_middleware(
        framework.BodyLimit, position=MiddlewarePosition.BEFORE_SECURITY, max_bytes=settings.max_body_bytes
    )
    # Inserted before the exception layer first, so it stays outermost: it sees every answer,
    # errors and CORS preflights included.
    app.add_middleware(framework.SecurityHeaders, position=MiddlewarePosition.BEFORE_EXCEPTION)
    if settings.cors_origins:
        app.add_middleware(
            framework.ProblemCORSMiddleware,
            position=MiddlewarePosition.BEFORE_EXCEPTION,
            allow_origins=list(settings.cors_origins),
            allow_methods=["*"],
            allow_headers=list(settings.cors_allow_headers),
            expose_headers=["ETag", "Location", "X-Request-ID"],
        )
    return app
