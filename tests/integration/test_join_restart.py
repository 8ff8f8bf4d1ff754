"""An aggregator killed mid-stream (SIGKILL) loses no waiting prediction: its successor joins them all."""

from __future__ import annotations

import re
import signal
import subprocess
import urllib.request

import numpy as np
import pytest

from agent.publisher import Publisher
from agent.sdk import log_labels, log_predictions
from agent.settings import PublisherSettings
from deploy.processes import free_port
from tests.helpers import aggregator_process, wait_until

pytestmark = pytest.mark.integration

CATALOG = """
models:
  - namespace: test
    name: churn
    versions: [v1]
    window: {size: 10s, allowed_lateness: 0s}
    drift: {min_window_records: 5, domain_classifier: false}
    features: [{name: x, type: float}]
    outputs: [{name: p, type: float}]
    quality: {task: classification, label: churned, classes: [0, 1], scores: {"1": p}, label_lateness: 7d}
"""


def _start(tmp_path, kafka_bootstrap, topic: str, port: int) -> subprocess.Popen[str]:
    settings, catalog = tmp_path / "settings.yaml", tmp_path / "models.yaml"
    return aggregator_process(settings, catalog, kafka_bootstrap, port, f"restart-{topic}")


def _metric(port: int, pattern: str) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return None
    match = re.search(pattern + r" ([0-9.e+]+)", text)
    return float(match.group(1)) if match else None


def test_a_killed_aggregator_loses_no_waiting_prediction(kafka, kafka_bootstrap, new_topic, tmp_path):
    topic = new_topic(partitions=1)
    (tmp_path / "models.yaml").write_text(CATALOG)
    (tmp_path / "settings.yaml").write_text(
        f"aggregator: {{topic: {topic}, labels_topic: {topic}.labels, session_timeout_ms: 6000,"
        f" heartbeat_interval_ms: 1000, metrics_host: 127.0.0.1, join_state_dir: {tmp_path / 'join'},"
        f" join_snapshot_seconds: 0.5, commit_interval_seconds: 0.2}}\n"
    )
    rng = np.random.default_rng(11)
    n = 2_000
    ids = [f"c{i}" for i in range(n)]
    p = rng.random(n)
    churned = (rng.random(n) < p).astype(int)
    port = free_port()
    first = _start(tmp_path, kafka_bootstrap, topic, port)
    pending = r'modelmon_label_join_pending_records\{kind="predictions",model="churn",namespace="test"\}'
    try:
        with Publisher(kafka, PublisherSettings(topic=topic)) as out:
            log_predictions(
                out,
                "test/churn",
                {"x": rng.normal(size=n)},
                {"p": p},
                version="v1",
                request_ids=ids,
                event_times=1_700_000_000.0 + np.arange(n) / 100,
            )
            assert out.flush(30)
        wait_until(lambda: _metric(port, pending) == n, 90, what="every prediction waiting for its label")
        wait_until((tmp_path / "join" / "partition-0" / "offsets.json").exists, 30, what="a snapshot")
        first.send_signal(signal.SIGKILL)  # no hand-over, no last snapshot
        first.communicate(timeout=30)
        port = free_port()
        second = _start(tmp_path, kafka_bootstrap, topic, port)
        try:
            with Publisher(kafka, PublisherSettings(topic=f"{topic}.labels")) as out:
                log_labels(
                    out,
                    "test/churn",
                    {"churned": churned},
                    request_ids=ids,
                    event_times=np.full(n, 1_700_100_000.0),
                )
                assert out.flush(30)
            joined = r'modelmon_label_join_events_total\{event="joined",model="churn",namespace="test"\}'
            wait_until(lambda: _metric(port, joined) == n, 90, what="every label joined after the restart")
            assert _metric(port, pending) == 0
            realized = r'modelmon_quality_metric\{metric="accuracy",model="churn",namespace="test",segment="",version="v1"\}'
            # the quality window is published on the poll after the join: wait for it, do not race it
            wait_until(lambda: _metric(port, realized) is not None, 30, what="the realized accuracy")
            accuracy = _metric(port, realized)
            assert accuracy is not None and 0.5 < accuracy < 1.0
        finally:
            second.send_signal(signal.SIGTERM)
            output, _ = second.communicate(timeout=60)
        assert second.returncode == 0, output[-3000:]
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate(timeout=30)
