"""A local Prometheus (Debian's ``prometheus`` package) scraping given targets, and a query helper."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from alerts.retrain.prometheus_api import query_prometheus
from deploy.processes import LocalHttpServer, ManagedProcess, free_port

__all__ = ["LocalPrometheus", "prometheus_binary", "promtool_binary", "query_prometheus"]


def prometheus_binary() -> str | None:
    return shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
    )


def promtool_binary() -> str | None:
    return shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None)


class LocalPrometheus(LocalHttpServer):
    """Prometheus on a free loopback port, scraping ``targets`` every ``scrape_interval``."""

    def __init__(
        self,
        targets: list[str],
        *,
        scrape_interval: str = "1s",
        rule_files: list[Path] | None = None,
        alertmanagers: list[str] | None = None,
        workdir: Path | None = None,
    ) -> None:
        binary = prometheus_binary()
        if binary is None:
            raise FileNotFoundError("prometheus is not installed (Debian package 'prometheus')")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="modelmon-prometheus-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = {
            "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
            "scrape_configs": [{"job_name": "modelmon", "static_configs": [{"targets": targets}]}],
            "rule_files": [str(p) for p in rule_files or []],
        }
        if alertmanagers:
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": alertmanagers}]}]}
        config_path = self.workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config))
        self._process = ManagedProcess(
            "prometheus",
            [
                binary,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            self.workdir / "prometheus.log",
        )

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Evaluate an instant query; returns the result vector. Raises on a query error."""
        return query_prometheus(self.url, promql)
