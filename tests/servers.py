"""`dashboards-api serve` as a real process on a free loopback port, for tests that need sockets,
signals or more than one process."""

import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time

import httpx

ROOT = pathlib.Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One `serve` process; its stderr (the request log lines) goes to a file read by `log()`."""

    def __init__(self, database_url, *, workers=1, env=None, startup_s=90):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/api"
        self._stderr = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False)
        environ = {**os.environ, "DATABASE_URL": database_url, **(env or {})}
        environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--port", str(self.port), "--workers", str(workers),
             "--log-level", "warning"],
            env=environ, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self._stderr,
            start_new_session=True)  # its own process group: the workers can be stopped with it
        try:
            self._wait_until_healthy(startup_s)
        except BaseException:
            self.stop()
            raise

    def _wait_until_healthy(self, seconds):
        deadline = time.monotonic() + seconds
        while True:
            assert self.process.poll() is None, f"the server exited: {self.log()}"
            assert time.monotonic() < deadline, f"the server did not answer within {seconds} s: {self.log()}"
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)

    def log(self):
        return pathlib.Path(self._stderr.name).read_text(errors="replace")

    def terminate(self):
        self.process.send_signal(signal.SIGTERM)

    def stop(self):
        """Stop the server (SIGTERM, then SIGKILL after 15 s) and remove its log file."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        self._stderr.close()
        pathlib.Path(self._stderr.name).unlink(missing_ok=True)
