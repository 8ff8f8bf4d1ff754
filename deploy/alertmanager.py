"""A local Alertmanager (Debian's ``prometheus-alertmanager`` package) with a generated config."""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from deploy.processes import LocalHttpServer, ManagedProcess, free_port

__all__ = ["LocalAlertmanager", "alertmanager_binary"]

_DEBIAN_PATH = Path("/usr/bin/prometheus-alertmanager")


def alertmanager_binary() -> str | None:
    if _DEBIAN_PATH.exists():
        return str(_DEBIAN_PATH)
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


class LocalAlertmanager(LocalHttpServer):
    """Alertmanager on a free loopback port; ``config`` is its YAML configuration as a mapping."""

    def __init__(self, config: dict[str, Any] | None = None, workdir: Path | None = None) -> None:
        binary = alertmanager_binary()
        if binary is None:
            raise FileNotFoundError(
                "alertmanager is not installed (Debian package 'prometheus-alertmanager')"
            )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="modelmon-alertmanager-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = config or {"route": {"receiver": "null"}, "receivers": [{"name": "null"}]}
        config_path = self.workdir / "alertmanager.yml"
        config_path.write_text(yaml.safe_dump(config))
        self._process = ManagedProcess(
            "alertmanager",
            [
                binary,
                f"--config.file={config_path}",
                f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",  # no HA gossip: it holds notifications until it settles
            ],
            self.workdir / "alertmanager.log",
        )

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts Alertmanager holds now (API v2)."""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as response:  # noqa: S310
            return list(json.load(response))
