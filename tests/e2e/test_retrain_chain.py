"""The whole loop: the real aggregator's metrics → real Prometheus evaluating the generated rules →
real Alertmanager with the generated route → the retraining service → a local target.

One incident gives exactly one trigger: Alertmanager's repeats are ignored, its resolved notice
triggers nothing, and a second incident within the cooldown is held.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from agent.catalog.load import load_catalog
from agent.publisher import Publisher
from agent.sdk import log_predictions
from agent.settings import KafkaSettings, PublisherSettings
from deploy.alerting_stack import AlertingStack, StackTiming
from deploy.services import AggregatorService
from tests.helpers import aggregator_settings, wait_until
from tests.retrain_support import RecordingServer, http, serve

pytestmark = pytest.mark.e2e

CATALOG = """
models:
  - namespace: chain
    name: scorer
    versions: [v1]
    window: {{size: 1s, allowed_lateness: 0s, idle_close: 2s}}
    drift: {{min_window_records: 20, consecutive_windows: 2, multivariate: false, domain_classifier: false}}
    features: [{{name: x, type: float}}, {{name: y, type: float}}]
    reference: {{path: reference.parquet}}
    retraining: {{type: webhook, url: "{target}/retrain", cooldown: 1h}}
"""


class Traffic:
    """Predictions at event time now, 500 a second, drifted (x and y shifted by 3) while ``drifted`` is set."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher
        self.drifted = threading.Event()
        self.stop = threading.Event()
        self.rng = np.random.default_rng(3)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import time

        while not self.stop.wait(0.1):
            shift = 3.0 if self.drifted.is_set() else 0.0
            now = time.time()
            log_predictions(
                self.publisher,
                "chain/scorer",
                {"x": self.rng.normal(shift, 1, 50), "y": self.rng.normal(shift, 1, 50)},
                version="v1",
                request_ids=[uuid.uuid4().hex for _ in range(50)],
                event_times=np.full(50, now),
            )


def _alerts(stack: AlertingStack, outcome: str) -> float:
    value = stack.service.metrics.registry.get_sample_value(
        "modelmon_retrain_alerts_total", {"outcome": outcome}
    )
    return value or 0.0


@pytest.mark.timeout(240)
def test_one_trigger_per_incident_none_on_repeat_resolve_or_cooldown(
    kafka_bootstrap, prometheus, alertmanager, tmp_path
):
    rng = np.random.default_rng(9)
    pd.DataFrame({"x": rng.normal(0, 1, 5000), "y": rng.normal(0, 1, 5000)}).to_parquet(
        tmp_path / "reference.parquet"
    )
    kafka = KafkaSettings(bootstrap_servers=(kafka_bootstrap,))
    topic = f"chain.{uuid.uuid4().hex[:8]}"
    with serve(RecordingServer()) as target:
        (tmp_path / "models.yaml").write_text(CATALOG.format(target=target.url))
        catalog = load_catalog(tmp_path / "models.yaml")
        aggregator = AggregatorService.start(aggregator_settings(kafka, topic), catalog, partitions=1)
        publisher = Publisher(kafka, replace(PublisherSettings(), topic=topic))
        traffic = Traffic(publisher)
        stack = AlertingStack(
            catalog,
            [f"127.0.0.1:{aggregator.metrics_port}"],
            tmp_path / "stack",
            timing=StackTiming(group_wait="1s", group_interval="2s", repeat_interval="3s"),
            poll_seconds=0.1,
        )
        try:
            stack.start()
            traffic.thread.start()
            share = 'modelmon_dataset_drift_share_ratio{model="scorer", segment=""}'
            wait_until(lambda: stack.prometheus.query(share), 60, what="drift shares in Prometheus")
            assert float(stack.prometheus.query(share)[0]["value"][1]) < 0.5

            traffic.drifted.set()  # incident 1
            wait_until(lambda: len(target.received) == 1, 90, what="the first trigger at the target")
            event = target.received[0].json()
            assert event["reason"] == "ModelmonDatasetDrift" and event["model"] == "scorer"
            evidence = event["evidence"]
            assert evidence["alerts"][0]["labels"]["alertname"] == "ModelmonDatasetDrift"
            assert evidence["alerts"][0]["annotations"]["dashboard_url"].startswith(
                "http://localhost:3000/d/"
            )
            wait_until(lambda: _alerts(stack, "duplicate") >= 1, 30, what="Alertmanager's repeat, ignored")

            traffic.drifted.clear()  # the incident resolves
            wait_until(lambda: _alerts(stack, "resolved") >= 1, 60, what="the resolved notice, ignored")
            assert len(target.received) == 1

            auth = {"Authorization": f"Bearer {stack.token}"}
            trigger_id = event["trigger_id"]
            done = json.dumps({"trigger_id": trigger_id, "status": "succeeded"}).encode()
            assert http("POST", f"{stack.service.url}/triggers/{trigger_id}/complete", done, auth)[0] == 200

            traffic.drifted.set()  # incident 2, within the cooldown
            wait_until(
                lambda: _alerts(stack, "cooldown") >= 1, 90, what="the second incident held by the cooldown"
            )
            assert len(target.received) == 1
            (trigger,) = json.loads(json.dumps(stack.service.outbox.triggers()))
            assert (trigger["id"], trigger["state"]) == (trigger_id, "completed")
        finally:
            traffic.stop.set()
            if traffic.thread.is_alive():
                traffic.thread.join(5)
            publisher.close(5)
            stack.stop()
            aggregator.stop()
