"""The sidecar agent as a child process on this machine (``make demo`` and the tests run it so)."""

from __future__ import annotations

import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from deploy.processes import ManagedProcess, free_port

__all__ = ["LocalAgent"]


class LocalAgent:
    """``modelmon-agent`` on loopback in front of ``upstream_port``; settings by section, as in YAML.

    ``port`` takes the model's traffic, ``admin_port`` serves ``/metrics``, ``/healthz``, ``/readyz``.
    """

    def __init__(
        self,
        upstream_port: int,
        bootstrap: str,
        *,
        catalog: Path | None = None,
        work_dir: Path | None = None,
        admin_port: int | None = None,
        **sections: dict[str, Any],
    ) -> None:
        self.port = free_port()
        self.admin_port = admin_port or free_port()
        self.work_dir = work_dir or Path(tempfile.mkdtemp(prefix="modelmon-agent-"))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        settings: dict[str, dict[str, Any]] = {
            "kafka": {"bootstrap_servers": [bootstrap]},
            "proxy": {
                "listen_host": "127.0.0.1",
                "listen_port": self.port,
                "upstream_port": upstream_port,
                "admin_host": "127.0.0.1",
                "admin_port": self.admin_port,
            },
            "publisher": {"spool_dir": str(self.work_dir / "spool")},
        }
        for name, values in sections.items():
            settings[name] = settings.get(name, {}) | values
        config = self.work_dir / "agent.yaml"
        config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        argv = [sys.executable, "-m", "deploy.agent_main", "--config", str(config), "--log-level", "WARNING"]
        if catalog is not None:
            argv += ["--catalog", str(catalog)]
        self._process = ManagedProcess("modelmon-agent", argv, self.work_dir / "agent.log")

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def log_path(self) -> Path:
        return self._process.log_path

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/healthz", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def start(self, timeout: float = 30.0) -> LocalAgent:
        self._process.start(self._healthy, timeout)
        return self

    def metrics_text(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=5) as response:
            return str(response.read().decode())

    def peak_rss_bytes(self) -> int:
        """The process's peak resident memory (VmHWM), from /proc."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0]) * 1024

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM: the agent finishes calls in flight and delivers or spools what it captured."""
        self._process.stop(timeout)

    def __enter__(self) -> LocalAgent:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
