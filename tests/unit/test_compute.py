import math

import numpy as np
import pandas as pd
import pytest

from drift.core.compute import compute_window, summarize_latency
from drift.core.reference import build_reference
from drift.core.results import DriftStatus, WindowKey
from tests.helpers import small_catalog

MODEL = small_catalog(min_records=30).models["test/m0"]
RNG = np.random.default_rng(3)
REFERENCE = build_reference(
    pd.DataFrame({"x": RNG.normal(0, 1, 5000), "y": RNG.normal(0, 1, 5000), "p": RNG.random(5000)}), MODEL
)


def frame(n: int, shift_x: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "feature.x": RNG.normal(shift_x, 1, n),
            "feature.y": RNG.normal(0, 1, n),
            "output.p": RNG.random(n),
            "latency_seconds": RNG.gamma(2, 0.01, n),
            "status_code": RNG.choice([200, 503], n, p=[0.9, 0.1]),
        }
    )


def test_window_result_has_counts_errors_latency_and_drift():
    data = frame(2000, shift_x=1.0)
    result = compute_window(MODEL, WindowKey("test/m0", "v1", 0), 1_000_000, data, REFERENCE)
    assert result.records == 2000
    assert result.error_records == int((data["status_code"] >= 400).sum())
    assert result.latency is not None
    expected = np.quantile(data["latency_seconds"], [0.5, 0.9, 0.95, 0.99])
    assert [result.latency.p50, result.latency.p90, result.latency.p95, result.latency.p99] == pytest.approx(
        expected, abs=1e-12
    )
    by_name = {c.column: c for c in result.columns}
    assert by_name["x"].drifted and not by_name["y"].drifted
    assert by_name["p"].role == "output"
    assert result.drift_share == pytest.approx(1 / 3)
    assert not result.dataset_drifted


@pytest.mark.parametrize(
    ("data", "reference", "status"),
    [
        (frame(10), REFERENCE, DriftStatus.INSUFFICIENT_DATA),
        (frame(100).drop(columns=["feature.y"]), REFERENCE, DriftStatus.MISSING_COLUMN),
        (frame(100), None, DriftStatus.NO_REFERENCE),
        (frame(100).assign(**{"feature.y": np.nan}), REFERENCE, DriftStatus.INSUFFICIENT_DATA),
    ],
)
def test_columns_that_cannot_be_scored_say_why(data, reference, status):
    result = compute_window(MODEL, WindowKey("test/m0", "v1", 0), 1, data, reference)
    y = next(c for c in result.columns if c.column == "y")
    assert y.status is status
    assert math.isnan(y.score) and not y.drifted


def test_inf_and_nan_values_are_ignored_not_fatal():
    data = frame(200)
    data.loc[:9, "feature.x"] = [np.inf, -np.inf, np.nan] * 3 + [np.nan]
    result = compute_window(MODEL, WindowKey("test/m0", "v1", 0), 1, data, REFERENCE)
    x = next(c for c in result.columns if c.column == "x")
    assert x.status is DriftStatus.OK and x.current_count == 190


def test_latency_summary_of_nothing_is_none():
    assert summarize_latency(np.array([np.nan])) is None


def test_calls_kept_as_metadata_count_in_records_errors_and_latency_but_not_in_drift():
    data = frame(1000)
    metadata = pd.DataFrame(
        {
            "latency_seconds": np.full(500, 5.0),
            "status_code": np.full(500, 500),
            "unparsed": ["not_json"] * 500,
        }
    )
    combined = pd.concat([data.assign(unparsed=None), metadata], ignore_index=True)
    key = WindowKey("test/m0", "v1", 0)
    alone = compute_window(MODEL, key, 1, data, REFERENCE)
    both = compute_window(MODEL, key, 1, combined, REFERENCE)
    assert both.records == 1500 and both.error_records == alone.error_records + 500
    assert both.latency is not None and both.latency.p99 == 5.0
    assert [(c.column, c.score, c.current_count) for c in both.columns] == [
        (c.column, c.score, c.current_count) for c in alone.columns
    ]
