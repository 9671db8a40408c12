"""Benchmark of the request path over real sockets: live servers driven by wrk, against two floors.

    python bench/bench_http.py [--database sqlite postgresql] [--duration 5] [--connections 8]

For each store, a fresh one (a SQLite file; a private PostgreSQL schema, dropped afterwards) is
seeded with an admin, a 20-card dashboard (text cards, as a page of notes) and 40 more
dashboards, and `dashboards-api serve` is started on a free loopback port (with --workers, once
every worker has started). wrk then drives, at --connections for --duration seconds each, after a
--warmup run of its own: GET one dashboard, the list of 25, a warm render of
the 20-card page, and a sequential PATCH of the dashboard's name (one connection, so its p50 is
a request's own latency). On PostgreSQL, GET one dashboard is also measured against
`serve --workers 2`. In the same run, the floors: a bare Starlette app serving the API's own
answer for that dashboard, pre-serialized, and one trivial Connexion operation (bench/floors.py);
every figure is printed with its ratio to the trivial Connexion operation, so what the API adds
over the framework is visible. The machine's other load shows in the figures: run it idle.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import db, schema  # noqa: E402
from models.content import Card, Dashboard, Page  # noqa: E402
from models.identity import ApiToken, Org, Project, User  # noqa: E402

GOALS = {  # req/s at least, or p50 ms at most (PATCH), per the service's performance goals
    "GET one dashboard (20 cards)": (">=", 1000),
    "list of 25 dashboards": (">=", 1000),
    "warm render, 20-card page": (">=", 800),
    "sequential PATCH name": ("p50<=", 3.0),
}
MARKDOWN = "## Note {}\nRevenue by region and month, as reported by finance; **updated daily**. " * 2


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Process:
    """A server process on a free port, waited for with a bounded poll and always stopped."""

    def __init__(self, command, env, probe_path, startup_s=90, ready_line=None, processes=1):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [part.replace("{port}", str(self.port)) for part in command]
        # stderr to a file, not a pipe: the request log lines would fill a pipe and stall the server.
        self.log = tempfile.TemporaryFile()
        env = {**{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}, **env}
        self.process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True
        )
        deadline = time.monotonic() + startup_s
        while True:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"{' '.join(command)} exited: {self.log.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{' '.join(command)} did not answer within {startup_s} s")
            try:
                if httpx.get(self.base + probe_path, timeout=2).status_code == 200 and self._all_up(
                    ready_line, processes
                ):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)

    def _all_up(self, ready_line, processes):
        """Whether every worker process has logged `ready_line`: the first one answers the probe
        while the others may still be starting, and connections opened then all go to it."""
        if ready_line is None:
            return True
        self.log.seek(0)
        return self.log.read().decode(errors="replace").count(ready_line) >= processes

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=20)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def api_server(database_url, workers=1):
    # At level info uvicorn logs each worker's "Application startup complete.", waited for.
    return Process(
        [sys.executable, "-m", "cli", "serve", "--port", "{port}", "--workers", str(workers), "--log-level", "info"],
        {"DATABASE_URL": database_url},
        "/api/health",
        ready_line="Application startup complete.",
        processes=workers,
    )


def uvicorn_server(factory, env):
    return Process(
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"floors:{factory}",
            "--factory",
            "--app-dir",
            str(ROOT / "bench"),
            "--port",
            "{port}",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env,
        "/api/ping" if factory == "connexion_app" else "/api/body",
    )


def wrk(url, args, token=None, connections=None, script=None):
    """(req/s, p50 ms, p99 ms) from wrk after a warm-up run of its own (--warmup seconds: caches,
    kept connections), refusing a run with any non-2xx answer."""
    connections = connections or args.connections
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", "--latency"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    if script:
        command += ["-s", script]
    if args.warmup:
        subprocess.run([*command, f"-d{args.warmup}s", url], capture_output=True, timeout=args.warmup + 60)
    out = subprocess.run(
        [*command, f"-d{args.duration}s", url], capture_output=True, text=True, timeout=args.duration + 60
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk met errors against {url}:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    # The latency distribution's own lines: "50%" alone would also match a "+/- Stdev" figure.
    return rate, _ms(re.search(r"\n\s*50%\s+(\S+)", out)[1]), _ms(re.search(r"\n\s*99%\s+(\S+)", out)[1])


def _ms(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def patch_script(folder, dashboard_id):
    path = folder / "patch.lua"
    path.write_text(
        'wrk.method = "PATCH"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        "local n = 0\n"
        "request = function()\n"
        "  n = n + 1\n"
        f'  return wrk.format(nil, "/api/dashboards/{dashboard_id}", nil, \'{{"name": "Bench \' .. n .. \'"}}\')\n'
        "end\n"
    )
    return str(path)


class Store:
    """A fresh store of one backend with the benchmark's data; the URL the servers use."""

    def __init__(self, backend, folder, postgres_url):
        self.backend, self.postgres_url, self.schema = backend, postgres_url, None
        if backend == "sqlite":
            self.url = f"sqlite:///{folder / 'bench.db'}"
        else:
            self.schema = f"bench_http_{os.getpid()}_{secrets.token_hex(4)}"
            admin = db.open_database(postgres_url)
            admin.execute_sql(f'CREATE SCHEMA "{self.schema}"')
            admin.close()
            sep = "&" if "?" in postgres_url else "?"
            self.url = f"{postgres_url}{sep}options={quote(f'-c search_path={self.schema}')}"
        database = db.bind(self.url)
        schema.upgrade()
        with database.connection_context(), database.atomic():
            self.dashboard_id, self.token = seed()
        database.close_all() if hasattr(database, "close_all") else database.close()

    def drop(self):
        if self.schema:
            admin = db.open_database(self.postgres_url)
            admin.execute_sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
            admin.close()


