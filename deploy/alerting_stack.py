"""The alerting loop on one machine: Prometheus evaluating the generated rules, Alertmanager routing
retraining alerts to the retraining service, and the service delivering triggers to the catalog's targets.

::

    aggregator /metrics ─scrape─▶ Prometheus (generated rules) ─alerts─▶ Alertmanager
                                                                          │ generated route
                                                                          ▼ (bearer token)
                                 pipeline ◀── target ◀── retraining service (SQLite outbox)

Used by ``make demo`` and by the end-to-end tests; everything listens on loopback.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from agent.catalog.model import Catalog
from alerts import AlertSettings, alertmanager_config
from alerts import generate as generate_alerts
from alerts.retrain import RetrainService, RetrainSettings
from deploy.alertmanager import LocalAlertmanager
from deploy.processes import free_port
from deploy.prometheus import LocalPrometheus

__all__ = ["AlertingStack", "StackTiming"]


@dataclass(frozen=True, slots=True)
class StackTiming:
    """Alertmanager's grouping, shortened from production's (30 s, 5 m, 4 h) so a demo shows a loop."""

    group_wait: str = "1s"
    group_interval: str = "5s"
    repeat_interval: str = "1m"


class AlertingStack:
    """Start with :meth:`start`, stop with :meth:`stop` (or use it as a context manager)."""

    def __init__(
        self,
        catalog: Catalog,
        scrape_targets: list[str],
        workdir: Path,
        *,
        grafana_url: str = "http://localhost:3000",
        timing: StackTiming | None = None,
        retrain: RetrainSettings | None = None,
        poll_seconds: float = 0.2,
    ) -> None:
        self.catalog = catalog
        self.scrape_targets = scrape_targets
        self.workdir = workdir.resolve()  # Prometheus and Alertmanager resolve paths from their own folders
        self.grafana_url = grafana_url
        self.timing = timing or StackTiming()
        self.token = secrets.token_urlsafe(24)
        self.token_file = self.workdir / "retrain-token"
        self._retrain = retrain or RetrainSettings()
        self._poll = poll_seconds
        self.service: RetrainService | None = None
        self.alertmanager: LocalAlertmanager | None = None
        self.prometheus: LocalPrometheus | None = None

    def start(self) -> AlertingStack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.token_file.write_text(self.token)
        self.token_file.chmod(0o600)
        port = free_port()  # known up front: Alertmanager's config names the service, which asks Prometheus
        alert_settings = AlertSettings(
            grafana_url=self.grafana_url,
            retrain_url=f"http://127.0.0.1:{port}",
            retrain_token_file=str(self.token_file),
            scrape_interval_seconds=1.0,  # LocalPrometheus scrapes and evaluates every second
        )
        generate_alerts(self.catalog, self.workdir / "alerts", alert_settings)
        config = alertmanager_config(
            alert_settings,
            group_wait=self.timing.group_wait,
            group_interval=self.timing.group_interval,
            repeat_interval=self.timing.repeat_interval,
        )
        self.alertmanager = LocalAlertmanager(config, workdir=self.workdir / "alertmanager")
        self.prometheus = LocalPrometheus(
            self.scrape_targets,
            rule_files=sorted((self.workdir / "alerts" / "rules").glob("*.rules.yml")),
            alertmanagers=[self.alertmanager.url.removeprefix("http://")],
            workdir=self.workdir / "prometheus",
        )
        settings = replace(
            self._retrain,
            host="127.0.0.1",
            port=port,
            database=self.workdir / "retrain.db",
            token_file=self.token_file,
            prometheus_url=self.prometheus.url,  # the evidence bundle's metric values
        )
        try:
            self.service = RetrainService(settings, self.catalog, poll_seconds=self._poll).start()
            self.alertmanager.start()
            self.prometheus.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for part in (self.prometheus, self.alertmanager, self.service):
            if part is not None:
                part.stop()
        self.prometheus = self.alertmanager = self.service = None

    def __enter__(self) -> AlertingStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
