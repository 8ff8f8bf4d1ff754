"""The real exporter, scraped by real promtool and a real Prometheus."""

from __future__ import annotations

import subprocess
import urllib.request
import uuid
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from agent.catalog.load import load_catalog
from agent.publisher import Publisher
from agent.sdk import log_labels, log_predictions
from agent.settings import PublisherSettings
from deploy.prometheus import LocalPrometheus
from deploy.services import AggregatorService
from tests.helpers import aggregator_settings, wait_until

pytestmark = pytest.mark.e2e

CATALOG = """
models:
  - namespace: shop
    name: ranker
    versions: [v1]
    window: {size: 1s, allowed_lateness: 0s}
    drift: {min_window_records: 10}
    features: [{name: x, type: float}, {name: y, type: float}]
    outputs: [{name: p, type: float}]
    reference: {path: reference.parquet}
    quality: {task: classification, label: clicked, classes: [0, 1], scores: {"1": p}}
"""


@pytest.fixture(scope="module")
def service(kafka_bootstrap, tmp_path_factory):
    from agent.settings import KafkaSettings

    folder = tmp_path_factory.mktemp("e2e")
    rng = np.random.default_rng(5)
    pd.DataFrame({"x": rng.normal(0, 1, 5000), "y": rng.normal(0, 1, 5000)}).to_parquet(
        folder / "reference.parquet"
    )
    (folder / "models.yaml").write_text(CATALOG)
    catalog = load_catalog(folder / "models.yaml")
    kafka = KafkaSettings(bootstrap_servers=(kafka_bootstrap,))
    topic = f"e2e.{uuid.uuid4().hex[:8]}"
    settings = aggregator_settings(kafka, topic)
    running = AggregatorService.start(settings, catalog, partitions=1)
    ids = [f"q{i}" for i in range(3000)]
    clicked = rng.integers(0, 2, 3000)
    with Publisher(kafka, replace(PublisherSettings(), topic=topic)) as publisher:
        times = 1_700_000_000.0 + np.linspace(0, 2.999, 3000)
        log_predictions(
            publisher,
            "shop/ranker",
            {"x": rng.normal(1.0, 1, 3000), "y": rng.normal(0, 1, 3000)},
            {"p": np.clip(clicked * 0.4 + rng.random(3000) * 0.6, 0, 1)},
            version="v1",
            request_ids=ids,
            event_times=times,
            latencies=rng.gamma(2, 0.01, 3000),
            status_codes=np.where(rng.random(3000) < 0.05, 500, 200),
        )
        assert publisher.flush(30)
    with Publisher(kafka, replace(PublisherSettings(), topic=settings.labels_topic)) as labels:
        log_labels(labels, "shop/ranker", {"clicked": clicked}, request_ids=ids, event_times=times + 60)
        assert labels.flush(30)
    wait_until(lambda: sum(s.windows for s in running.store.snapshot()) == 3, 60, what="three closed windows")
    wait_until(lambda: sum(r.labelled for _, r in running.store.quality()) > 0, 60, what="realized quality")
    yield running
    running.stop()


def _exposition(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def test_exposition_passes_promtool_check_metrics(service, promtool):
    text = _exposition(service.metrics_port)
    assert 'modelmon_feature_drift_score{feature="x"' in text
    for family in (
        "modelmon_quality_metric{",
        "modelmon_prediction_latency_seconds_bucket{",
        "modelmon_label_delay_seconds_bucket{",
    ):
        assert family in text, family
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_prometheus_scrapes_the_aggregator_and_promql_returns_the_drift_score(service, prometheus):
    (state,) = service.store.snapshot()
    result = state.latest
    expected = {c.column: c.score for c in result.columns if c.role == "input"}
    with LocalPrometheus([f"127.0.0.1:{service.metrics_port}"]) as server:
        query = 'modelmon_feature_drift_score{namespace="shop",model="ranker",version="v1"}'
        wait_until(lambda: len(server.query(query)) == 2, 60, what="drift scores in Prometheus")
        got = {r["metric"]["feature"]: float(r["value"][1]) for r in server.query(query)}
        assert got == pytest.approx(expected, rel=1e-12)
        assert got["x"] > 0.1 > got["y"]
        share = server.query('modelmon_dataset_drift_share_ratio{model="ranker"}')
        assert float(share[0]["value"][1]) == pytest.approx(0.5)
        p99 = server.query('modelmon_window_latency_seconds{model="ranker",quantile="0.99"}')
        assert float(p99[0]["value"][1]) == pytest.approx(result.latency.p99)
        # The fixed-bucket histogram adds up across status classes (and pods) in PromQL.
        total = server.query('sum(modelmon_prediction_latency_seconds_count{model="ranker"})')
        assert float(total[0]["value"][1]) == 3000
        quantile = server.query(
            'histogram_quantile(0.5, sum by (le) (modelmon_prediction_latency_seconds_bucket{model="ranker"}))'
        )
        assert 0.01 < float(quantile[0]["value"][1]) < 0.05  # gamma(2, 0.01): median about 0.017
        ((_, quality),) = service.store.quality()
        accuracy = server.query('modelmon_quality_metric{model="ranker",metric="accuracy"}')
        assert float(accuracy[0]["value"][1]) == pytest.approx(quality.metrics.values["accuracy"], rel=1e-12)