def seed():
    org = Org.create(name="bench")
    project = Project.create(org=org, name="default")
    user = User.create(org=org, email="bench@example.com", name="Bench", role="admin")
    for n in range(40):
        Dashboard.create_with_first_page(project=project, owner=user, name=f"Dashboard {n:02d}")
    dashboard = Dashboard.create_with_first_page(
        project=project, owner=user, name="Notes", description="Twenty text cards on one page."
    )
    page = Page.get(Page.dashboard == dashboard.id)
    for n in range(20):
        Card.create(
            dashboard=dashboard,
            page=page,
            card_type="text",
            config={"markdown": MARKDOWN.format(n, n)},
            x=(n % 2) * 12,
            y=(n // 2) * 4,
            w=12,
            h=4,
        )
    return dashboard.id, ApiToken.issue(user, project)[1]


def measure_store(store, args, folder, rows):
    api = "/api/dashboards"
    one, render = f"{api}/{store.dashboard_id}", f"{api}/{store.dashboard_id}/render"
    with api_server(store.url) as server:
        body = httpx.get(server.base + one, headers={"Authorization": f"Bearer {store.token}"}).content
        assert httpx.get(server.base + render, headers={"Authorization": f"Bearer {store.token}"}).status_code == 200
        cases = [
            ("GET one dashboard (20 cards)", server.base + one, {}),
            ("list of 25 dashboards", server.base + api + "?limit=25", {}),
            ("warm render, 20-card page", server.base + render, {}),
            (
                "sequential PATCH name",
                server.base + one,
                {"connections": 1, "script": patch_script(folder, store.dashboard_id)},
            ),
        ]
        for label, url, options in cases:
            rows.append((store.backend, label, *wrk(url, args, store.token, **options)))
    if store.backend == "postgresql" and args.workers_check:
        with api_server(store.url, workers=2) as server:
            rows.append(
                (store.backend, "GET one dashboard, serve --workers 2", *wrk(server.base + one, args, store.token))
            )
    return body


def report(rows, floor_rate):
    print(f"\n{'store':11s} {'case':40s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'x Connexion':>12s}  goal")
    for backend, label, rate, p50, p99 in rows:
        goal = GOALS.get(label)
        verdict = ""
        if goal:
            kind, target = goal
            met = p50 <= target if kind == "p50<=" else rate >= target
            wanted = f"p50 <= {target} ms" if kind == "p50<=" else f"{target} req/s"
            verdict = f"{'met' if met else 'MISSED'} ({wanted})"
        print(f"{backend:11s} {label:40s} {rate:9.0f} {p50:8.2f} {p99:8.2f} {rate / floor_rate:11.2f}x  {verdict}")
    one = {b: r for b, label, r, *_ in rows if label == "GET one dashboard (20 cards)"}
    two = next((r for b, label, r, *_ in rows if label.startswith("GET one dashboard, serve --workers 2")), None)
    if two and "postgresql" in one:
        ratio = two / one["postgresql"]
        print(
            f"\npostgresql: 2 processes / 1 for GET one dashboard: {two:.0f} / {one['postgresql']:.0f} req/s "
            f"= {ratio:.2f}x ({'met' if ratio >= 1.6 else 'MISSED'}: goal >= 1.6x)"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=1, help="seconds of wrk before each measured run")
    parser.add_argument(
        "--no-workers-check", dest="workers_check", action="store_false", help="skip serve --workers 2 on PostgreSQL"
    )
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("bench_http.py needs wrk (Debian: apt-get install wrk; `make bench` installs it)")

    rows, body = [], None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for backend in args.database:
            store = Store(backend, folder, args.postgres_url)
            try:
                body = measure_store(store, args, folder, rows)
            finally:
                store.drop()
        (folder / "body.json").write_bytes(body)
        with uvicorn_server("starlette_app", {"BENCH_BODY_FILE": str(folder / "body.json")}) as bare:
            rows.insert(
                0,
                ("floor", f"bare Starlette, same {len(body) / 1024:.1f} KB body", *wrk(bare.base + "/api/body", args)),
            )
        with uvicorn_server("connexion_app", {}) as trivial:
            rows.insert(1, ("floor", "trivial Connexion operation", *wrk(trivial.base + "/api/ping", args)))
    print(
        f"wrk, {args.connections} connections (PATCH: 1), {args.duration} s each; one server process "
        f"unless stated; {os.cpu_count()} cores"
    )
    report(rows, rows[1][2])
    if args.json:
        Path(args.json).write_text(
            json.dumps([dict(zip(("store", "case", "rps", "p50_ms", "p99_ms"), row)) for row in rows], indent=1)
        )


if __name__ == "__main__":
    main()
