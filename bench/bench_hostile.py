"""Benchmark of the service under hostile traffic, against a live server over real sockets.

    python bench/bench_hostile.py [--renders 2000] [--light 1500] [--cache-bytes 67108864]

Two figures, each measured in one run against one `dashboards-api serve` process on a fresh SQLite
store:

1. Head-of-line blocking. The p99 latency of `GET /api/me` (two clients, one request at a time
   each) on an idle server, then the same while a third client posts ~10 MB `rows` bodies back to
   back (100,000 rows as objects, a viewer's append: the body is read and validated in full, then
   refused with 403). Goal:
   the loaded p99 within 2x of the idle p99. The server's CPU time per large body is printed too
   (goal: under 1 s).
2. Memory. The server's resident memory after warming up, then after N anonymous renders of a
   public dashboard, each with a parameter value never used before, over a 10,000-row table card.
   Goal: the final resident size under the baseline plus the configured render cache bound
   (`RENDER_CACHE_BYTES`).
"""

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).with_name("dashboards-api"))
COLUMNS = [
    {"name": "day", "type": "date"},
    {"name": "category", "type": "string"},
    {"name": "amount", "type": "number"},
    {"name": "units", "type": "integer"},
    {"name": "paid", "type": "boolean"},
]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rows(count, seed=1):
    rng = random.Random(seed)
    return [
        [
            f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
            f"category-{rng.randrange(50)}",
            round(rng.uniform(0, 1000), 2),
            rng.randrange(100),
            rng.random() < 0.5,
        ]
        for _ in range(count)
    ]


