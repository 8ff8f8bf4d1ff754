"""Start and stop local servers (broker, Prometheus, Alertmanager) for the demo and the tests."""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

__all__ = ["LocalHttpServer", "ManagedProcess", "StartError", "free_port", "port_open", "wait_until"]

log = logging.getLogger(__name__)


class StartError(RuntimeError):
    """A local server did not become ready."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until(
    condition: Callable[[], bool], timeout: float, interval: float = 0.05, what: str = "condition"
) -> None:
    """Poll ``condition`` until it is true; raise ``TimeoutError`` naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if condition():
                return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class ManagedProcess:
    """A child process with its output in a log file, stopped by PID."""

    def __init__(self, name: str, argv: list[str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, ready: Callable[[], bool], timeout: float = 30.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

        def alive_and_ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise StartError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
            return ready()

        try:
            wait_until(alive_and_ready, timeout, what=f"{self.name} to be ready")
        except (TimeoutError, StartError) as exc:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            self.stop()
            raise StartError(f"{exc}\n--- last output of {self.name} ---\n{tail}") from exc
        log.info("%s started (pid %d)", self.name, self.process.pid)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


class LocalHttpServer:
    """Base of the Prometheus-family launchers: ready when ``GET {url}/-/ready`` answers 200."""

    url: str
    _process: ManagedProcess

    def _ready(self) -> bool:
        import urllib.request

        with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)

    def start(self, timeout: float = 60.0) -> Self:
        self._process.start(self._ready, timeout)
        return self

    def stop(self) -> None:
        self._process.stop()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
