"""Late labels through the real broker: out of order, early, duplicated and expired, joined exactly."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from sklearn import metrics

from agent.catalog import parse_catalog
from agent.publisher import Publisher
from agent.sdk import log_labels, log_predictions
from agent.settings import PublisherSettings
from tests.helpers import wait_until
from tests.integration.test_pipeline import Running

pytestmark = pytest.mark.integration

CATALOG = parse_catalog(
    """
models:
  - namespace: test
    name: fraud
    versions: [v1]
    window: {size: 10s, allowed_lateness: 0s}
    drift: {min_window_records: 5, domain_classifier: false}
    features: [{name: x, type: float}]
    outputs: [{name: p, type: float}]
    quality: {task: classification, label: fraud, classes: [0, 1], scores: {"1": p}, label_lateness: 60s}
"""
)
MODEL = "test/fraud"
T0 = 1_700_000_000.0


def test_labels_join_through_the_broker_with_every_awkward_case_counted(kafka, new_topic):
    topic = new_topic(partitions=2)
    running = Running(kafka, topic, f"g-{uuid.uuid4().hex[:8]}", CATALOG, 2)
    rng = np.random.default_rng(7)
    n = 600
    ids = np.array([f"req-{i}" for i in range(n)])
    truth = rng.integers(0, 2, n)
    p = np.clip(truth * 0.45 + rng.random(n) * 0.55, 0, 1)
    times = T0 + np.arange(n) / n * 20.0  # two 10-second windows
    labelled = rng.permutation(n)[:450]
    early, late = labelled[:100], labelled[100:]
    try:
        labels_out = Publisher(kafka, PublisherSettings(topic=running.settings.labels_topic))
        predictions_out = Publisher(kafka, PublisherSettings(topic=topic))
        with labels_out, predictions_out:
            # 100 labels before their predictions, plus one for a request that never comes
            log_labels(
                labels_out,
                MODEL,
                {"fraud": truth[early]},
                request_ids=ids[early],
                event_times=np.full(100, T0 + 1),
            )
            log_labels(
                labels_out, MODEL, {"fraud": [1]}, request_ids=["never-predicted"], event_times=[T0 + 2]
            )
            assert labels_out.flush(30)
            wait_until(
                lambda: running.aggregator.labels.pending_bytes > 0, 60, what="the early labels to wait"
            )
            for chunk in np.array_split(rng.permutation(n), 6):  # predictions out of order
                log_predictions(
                    predictions_out,
                    MODEL,
                    {"x": rng.normal(size=len(chunk))},
                    {"p": p[chunk]},
                    version="v1",
                    request_ids=ids[chunk],
                    event_times=times[chunk],
                )
            assert predictions_out.flush(30)
            shuffled = rng.permutation(late)
            for chunk in np.array_split(shuffled, 5):  # the rest, out of order, with a duplicate batch
                log_labels(
                    labels_out,
                    MODEL,
                    {"fraud": truth[chunk]},
                    request_ids=ids[chunk],
                    event_times=np.full(len(chunk), T0 + 30),
                )
            log_labels(
                labels_out,
                MODEL,
                {"fraud": truth[late[:20]]},
                request_ids=ids[late[:20]],
                event_times=np.full(20, T0 + 31),
            )
            assert labels_out.flush(30)
            # a prediction far later moves the join's clock (prediction time) past the bound: what
            # waits since T0 + 2 is given up
            log_predictions(
                predictions_out,
                MODEL,
                {"x": [0.0]},
                {"p": [0.5]},
                version="v1",
                request_ids=["clock"],
                event_times=[T0 + 100],
            )
            assert predictions_out.flush(30)

        def counts() -> dict[str, int]:
            with running.aggregator.stats.lock:
                return dict(running.aggregator.stats.label_join.get(("test", "fraud"), {}))

        wait_until(
            lambda: counts().get("joined") == 450 and counts().get("duplicate_labels") == 20,
            60,
            what="450 labels joined",
        )
        wait_until(
            lambda: counts().get("expired_predictions") == n - 450 and counts().get("expired_labels") == 1,
            60,
            what="unlabelled predictions and the orphan label given up",
        )
    finally:
        running.stop()
    final = counts()
    assert final["labels"] == 450 + 1 + 20 and final["predictions"] == n + 1
    assert final["expired_labels"] == 1  # "never-predicted"; the "clock" prediction is the newest and waits
    with running.sink.lock:
        latest = {}
        for result in running.sink.quality:
            latest[result.key.start_us] = result  # each update replaces the window's previous one
    assert sum(r.labelled for r in latest.values()) == 450
    for start_us, result in latest.items():
        in_window = labelled[(times[labelled] * 1e6 // 10_000_000 * 10_000_000) == start_us]
        predicted = (p[in_window] >= 0.5).astype(int)
        assert result.labelled == len(in_window) and result.predictions == 300
        assert result.metrics.values["accuracy"] == pytest.approx(
            metrics.accuracy_score(truth[in_window], predicted), abs=1e-12
        )
        assert result.metrics.values["roc_auc"] == pytest.approx(
            metrics.roc_auc_score(truth[in_window], p[in_window]), abs=1e-12
        )