class Server:
    """`dashboards-api serve` on a free port over `env`, stopped on exit."""

    def __init__(self, env, log_path):
        self.port = free_port()
        # The server logs a line per request: to a file, never to a pipe nobody drains.
        self.log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [CLI, "serve", "--port", str(self.port), "--log-level", "warning"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited: {Path(log_path).read_text()[-2000:]}")
            try:
                status, _ = request(self.port, "GET", "/api/openapi.json")
                if status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("the server did not start within 60 s")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()

    def _proc(self, name):
        return Path(f"/proc/{self.process.pid}/{name}").read_text()

    def rss_mb(self):
        line = next(line for line in self._proc("status").splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    def cpu_seconds(self):
        fields = self._proc("stat").rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def request(port, method, path, body=None, token=None, connection=None, content_type="application/json"):
    """(status, body bytes) of one request; reuses `connection` when given."""
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        headers["Content-Type"] = content_type
        body = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if connection is None:
        conn.close()
    return response.status, data


def api(port, method, path, token, body=None, expect=(200, 201)):
    status, data = request(port, method, "/api" + path, body, token)
    if status not in expect:
        raise SystemExit(f"{method} {path}: {status} {data[:500]!r}")
    return json.loads(data) if data else None


def seed(port, token):
    """A dataset of 10,000 rows and a public dashboard whose table card shows rows over a parameter."""
    dataset = api(port, "POST", "/datasets", token, {"name": "hostile", "columns": COLUMNS, "rows": rows(10_000)})
    dashboard = api(
        port,
        "POST",
        "/dashboards",
        token,
        {"name": "Public table", "parameters": [{"name": "min_amount", "type": "number", "default": 0}]},
    )
    api(
        port,
        "POST",
        f"/dashboards/{dashboard['id']}/cards",
        token,
        {
            "card_type": "table",
            "config": {
                "dataset_id": dataset["id"],
                "columns": [c["name"] for c in COLUMNS],
                "limit": 10_000,
                "filters": [{"column": "amount", "op": "gte", "value": {"param": "min_amount"}}],
            },
        },
    )
    public = api(port, "PATCH", f"/dashboards/{dashboard['id']}", token, {"default_audience": "public"})
    return dataset["id"], public["public_slug"]


def latencies(port, token, count, stop=None):
    """Seconds of each of `count` sequential GET /api/me on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    spent = []
    for _ in range(count):
        start = time.perf_counter()
        status, _ = request(port, "GET", "/api/me", token=token, connection=conn)
        spent.append(time.perf_counter() - start)
        assert status == 200, status
    conn.close()
    return spent


def light_load(port, token, count, clients=2):
    results = [[] for _ in range(clients)]
    threads = [
        threading.Thread(target=lambda i=i: results[i].extend(latencies(port, token, count // clients)))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [t for part in results for t in part]


def p99(values):
    return statistics.quantiles(values, n=100)[98]


def head_of_line(server, viewer, dataset_id, args):
    names = [column["name"] for column in COLUMNS]
    big = json.dumps({"rows": [dict(zip(names, row)) for row in rows(args.big_rows, seed=2)]}).encode()
    path = f"/api/datasets/{dataset_id}/rows"
    # CPU per large body, alone: the server's own CPU time over a few sequential posts.
    before = server.cpu_seconds()
    for _ in range(3):
        status, _ = request(server.port, "POST", path, big, viewer)
        assert status == 403, status
    per_body = (server.cpu_seconds() - before) / 3

    light_load(server.port, viewer, 200)  # warm-up
    idle = light_load(server.port, viewer, args.light)
    stop, posted = threading.Event(), [0]

    def flood():
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        while not stop.is_set():
            status, _ = request(server.port, "POST", path, big, viewer, connection=conn)
            assert status == 403, status
            posted[0] += 1
        conn.close()

    flooder = threading.Thread(target=flood)
    flooder.start()
    time.sleep(0.5)
    loaded = light_load(server.port, viewer, args.light)
    stop.set()
    flooder.join()
    print(
        f"head-of-line: {len(big) / 1e6:.1f} MB rows bodies ({args.big_rows:,} rows), "
        f"server CPU {per_body * 1000:.0f} ms per body (goal < 1000 ms)"
    )
    print(f"  GET /api/me idle:   p50 {statistics.median(idle) * 1000:6.2f} ms   p99 {p99(idle) * 1000:6.2f} ms")
    print(
        f"  GET /api/me loaded: p50 {statistics.median(loaded) * 1000:6.2f} ms   p99 {p99(loaded) * 1000:6.2f} ms"
        f"   ({posted[0]} large bodies refused meanwhile)"
    )
    print(f"  loaded p99 / idle p99 = {p99(loaded) / p99(idle):.2f}x (goal <= 2x)")


def memory(server, slug, args):
    path = f"/api/public/dashboards/{slug}/render"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    for _ in range(5):
        status, _ = request(server.port, "GET", path + "?param.min_amount=0", connection=conn)
        assert status == 200, status
    baseline = server.rss_mb()
    started = time.perf_counter()
    for i in range(args.renders):
        status, _ = request(server.port, "GET", f"{path}?param.min_amount=0.{i + 1:06d}", connection=conn)
        assert status == 200, status
        if (i + 1) % 250 == 0:
            print(f"\r  {i + 1:,} renders, RSS {server.rss_mb():.0f} MB", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    conn.close()
    after, bound = server.rss_mb(), args.cache_bytes / 2**20
    print(
        f"memory: {args.renders:,} anonymous renders with distinct parameters, 10,000-row table card, "
        f"{args.renders / (time.perf_counter() - started):.0f} renders/s"
    )
    print(
        f"  RSS baseline {baseline:.0f} MB, after {after:.0f} MB; bound baseline + cache "
        f"{baseline + bound:.0f} MB ({'met' if after <= baseline + bound else 'NOT met'})"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=2000)
    parser.add_argument("--light", type=int, default=1500, help="GET /api/me requests per phase")
    parser.add_argument("--big-rows", type=int, default=100_000, help="rows per large body (~10 MB)")
    parser.add_argument("--cache-bytes", type=int, default=64 * 2**20)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'store.db'}",
        "RENDER_CACHE_BYTES": str(args.cache_bytes),
    }
    try:
        subprocess.run([CLI, "init"], env=env, check=True, capture_output=True)

        def user(email, role):
            out = subprocess.run(
                [CLI, "create-user", "--org", "bench", "--project", "default", "--email", email, "--role", role],
                env=env,
                check=True,
                capture_output=True,
            )
            return json.loads(out.stdout)["token"]

        admin, viewer = user("admin@bench.example", "admin"), user("viewer@bench.example", "viewer")
        server = Server(env, folder / "server.log")
        try:
            dataset_id, slug = seed(server.port, admin)
            head_of_line(server, viewer, dataset_id, args)
            memory(server, slug, args)
        finally:
            server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
