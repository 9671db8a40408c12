"""Schema creation and upgrades: `init` applies every migration newer than the recorded version.

Migration 1 creates the tables as the models define them today. A later change to a model adds a
migration that alters existing databases (playhouse.migrate) and is written so that it is a no-op
where migration 1 already created the new shape.
"""

import peewee

from models.base import BaseModel, utcnow
from models.content import Card, Collection, Dashboard, Page, Share
from models.datasets import Dataset
from models.db import database, is_sqlite
from models.errors import SchemaOutdated, StoreUnavailable
from models.identity import ApiToken, Group, GroupMember, Org, Project, ProjectPermission, User

TABLES = [
    Org, Project, User, Group, GroupMember, ProjectPermission, ApiToken,
    Collection, Dashboard, Page, Card, Share, Dataset,
]


class SchemaVersion(BaseModel):
    version = peewee.IntegerField(primary_key=True)
    applied_at = peewee.DateTimeField(default=utcnow)


def _create_tables():
    database.create_tables(TABLES, safe=True)


MIGRATIONS = [
    (1, "create the tables", _create_tables),
]
LATEST = MIGRATIONS[-1][0]


def current_version():
    if not database.table_exists(SchemaVersion._meta.table_name):
        return 0
    return SchemaVersion.select(peewee.fn.MAX(SchemaVersion.version)).scalar() or 0


def upgrade(log=lambda message: None):
    """Bring the schema to LATEST; safe to run again. Returns the versions applied."""
    with database.connection_context():
        database.create_tables([SchemaVersion], safe=True)
        applied = []
        for version, description, step in MIGRATIONS:
            if version <= current_version():
                continue
            with database.atomic():
                step()
                SchemaVersion.create(version=version)
            log(f"schema: applied {version} ({description})")
            applied.append(version)
        return applied


def truncate_all():
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


def ready_version():
    """The store's schema version when the store answers and is current; the service is not
    ready otherwise (StoreUnavailable, SchemaOutdated)."""
    try:
        with database.connection_context():
            version = current_version()
    except (peewee.PeeweeException, ValueError) as exc:  # the pool's "too many connections" is a ValueError
        raise StoreUnavailable(f"The store does not answer: {type(exc).__name__}.") from exc
    if version != LATEST:
        raise SchemaOutdated(f"The store's schema is at version {version}, this code needs {LATEST}; "
                             "run `dashboards-api init`.")
    return version
