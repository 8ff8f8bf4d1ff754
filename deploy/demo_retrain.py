"""The demo's retraining pipeline: what a user's pipeline does when the retraining service calls it.

The trainer is a CloudEvents webhook target (the catalog's ``retraining: {type: webhook}``). On a
trigger it answers 202 at once, then, in the background, as a real pipeline would:

1. trains version ``v2`` on recent labelled traffic: the demo model's score, recalibrated
   (Platt scaling: a logistic regression of the labels on the score's logit);
2. rolls it out: a new model server and its agent, traffic switched to them, ``v1`` retired;
3. reports back to the retraining service (``POST /triggers/<id>/complete``), ending the run.

The aggregator profiles ``v2``'s first records as its reference (``from_traffic`` in the demo
catalog): the retrained model is judged against the world it was trained for, so its drift is low,
and ``v1``'s drift alert resolves once ``v1``'s windows stop.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from deploy.demo_model import LocalDemoModel
from deploy.local_agent import LocalAgent

__all__ = ["DemoTrainer", "Deployment", "RecentLabels", "fit_calibration"]

log = logging.getLogger(__name__)


class RecentLabels:
    """The last ``capacity`` scored predictions with their ground truth, as the traffic labels them."""

    def __init__(self, capacity: int = 5_000) -> None:
        self._rows: deque[tuple[float, int]] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def add(self, scores: np.ndarray, truth: np.ndarray) -> None:
        with self._lock:
            self._rows.extend(zip(scores.tolist(), truth.tolist(), strict=True))

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            rows = list(self._rows)
        return np.array([r[0] for r in rows]), np.array([r[1] for r in rows], dtype=np.int64)


def fit_calibration(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of ``truth ~ sigmoid(slope × logit(score) + intercept)``."""
    from sklearn.linear_model import LogisticRegression

    clipped = np.clip(scores, 1e-6, 1 - 1e-6)
    logit = np.log(clipped / (1 - clipped)).reshape(-1, 1)
    fitted = LogisticRegression(C=1e6).fit(logit, truth)
    return float(fitted.coef_[0][0]), float(fitted.intercept_[0])


@dataclass
class Serving:
    version: str
    model: LocalDemoModel
    agent: LocalAgent


@dataclass
class Deployment:
    """The version serving traffic; ``port()`` is where the client calls it."""

    current: Serving
    start_version: Callable[[str, tuple[float, float], int], Serving]
    admin_ports: dict[str, int] = field(default_factory=dict)  # pre-allocated, so Prometheus scrapes them
    retired: list[Serving] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def port(self) -> int:
        with self._lock:
            return self.current.agent.port

    def rollout(self, version: str, calibration: tuple[float, float]) -> None:
        serving = self.start_version(version, calibration, self.admin_ports[version])
        with self._lock:
            old, self.current = self.current, serving
        old.agent.stop()  # delivers what it captured, then exits
        old.model.stop()
        self.retired.append(old)

    def stop(self) -> None:
        self.current.agent.stop()
        self.current.model.stop()


class _Handler(BaseHTTPRequestHandler):
    server: DemoTrainer

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("ce-type") != "io.modelmon.retrain.requested":
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.accept(json.loads(body))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


class DemoTrainer(ThreadingHTTPServer):
    """The webhook target; ``url`` goes in the catalog's ``retraining.url``."""

    daemon_threads = True

    def __init__(
        self, deployment: Deployment, recent: RecentLabels, report: Callable[[str, str], None]
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.deployment = deployment
        self.recent = recent
        self.report = report  # (what happened, trigger id): printed by the demo
        self.complete_url: str | None = None  # the retraining service's, set once it runs
        self.token: str | None = None
        self.runs: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self.serve_forever, name="demo-trainer", daemon=True)
        self._busy = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/retrain"

    def start(self) -> DemoTrainer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def accept(self, event: dict[str, Any]) -> None:
        threading.Thread(target=self._run, args=(event,), name="demo-training-run", daemon=True).start()

    def _run(self, event: dict[str, Any]) -> None:
        trigger_id = event["trigger_id"]
        with self._busy:
            drifted = [f["feature"] for f in event["evidence"].get("drifted_features", [])]
            self.report(
                f"training v2 ({event['reason']}; drifted: {', '.join(drifted) or 'see the alert'})",
                trigger_id,
            )
            scores, truth = self.recent.snapshot()
            calibration = (
                fit_calibration(scores, truth) if truth.size and 0 < truth.mean() < 1 else (1.0, 0.0)
            )
            self.deployment.rollout("v2", calibration)
            run = {"trigger": trigger_id, "calibration": calibration, "rows": int(truth.size)}
            self.runs.append(run)
            self.report(
                f"rolled out v2 (recalibrated on {truth.size:,} labelled predictions: slope {calibration[0]:.2f},"
                f" intercept {calibration[1]:+.2f}); v1 retired",
                trigger_id,
            )
            self._complete(trigger_id)

    def _complete(self, trigger_id: str) -> None:
        if self.complete_url is None or self.token is None:
            return
        request = urllib.request.Request(  # noqa: S310 - the retraining service's URL, http on loopback
            f"{self.complete_url}/triggers/{trigger_id}/complete",
            data=json.dumps({"trigger_id": trigger_id, "status": "succeeded"}).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback
                self.report("reported the run complete to the retraining service", trigger_id)
        except OSError as exc:
            log.warning("could not report the run complete: %s", exc)
