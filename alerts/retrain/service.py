"""The retraining service assembled: authenticator, outbox, intake, targets, deliverer and HTTP server.

::

    Alertmanager ──POST /alerts──▶ auth ─▶ parse ─▶ intake ─▶ outbox (SQLite, WAL) ─▶ 200
                                                                  │
                                      deliverer thread ◀──────────┘ due triggers
                                        │ evidence (Prometheus) once, then target.deliver()
                                        ▼ retries: exponential backoff with jitter
                        webhook · tekton · kubeflow · argo · job   ──▶ pipeline run
                                        │
                      POST /triggers/<id>/complete ◀── the run reports back (ends "in flight")
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from agent.catalog.model import Catalog
from alerts.retrain.auth import Authenticator
from alerts.retrain.errors import RetrainError, TargetConfigError
from alerts.retrain.evidence import Query, build_evidence
from alerts.retrain.intake import Intake
from alerts.retrain.metrics import RetrainMetrics
from alerts.retrain.outbox import Outbox
from alerts.retrain.prometheus_api import query_prometheus
from alerts.retrain.server import RetrainServer
from alerts.retrain.settings import RetrainSettings
from alerts.retrain.targets import HttpClient, Target, build_target
from alerts.retrain.trigger import Trigger
from alerts.retrain.worker import Deliverer

__all__ = ["RetrainService", "read_secret"]

logger = logging.getLogger(__name__)


def read_secret(path: Path | None, what: str) -> bytes | None:
    """A secret file's bytes, without the trailing newline editors and ``kubectl create secret`` leave."""
    if path is None:
        return None
    try:
        value = path.read_bytes().strip()
    except OSError as exc:
        raise RetrainError(f"cannot read the {what} file {path}: {exc.strerror}") from exc
    if not value:
        raise RetrainError(f"the {what} file {path} is empty")
    return value


class RetrainService:
    """``modelmon retrain serve``. ``start`` binds and delivers what a previous run left pending."""

    def __init__(
        self,
        settings: RetrainSettings,
        catalog: Catalog,
        *,
        clock: Callable[[], float] = time.time,
        env: Mapping[str, str] | None = None,
        http: HttpClient | None = None,
        query: Query | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        auth = Authenticator(
            token=read_secret(settings.token_file, "bearer token"),
            hmac_secret=read_secret(settings.hmac_secret_file, "HMAC secret"),
            tolerance_seconds=settings.timestamp_tolerance_seconds,
            clock=clock,
        )
        self.targets = self._targets(catalog, http, env)
        if query is None and settings.prometheus_url:
            url = settings.prometheus_url
            query = lambda promql: query_prometheus(url, promql)  # noqa: E731
        self._query = query
        if settings.report_url:
            try:
                settings.report_url.format(namespace="n", model="m", version="v")
            except (KeyError, IndexError, ValueError) as exc:
                raise RetrainError(
                    f"report_url may use {{namespace}}, {{model}} and {{version}} only: {exc!r}"
                ) from exc
        self.outbox = Outbox(settings.database, clock=clock)
        self.metrics = RetrainMetrics(self.outbox, clock, (t.kind for t in self.targets.values()))
        self.deliverer = Deliverer(
            self.outbox,
            self.targets,
            settings,
            evidence=self._evidence,
            metrics=self.metrics,
            clock=clock,
            poll_seconds=poll_seconds,
        )
        self._auth = auth
        self.server: RetrainServer | None = None

    @staticmethod
    def _targets(
        catalog: Catalog, http: HttpClient | None, env: Mapping[str, str] | None
    ) -> dict[str, Target]:
        targets = {}
        for model in catalog:
            if model.retraining is None:
                continue
            try:
                targets[model.identity] = build_target(model.retraining, http=http, env=env)
            except TargetConfigError as exc:
                raise TargetConfigError(f"{model.identity}: {exc}") from exc
        return targets

    def _evidence(self, trigger: Trigger) -> dict[str, Any]:
        return build_evidence(
            trigger,
            self.outbox.alerts_of(trigger.id),
            self.catalog.get(trigger.identity),
            query=self._query,
            report_url=self.settings.report_url,
        )

    @property
    def url(self) -> str:
        if self.server is None:
            raise RuntimeError("the service is not started")
        return self.server.url

    def start(self) -> RetrainService:
        self.server = RetrainServer(
            (self.settings.host, self.settings.port),
            auth=self._auth,
            intake=Intake(self.outbox, self.catalog.models, self.settings),
            outbox=self.outbox,
            metrics=self.metrics,
            max_body_bytes=self.settings.max_body_bytes,
            on_accepted=self.deliverer.wake,
            healthy=lambda: self.deliverer.alive,
        )
        self.server.start()
        self.deliverer.start()
        pending = self.outbox.state_counts().get("pending", 0)
        logger.info(
            "retraining service on %s: %d model(s) with targets, %d trigger(s) pending",
            self.url,
            len(self.targets),
            pending,
        )
        return self

    def stop(self) -> None:
        """Stop taking alerts, let the attempt in progress finish and be recorded, then close."""
        if self.server is not None:
            self.server.stop()
        if self.deliverer.stop():
            self.outbox.close()
        else:  # closing now could lose a delivery's record, and so deliver it twice after a restart
            logger.error("the deliverer did not stop in time; leaving the outbox open")

    def __enter__(self) -> RetrainService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
