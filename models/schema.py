"""Schema creation and upgrades: `init` applies every migration newer than the recorded version.

Migration 1 creates the tables as the models define them today. A later change to a model adds a
migration that alters existing databases (playhouse.migrate) and is written so that it is a no-op
where migration 1 already created the new shape.
"""

from collections.abc import Callable

import peewee
from playhouse.migrate import SchemaMigrator, migrate

from models.base import BaseModel, utcnow
from models.content import Card, Collection, Dashboard, Page, Share
from models.datasets import Dataset
from models.db import connected, database, is_sqlite
from models.errors import SchemaOutdated
from models.identity import ApiToken, Group, GroupMember, Org, Project, ProjectPermission, User

TABLES = [
    Org,
    Project,
    User,
    Group,
    GroupMember,
    ProjectPermission,
    ApiToken,
    Collection,
    Dashboard,
    Page,
    Card,
    Share,
    Dataset,
]


class SchemaVersion(BaseModel):
    version = peewee.IntegerField(primary_key=True)
    applied_at = peewee.DateTimeField(default=utcnow)


def _create_tables() -> None:
    database.create_tables(TABLES, safe=True)


def _add_token_expiry() -> None:
    """api_token.expires_at, on stores created before it existed (migration 1 creates it now)."""
    table = ApiToken._meta.table_name
    if "expires_at" not in {column.name for column in database.get_columns(table)}:
        migrate(SchemaMigrator.from_database(database).add_column(table, "expires_at", peewee.DateTimeField(null=True)))


MIGRATIONS: list[tuple[int, str, Callable[[], None]]] = [
    (1, "create the tables", _create_tables),
    (2, "tokens can expire (api_token.expires_at)", _add_token_expiry),
]
LATEST = MIGRATIONS[-1][0]


def current_version() -> int:
    if not database.table_exists(SchemaVersion._meta.table_name):
        return 0
    return SchemaVersion.select(peewee.fn.MAX(SchemaVersion.version)).scalar() or 0


def upgrade(log: Callable[[str], object] = lambda message: None) -> list[int]:
    """Bring the schema to LATEST; safe to run again. Returns the versions applied."""
    with database.connection_context():
        database.create_tables([SchemaVersion], safe=True)
        applied: list[int] = []
        for version, description, step in MIGRATIONS:
            if version <= current_version():
                continue
            with database.atomic():
                step()
                SchemaVersion.create(version=version)
            log(f"schema: applied {version} ({description})")
            applied.append(version)
        return applied


def truncate_all() -> None:
    """Empty every table and drop every dataset table, keeping the schema (tests only)."""
    for dataset in list(Dataset.select()):
        database.execute_sql(f'DROP TABLE IF EXISTS "{dataset.table_name}"')
    names = ", ".join(f'"{model._meta.table_name}"' for model in TABLES)
    if not is_sqlite():
        database.execute_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        return
    database.execute_sql("PRAGMA foreign_keys = OFF")
    with database.atomic():
        for model in TABLES:
            model.delete().execute()
    database.execute_sql("PRAGMA foreign_keys = ON")


def ready_version() -> int:
    """The store's schema version when the store answers and is current; the service is not
    ready otherwise (ServiceUnavailable, SchemaOutdated)."""
    with connected():
        version = current_version()
    if version != LATEST:
        raise SchemaOutdated(
            f"The store's schema is at version {version}, this code needs {LATEST}; run `dashboards-api init`."
        )
    return version
