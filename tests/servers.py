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


class LoggedProcess:
    """A child process in its own process group, its output in a log file read by `log()`, waited
    for until `probe_url` answers (`healthy(response)`), and always stopped."""

    def __init__(self, command, *, name, probe_url, healthy=lambda response: True, startup_s, **popen):
        self._log = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=popen.pop("stdout", self._log),
            stderr=self._log,
            start_new_session=True,
            **popen,
        )
        try:
            self._wait(name, probe_url, healthy, startup_s)
        except BaseException:
            self.stop()
            raise

    def _wait(self, name, probe_url, healthy, seconds):
        deadline = time.monotonic() + seconds
        while True:
            assert self.process.poll() is None, f"{name} exited: {self.log()}"
            assert time.monotonic() < deadline, f"{name} did not answer within {seconds} s: {self.log()}"
            try:
                if healthy(httpx.get(probe_url, timeout=2)):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)

    def log(self):
        return pathlib.Path(self._log.name).read_text(errors="replace")

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL to the process group after `timeout` s; the log file is removed."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=timeout)
        self._log.close()
        pathlib.Path(self._log.name).unlink(missing_ok=True)


class Server(LoggedProcess):
    """One `serve` process; its stderr (the request log lines) goes to the log."""

    def __init__(self, database_url, *, workers=1, env=None, startup_s=90):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/api"
        environ = {**os.environ, "DATABASE_URL": database_url, **(env or {})}
        environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        # Its own process group (LoggedProcess): the workers can be stopped with it.
        super().__init__(
            [
                sys.executable,
                "-m",
                "cli",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            name="serve",
            probe_url=f"{self.base}/health",
            healthy=lambda r: r.status_code == 200,
            startup_s=startup_s,
            env=environ,
            stdout=subprocess.DEVNULL,
        )

    def terminate(self):
        self.process.send_signal(signal.SIGTERM)
