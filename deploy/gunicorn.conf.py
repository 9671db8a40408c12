"""gunicorn settings for production: N uvicorn worker processes over one store.

    gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'

WEB_CONCURRENCY sets the number of workers (gunicorn's own variable; default here: one per
core) and GUNICORN_CMD_ARGS any other gunicorn option, e.g. `--bind 0.0.0.0:8000`. The app's
settings (DATABASE_URL, METRICS_TOKEN, ...) are read from the environment as for `serve`.
"""

import os
import shutil
import tempfile

# Before prometheus_client is imported anywhere: the workers are forked from this process and
# must all write their metrics as files in one directory, emptied at each start.
OWN_METRICS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
if OWN_METRICS_DIRECTORY:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="dashboards-api-metrics-")

from prometheus_client import multiprocess  # noqa: E402
from uvicorn_worker import UvicornWorker  # noqa: E402  (uvicorn.workers.UvicornWorker is deprecated)


class Worker(UvicornWorker):
    """uvicorn's worker with the HTTP protocol `serve` runs: httptools', refusing what it cannot
    read (a request target over 65,535 bytes, malformed HTTP) with problem documents
    (http_protocol.py)."""

    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "http": "http_protocol:ProblemHttpToolsProtocol"}


worker_class = Worker
workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 1))
bind = os.environ.get("BIND", "127.0.0.1:8000")
graceful_timeout = int(os.environ.get("SHUTDOWN_TIMEOUT_S", "30"))  # requests in flight finish on SIGTERM
accesslog = None  # the app writes one JSON line per request itself
keepalive = 75  # idle connections outlive a proxy's idle timeout (cli.py, KEEP_ALIVE_S)


def on_starting(server):
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if OWN_METRICS_DIRECTORY:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
