"""`dashboards-api`: schema, users, tokens, grants, demo data and the server.

Commands that create identities print exactly one JSON line, for scripts to read.
"""

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time

import peewee

from config import Settings
from models import dataset_tables, db, schema
from models.datasets import COLUMN_TYPES
from models.db import database
from models.errors import DomainError
from models.identity import (
    PERMISSIONS,
    ROLES,
    TOKEN_LIFETIME_MAX,
    TOKEN_LIFETIME_MIN,
    ApiToken,
    Group,
    Org,
    Project,
    ProjectPermission,
    User,
)

# uvicorn's `http` setting for `serve`, by import path: each worker process imports it itself.
HTTP_PROTOCOL = "http_protocol:ProblemHttpToolsProtocol"


def _store():
    settings = Settings.from_env()
    db.bind(settings.database_url)
    dataset_tables.configure(max_cell_chars=settings.max_cell_chars)


def _print_identity(user, project, token):
    print(json.dumps({"user_id": user.id, "org": project.org.name, "project": project.name, "token": token}))


def _fail(message, status=2):
    print(f"dashboards-api: {message}", file=sys.stderr)
    raise SystemExit(status)


def _project(org, name):
    """The project `name` of `org` (a row or an id), or exit with a message."""
    project = Project.get_or_none((Project.org == org) & (Project.name == name))
    return project or _fail(f"no project {name!r} in that org")


def _existing(org_name, project_name):
    org = Org.get_or_none(Org.name == org_name) or _fail(f"no org {org_name!r}")
    return org, _project(org, project_name)


def org_and_project(org_name, project_name):
    """The org and project of these names, created when missing (every org has `default`)."""
    org, _ = Org.get_or_create(name=org_name)
    Project.get_or_create(org=org, name="default")
    project, _ = Project.get_or_create(org=org, name=project_name)
    return org, project


def cmd_init(args):
    _store()
    applied = schema.upgrade(log=lambda line: print(line, file=sys.stderr))
    print(json.dumps({"schema_version": schema.LATEST, "applied": applied}))


def cmd_create_user(args):
    _store()
    with database.connection_context(), database.atomic():
        org, project = org_and_project(args.org, args.project)
        if User.get_or_none(User.email == args.email):
            _fail(f"a user with email {args.email} exists; use create-token")
        user = User.create(org=org, email=args.email, name=args.name or args.email.split("@")[0], role=args.role)
        _, token = ApiToken.issue(user, project)
    _print_identity(user, project, token)


def cmd_create_token(args):
    _store()
    with database.connection_context(), database.atomic():
        user = User.get_or_none(User.email == args.email) or _fail(f"no user with email {args.email}")
        project = _project(user.org_id, args.project)
        _, token = ApiToken.issue(user, project, args.expires_in)
    _print_identity(user, project, token)


def cmd_grant(args):
    _store()
    with database.connection_context(), database.atomic():
        org, project = _existing(args.org, args.project)
        subject = {}
        if args.email:
            user = User.get_or_none((User.email == args.email) & (User.org == org))
            subject["user"] = user or _fail(f"no user {args.email} in org {args.org!r}")
        else:
            group = Group.get_or_none((Group.name == args.group) & (Group.org == org))
            subject["group"] = group or _fail(f"no group {args.group!r} in org {args.org!r}")
        ProjectPermission.get_or_create(project=project, permission=args.permission, **subject)
    print(
        json.dumps(
            {
                "org": org.name,
                "project": project.name,
                "permission": args.permission,
                **{kind: args.email or args.group for kind in subject},
            }
        )
    )


def _lifetime(text):
    """--expires-in: whole seconds within the bounds the API has too."""
    if not text.isdigit() or not TOKEN_LIFETIME_MIN <= int(text) <= TOKEN_LIFETIME_MAX:
        raise argparse.ArgumentTypeError(f"expected whole seconds from {TOKEN_LIFETIME_MIN} to {TOKEN_LIFETIME_MAX}")
    return int(text)


def _columns(spec):
    """`name:type,name:type` from --columns."""
    columns = []
    for item in spec.split(","):
        name, _, kind = item.rpartition(":")
        if not name or kind not in COLUMN_TYPES:
            _fail(f"--columns wants name:type pairs with type in {', '.join(COLUMN_TYPES)}; got {item!r}")
        columns.append({"name": name, "type": kind})
    return columns


class Progress:
    """One status line on stderr, rewritten as batches land."""

    def __init__(self):
        self.started = time.perf_counter()
        self.shown = False

    def __call__(self, rows):
        self.shown = True
        rate = rows / max(time.perf_counter() - self.started, 1e-9)
        print(f"\rimported {rows:,} rows ({rate:,.0f} rows/s)", end="", file=sys.stderr, flush=True)

    def end(self):
        """End the status line, so that what follows (an error, say) starts a line of its own."""
        if self.shown:
            print(file=sys.stderr)


def cmd_import_csv(args):
    from models.dataset_tables import import_csv

    _store()
    columns = _columns(args.columns) if args.columns else None
    progress = Progress()
    with database.connection_context():
        _, project = _existing(args.org, args.project)
        try:
            dataset = import_csv(
                project, args.name, args.file, columns=columns, progress=progress, description=args.description
            )
        finally:
            progress.end()
    print(
        json.dumps(
            {
                "dataset_id": dataset.id,
                "name": dataset.name,
                "row_count": dataset.row_count,
                "version": dataset.version,
                "columns": [{"name": c["name"], "type": c["type"]} for c in dataset.columns],
            }
        )
    )


