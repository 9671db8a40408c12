"""Benchmark of the request path under a large body: does it hold up other requests?

    python bench/bench_request.py [--rows 100000] [--probes 200]

Serves the API with `dashboards-api serve` (one process, SQLite in a temporary directory), then
measures GET /api/me as a viewer: alone, and again while the same viewer posts a ~10 MB `rows`
body to a dataset that does not exist (the body is parsed and checked before the 403). Prints
the latencies of both runs and how long the large request took, and the CPU time that checking
such a body costs in-process.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rows_body(count):
    rows = [[f"2026-01-{i % 28 + 1:02d}", "EMEA region name", i * 1.5, i, True, f"some text value here {i}",
             12345.678, None] for i in range(count)]
    return json.dumps({"rows": rows}).encode()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def check_cpu(body):
    """CPU seconds that parsing and checking the body costs, outside any server (best of 3)."""
    import handlers  # noqa: F401
    import framework
    from connexion.spec import Specification

    spec = Specification.load(ROOT / "openapi.yaml")
    schema = spec["paths"]["/datasets/{dataset_id}/rows"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    validator = framework.BodyValidator(schema=schema, encoding="utf-8", strict_validation=True, required=True)
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        validator._check(body)
        best = min(best, time.process_time() - start)
    return best


def probe(client, token, count):
    latencies = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        latencies.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text
    return latencies


def summary(latencies):
    ms = sorted(x * 1000 for x in latencies)
    return f"p50 {statistics.median(ms):.1f} ms, p95 {ms[int(len(ms) * 0.95) - 1]:.1f} ms, max {ms[-1]:.1f} ms (n={len(ms)})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--probes", type=int, default=200)
    args = parser.parse_args()
    body = rows_body(args.rows)
    print(f"body: {len(body):,} bytes, {args.rows:,} rows")
    print(f"parse and check in-process: {check_cpu(body) * 1000:.0f} ms CPU (best of 3)")

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/bench.db", "MAX_BODY_BYTES": str(len(body) + 1)}
        cli = [sys.executable, "-c", "import cli; cli.main()"]
        subprocess.run([*cli, "init"], env=env, cwd=ROOT, check=True, capture_output=True)
        created = subprocess.run([*cli, "create-user", "--org", "bench", "--project", "default", "--email",
                                  "viewer@bench.io", "--role", "viewer"], env=env, cwd=ROOT, check=True,
                                 capture_output=True, text=True)
        token = json.loads(created.stdout)["token"]
        port = free_port()
        server = subprocess.Popen([*cli, "serve", "--port", str(port), "--log-level", "warning"], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
                for _ in range(100):
                    try:
                        client.get("/api/openapi.json")
                        break
                    except httpx.TransportError:
                        time.sleep(0.1)
                probe(client, token, 20)
                print("GET /api/me alone:", summary(probe(client, token, args.probes)))

                result = {}

                def large():
                    start = time.perf_counter()
                    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as other:
                        response = other.post("/api/datasets/999999/rows", content=body, headers={
                            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                    result["status"], result["seconds"] = response.status_code, time.perf_counter() - start

                thread = threading.Thread(target=large)
                thread.start()
                during = []
                while thread.is_alive():
                    during += probe(client, token, 1)
                thread.join()
                print(f"the large POST: {result['status']} after {result['seconds'] * 1000:.0f} ms")
                print("GET /api/me meanwhile:", summary(during))
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
