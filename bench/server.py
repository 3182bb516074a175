"""gunicorn on a free loopback port, for the app or the baseline, with identical settings.

The server runs in its own session so Ctrl-C reaches only the harness, which then stops it
in order (SIGTERM, then SIGKILL if it lingers).
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = "app:create_app()"
BASELINE = "bench.baseline_app:create_app()"
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10


class ServerFailedError(RuntimeError):
    """gunicorn did not start; the message carries the end of its log."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answering(port: int) -> bool:
    """True once a worker has loaded the app and answers HTTP (the port alone opens earlier,
    when the master binds it, while workers are still importing)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()


@dataclass(frozen=True)
class Server:
    url: str  # also its PUBLIC_BASE_URL
    pid: int  # gunicorn's master process

    def worker_pids(self) -> list[int]:
        """The worker processes the master runs now (Linux: read from /proc)."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        return [int(pid) for pid in children.split()]


@contextmanager
def gunicorn(
    target: str,
    settings: Mapping[str, str],
    *,
    workers: int,
    log_path: Path,
    threads: int = 1,
) -> Iterator[Server]:
    """Run ``target`` under gunicorn until the block ends (``threads`` > 1: the gthread worker,
    as production runs it)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **settings, "PUBLIC_BASE_URL": base_url}
    command = [
        sys.executable, "-m", "gunicorn", "--workers", str(workers),
        "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        target,
    ]  # fmt: skip
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        _wait_until_answering(process, port, log_path)
        yield Server(base_url, process.pid)
    finally:
        _stop(process)


def _wait_until_answering(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _answering(port):
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log_path.read_text()[-2000:]
            raise ServerFailedError(f"gunicorn did not start on port {port}; its log:\n{tail}")
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the whole process group, so no worker outlives the master."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