def cmd_demo(args):
    from models.demo import load_demo

    _store()
    schema.upgrade()
    with database.connection_context(), database.atomic():
        user, project, token = load_demo()
    _print_identity(user, project, token)


def _check_store(settings):
    """Refuse to serve, with one line, a store that is missing, unreachable, or not prepared by
    `init` for this code: every request would fail, and a missing SQLite file would not be made."""
    path = db.sqlite_path(settings.database_url)
    if path not in (None, ":memory:") and not os.path.exists(path):
        _fail(f"no store at {path}; run `dashboards-api init` first")
    store = db.bind(settings.database_url, lock_timeout_ms=settings.store_lock_timeout_ms, create=False)
    try:
        with store.connection_context():
            version = schema.current_version()
    except peewee.DatabaseError as exc:
        _fail(f"cannot open the store: {db.first_line(exc)}")
    finally:
        store.close_all() if hasattr(store, "close_all") else store.close()
    if version < schema.LATEST:
        state = f"is at schema version {version}" if version else "has no schema"
        _fail(f"the store {state}, this code needs version {schema.LATEST}; run `dashboards-api init` first")


@contextlib.contextmanager
def _metrics_directory(workers):
    """Where N worker processes keep their metrics for any one of them to sum: a fresh directory
    for this server's lifetime, unless PROMETHEUS_MULTIPROC_DIR names one already."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") == "":
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]  # set but empty: prometheus_client would write to the cwd
    if workers <= 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="dashboards-api-metrics-") as directory:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory  # inherited by the workers uvicorn starts
        try:
            yield
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]


# How long an idle keep-alive connection stays open: longer than the idle timeout of the proxies
# put in front of a service (60 s for nginx's upstream keepalive and cloud load balancers), so
# that a proxy never sends a request down a connection the server is just closing, which the
# client sees as a 502 or "socket hang up". With uvicorn's 5 s, a proxy that held a request about
# that long (Prism validating a first request against the spec) met exactly that.
KEEP_ALIVE_S = 75


def cmd_serve(args):
    import uvicorn

    settings = Settings.from_env()
    _check_store(settings)
    base = f"http://{args.host}:{args.port}"
    print(f"Dashboards API at {base}/api  (docs: {base}/api/ui/, spec: {base}/api/openapi.json)", flush=True)
    with _metrics_directory(args.workers):
        # The app logs one JSON line per request itself, so uvicorn's access log is off. On
        # SIGTERM uvicorn stops accepting and lets requests in flight finish, for at most the
        # shutdown timeout. Idle connections are kept KEEP_ALIVE_S (uvicorn's default is 5 s). The
        # HTTP protocol is httptools' (the one uvicorn prefers), refusing what it cannot read with
        # problem documents: http_protocol.py.
        uvicorn.run(
            "app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            lifespan="on",
            log_level=args.log_level,
            access_log=False,
            timeout_graceful_shutdown=settings.shutdown_timeout_s,
            server_header=False,
            timeout_keep_alive=KEEP_ALIVE_S,
            http=HTTP_PROTOCOL,
        )


def parser():
    main = argparse.ArgumentParser(prog="dashboards-api", description=__doc__.splitlines()[0])
    commands = main.add_subparsers(dest="command", required=True)

    commands.add_parser("init", help="create or upgrade the schema (safe to run again)").set_defaults(run=cmd_init)

    create_user = commands.add_parser("create-user", help="create a user (and its org and project) with a token")
    create_user.add_argument("--org", required=True)
    create_user.add_argument("--project", required=True)
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--name")
    create_user.add_argument("--role", required=True, choices=ROLES)
    create_user.set_defaults(run=cmd_create_user)

    create_token = commands.add_parser("create-token", help="a new token for a user in one project")
    create_token.add_argument("--email", required=True)
    create_token.add_argument("--project", required=True)
    create_token.add_argument(
        "--expires-in",
        type=_lifetime,
        metavar="SECONDS",
        help=f"the token lives {TOKEN_LIFETIME_MIN} to {TOKEN_LIFETIME_MAX} seconds (default: until revoked)",
    )
    create_token.set_defaults(run=cmd_create_token)

    grant = commands.add_parser("grant", help="grant a project permission to a user or a group")
    who = grant.add_mutually_exclusive_group(required=True)
    who.add_argument("--email")
    who.add_argument("--group")
    grant.add_argument("--org", required=True)
    grant.add_argument("--project", required=True)
    grant.add_argument("--permission", required=True, choices=PERMISSIONS)
    grant.set_defaults(run=cmd_grant)

    serve = commands.add_parser("serve", help="serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(run=cmd_serve)

    import_csv = commands.add_parser("import-csv", help="create a dataset from a CSV file, streaming it")
    import_csv.add_argument("--org", required=True)
    import_csv.add_argument("--project", required=True)
    import_csv.add_argument("--name", required=True)
    import_csv.add_argument("--description", default="")
    import_csv.add_argument("--columns", help="name:type,... (default: inferred from the first rows)")
    import_csv.add_argument("file")
    import_csv.set_defaults(run=cmd_import_csv)

    commands.add_parser("demo", help="load the demo org and print a token (safe to run again)").set_defaults(
        run=cmd_demo
    )
    return main


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except DomainError as exc:
        # One line, so that a script reading stderr sees one error per failed command.
        where = "; ".join(f"{error['path'] or '/'}: {error['message']}" for error in exc.errors or [])
        _fail(f"{exc.code}: {exc.detail}" + (f" ({where})" if where else ""), status=1)
    except OSError as exc:  # a missing file, a directory, a file that cannot be read
        _fail(f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc), status=1)


if __name__ == "__main__":
    main()
