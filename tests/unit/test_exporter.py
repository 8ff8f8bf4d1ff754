from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agent import metric_catalog as mc
from drift.adapters.prometheus import ModelmonCollector, ResultStore
from drift.adapters.stats import AggregatorStats
from drift.core.compute import compute_window
from drift.core.reference import build_reference
from drift.core.results import WindowKey
from tests.helpers import small_catalog

MODEL = small_catalog().models["test/m0"]


def scrape(store: ResultStore, stats: AggregatorStats) -> dict[tuple[str, tuple], float]:
    registry = CollectorRegistry()
    registry.register(ModelmonCollector(store, stats))
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_closed_window_shows_as_series_with_catalog_names_and_labels():
    rng = np.random.default_rng(0)
    reference = build_reference(
        pd.DataFrame({"x": rng.normal(0, 1, 1000), "y": rng.normal(0, 1, 1000), "p": rng.random(1000)}), MODEL
    )
    frame = pd.DataFrame(
        {
            "feature.x": rng.normal(2, 1, 100),
            "feature.y": rng.normal(0, 1, 100),
            "output.p": rng.random(100),
            "latency_seconds": np.linspace(0.01, 0.1, 100),
            "status_code": [200] * 95 + [500] * 5,
        }
    )
    result = compute_window(MODEL, WindowKey("test/m0", "v1", 0), 1_000_000, frame, reference)
    store, stats = ResultStore(), AggregatorStats()
    store.publish(MODEL, result)
    store.publish(MODEL, result)
    stats.messages_rejected[("t", "malformed")] += 3
    samples = scrape(store, stats)
    ids = (("model", "m0"), ("namespace", "test"), ("segment", ""), ("version", "v1"))
    x = next(c for c in result.columns if c.column == "x")
    assert x.statistic == "ks"  # Evidently's choice for a reference of 1,000 numbers
    column = tuple(sorted((*ids, ("feature", "x"), ("role", "input"), ("statistic", "ks"))))
    assert samples[(mc.FEATURE_DRIFT_SCORE.name, column)] == x.score
    assert samples[(mc.FEATURE_DRIFT_P_VALUE.name, column)] == x.p_value
    assert samples[(mc.FEATURE_DRIFT_DETECTED.name, column)] == 1.0
    assert samples[(mc.WINDOW_RECORDS.name, ids)] == 100
    assert samples[(mc.WINDOW_ERROR_RATIO.name, ids)] == 0.05
    assert samples[(mc.PREDICTIONS.name, ids)] == 200
    assert samples[(mc.WINDOWS_CLOSED.name, ids)] == 2
    assert (
        samples[(mc.WINDOW_LATENCY.name, tuple(sorted((*ids, ("quantile", "0.99")))))] == result.latency.p99
    )
    assert samples[(mc.WINDOW_LATENCY.name + "_count", ids)] == 100
    assert samples[(mc.DATASET_DRIFT_SHARE.name, ids)] == result.drift_share
    assert samples[(mc.DATASET_DRIFT_STREAK.name, ids)] == (2 if result.dataset_drifted else 0)
    assert samples[(mc.AGGREGATOR_MESSAGES_REJECTED.name, (("reason", "malformed"), ("topic", "t")))] == 3


def test_segments_and_sliding_windows_are_labelled_and_counted_once():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"feature.x": rng.normal(0, 1, 50), "feature.y": rng.normal(0, 1, 50)})
    whole = compute_window(MODEL, WindowKey("test/m0", "v1", 0), 1_000_000, frame, None)
    segment = compute_window(
        MODEL, WindowKey("test/m0", "v1", 0, "region=north"), 1_000_000, frame[:20], None
    )
    store, stats = ResultStore(), AggregatorStats()
    store.publish(MODEL, replace(whole, fresh_records=30))  # 20 of the rows were in an earlier window
    store.publish(MODEL, segment)
    stats.segment_overflow[("test", "m0", "v1", "region")] += 7
    samples = scrape(store, stats)
    ids = (("model", "m0"), ("namespace", "test"), ("version", "v1"))
    assert samples[(mc.WINDOW_RECORDS.name, tuple(sorted((*ids, ("segment", "")))))] == 50
    assert samples[(mc.PREDICTIONS.name, tuple(sorted((*ids, ("segment", "")))))] == 30
    assert samples[(mc.WINDOW_RECORDS.name, tuple(sorted((*ids, ("segment", "region=north")))))] == 20
    overflow = tuple(sorted((*ids, ("segment_column", "region"))))
    assert samples[(mc.SEGMENT_OVERFLOW.name, overflow)] == 7


def test_metric_names_follow_prometheus_conventions():
    for spec in mc.ALL_METRICS:
        assert spec.name.startswith("modelmon_")
        assert (spec.type == "counter") == spec.name.endswith("_total"), spec.name
        if spec.unit:
            assert spec.name.endswith(f"_{spec.unit}"), spec.name


def test_estimates_before_labels_are_exported_and_reconciled_with_the_realized_metrics():
    from agent.catalog import parse_catalog
    from drift.core.join import Joined
    from drift.core.quality_windows import QualityWindows
    from drift.core.reference import reference_from_table, reference_to_table

    model = parse_catalog(
        """
models:
  - namespace: t
    name: clf
    features: [{name: x, type: float}]
    outputs: [{name: p, type: float}]
    quality: {task: classification, label: y, classes: [0, 1], scores: {"1": p}}
"""
    ).models["t/clf"]
    rng = np.random.default_rng(4)
    p = rng.random(5000)
    reference = build_reference(
        pd.DataFrame({"x": rng.normal(size=5000), "p": p, "y": (rng.random(5000) < p).astype(int)}), model
    )
    assert reference.calibration is not None
    reference = reference_from_table(reference_to_table(reference))  # the calibration travels in the file
    assert reference.calibration is not None
    window_p = rng.random(600)
    frame = pd.DataFrame({"feature.x": rng.normal(size=600), "output.p": window_p})
    result = compute_window(model, WindowKey("t/clf", "v1", 0), 60_000_000, frame, reference)
    accuracy = next(e for e in result.estimates if e.metric == "accuracy")
    assert accuracy.lower < accuracy.value < accuracy.upper
    store, stats = ResultStore(), AggregatorStats()
    store.publish(model, result)
    truth = (rng.random(600) < window_p).astype(float)
    windows = QualityWindows(model)
    windows.count_predictions(np.full(600, "v1", dtype=object), np.zeros(600, dtype=np.int64))
    joined = Joined(
        np.zeros(600, np.int32),
        np.zeros(600, np.int64),
        np.ones(600, np.int64),
        (window_p >= 0.5).astype(float),
        truth,
        {"1": window_p},
    )
    (quality,) = windows.add(joined, ["v1"])
    store.publish_quality(model, quality)
    samples = scrape(store, stats)
    ids = (("model", "clf"), ("namespace", "t"), ("segment", ""), ("version", "v1"))
    key = tuple(sorted((*ids, ("metric", "accuracy"))))
    assert samples[("modelmon_quality_estimate", key)] == accuracy.value
    realized = quality.metrics.values["accuracy"]
    assert samples[("modelmon_quality_metric", key)] == realized
    assert samples[("modelmon_quality_estimate_error", key)] == pytest.approx(realized - accuracy.value)
    assert accuracy.lower <= realized <= accuracy.upper  # a calibrated model: inside the band
