"""Benchmark of render cache memory: a live server's RSS while anonymous renders of a public
dashboard each ask with a new parameter value.

    python bench/bench_cache_memory.py [--renders 120] [--cache-bytes 67108864] [--rows 10000]

It imports a --rows-row CSV into a throwaway SQLite store, starts `dashboards-api serve` with
RENDER_CACHE_BYTES=--cache-bytes, makes a public dashboard whose table card shows every row
(a filter on a parameter that never matches a row's value), and then renders it --renders times
without a token, each with a new value. Every render is a new answer and a new query result, so
a cache bounded by entry count grows with the traffic; one bounded in bytes stops growing.
RSS is read from /proc (Linux) every ten renders.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cli(env, *args):
    done = subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=120)
    parser.add_argument("--cache-bytes", type=int, default=64 * 1024 * 1024)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()

    folder = tempfile.mkdtemp()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder}/bench.db", "RENDER_CACHE_BYTES": str(args.cache_bytes)}
    cli(env, "init")
    token = cli(env, "create-user", "--org", "bench", "--project", "default", "--email", "bench@example.com",
                "--role", "admin")["token"]
    path = Path(folder) / "rows.csv"
    with open(path, "w") as out:
        out.write("day,region,customer,note,amount,qty\n")
        for i in range(args.rows):
            out.write(f"2025-01-{i % 28 + 1:02d},R{i % 7},customer-{i:06d},a note for row {i},{i * 1.25},{i}\n")
    dataset_id = cli(env, "import-csv", "--org", "bench", "--project", "default", "--name", "Rows", str(path))["dataset_id"]

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(port), "--log-level", "warning"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api"

    def call(method, path, body=None, auth=True):
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if auth else {})}
        data = None if body is None else json.dumps(body).encode()
        with urllib.request.urlopen(urllib.request.Request(base + path, data, headers, method=method)) as answer:
            return answer.read()

    try:
        for _ in range(100):
            try:
                call("GET", "/me")
                break
            except OSError:
                time.sleep(0.2)
        dashboard = json.loads(call("POST", "/dashboards", {
            "name": "Open", "default_audience": "public", "parameters": [{"name": "region", "type": "string"}]}))
        call("POST", f"/dashboards/{dashboard['id']}/cards", {"card_type": "table", "config": {
            "dataset_id": dataset_id, "limit": 10000,
            "filters": [{"column": "region", "op": "ne", "value": {"param": "region"}}]}})
        url = f"/public/dashboards/{dashboard['public_slug']}/render?param[region]="
        size = len(call("GET", url + "warm-up", auth=False))
        start = rss_mb(server.pid)
        print(f"RENDER_CACHE_BYTES={args.cache_bytes:,}; one answer is {size / 1e6:.2f} MB of JSON; "
              f"RSS {start:.0f} MB after one render")
        for i in range(1, args.renders + 1):
            call("GET", url + f"v{i}", auth=False)
            if i % 10 == 0:
                print(f"after {i:4d} renders: RSS {rss_mb(server.pid):.0f} MB", flush=True)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
