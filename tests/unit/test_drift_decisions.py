"""Dataset drift, multiple-testing control, hysteresis and the edge cases that must not crash."""

import math

import numpy as np
import pandas as pd
import pytest

from agent.catalog.load import parse_catalog
from drift.adapters.prometheus import ResultStore
from drift.core.compute import compute_window
from drift.core.multiple_testing import corrected_drift
from drift.core.reference import build_reference, reference_from_table, reference_to_table
from drift.core.results import DriftStatus, WindowKey

RNG = np.random.default_rng(8)


def model(drift: str = "{}"):
    return parse_catalog(f"""
models:
  - namespace: t
    name: m
    drift: {drift}
    features:
      - {{name: a, type: float}}
      - {{name: b, type: float}}
      - {{name: n, type: int}}
      - {{name: c, type: category}}
      - {{name: flag, type: bool}}
      - {{name: note, type: string}}
    outputs: [{{name: p, type: float}}]
""").models["t/m"]


def reference(spec, rows=3000):
    return build_reference(
        pd.DataFrame(
            {
                "a": RNG.normal(0, 1, rows),
                "b": RNG.normal(0, 1, rows),
                "n": RNG.integers(0, 4, rows),
                "c": RNG.choice(["x", "y", "z"], rows),
                "flag": RNG.random(rows) < 0.3,
                "p": RNG.random(rows),
            }
        ),
        spec,
    )


def window(rows=500, **overrides):
    data = {
        "feature.a": RNG.normal(0, 1, rows),
        "feature.b": RNG.normal(0, 1, rows),
        "feature.n": RNG.integers(0, 4, rows),
        "feature.c": RNG.choice(["x", "y", "z"], rows),
        "feature.flag": RNG.random(rows) < 0.3,
        "feature.note": ["free text"] * rows,
        "output.p": RNG.random(rows),
    }
    data.update(overrides)
    return pd.DataFrame(data)


def run(spec, frame, ref):
    return compute_window(spec, WindowKey("t/m", "v1", 0), 1, frame, ref)


def by_name(result):
    return {c.column: c for c in result.columns}


def test_default_selection_per_column_type():
    spec = model()
    columns = by_name(run(spec, window(), reference(spec)))
    assert columns["a"].statistic == "wasserstein"
    assert columns["n"].statistic == "jensenshannon"  # an integer with few values
    assert columns["c"].statistic == "jensenshannon"
    assert columns["flag"].statistic == "jensenshannon"
    assert columns["note"].status is DriftStatus.UNSUPPORTED_TYPE


def test_dataset_drift_share_and_flag():
    spec = model("{dataset_drift_share: 0.3}")
    rows = 500
    result = run(
        spec,
        window(rows, **{"feature.a": RNG.normal(2, 1, rows), "feature.b": RNG.normal(2, 1, rows)}),
        reference(spec),
    )
    drifted = {c.column for c in result.columns if c.drifted}
    assert drifted == {"a", "b"}
    assert result.drift_share == pytest.approx(2 / 6)
    assert result.dataset_drifted


@pytest.mark.parametrize(
    ("frame_change", "column", "status"),
    [
        ({"feature.a": np.full(500, 7.0)}, "a", DriftStatus.OK),  # constant column
        ({"feature.a": np.full(500, np.nan)}, "a", DriftStatus.INSUFFICIENT_DATA),  # all NaN
        ({"feature.a": np.where(np.arange(500) % 2, np.inf, 1.0)}, "a", DriftStatus.OK),  # inf dropped
        ({"feature.c": np.array(["never-seen"] * 500)}, "c", DriftStatus.OK),  # unseen categories
    ],
)
def test_edge_cases_have_defined_results(frame_change, column, status):
    spec = model()
    result = run(spec, window(**frame_change), reference(spec))
    got = by_name(result)[column]
    assert got.status is status
    if status is DriftStatus.OK:
        assert math.isfinite(got.score)
        assert got.drifted  # all three differ from the reference


def test_empty_window_missing_and_new_columns():
    spec = model()
    ref = reference(spec)
    empty = run(spec, window(0), ref)
    assert empty.records == 0 and empty.drift_share is None
    assert {c.status for c in empty.columns} <= {DriftStatus.INSUFFICIENT_DATA, DriftStatus.UNSUPPORTED_TYPE}
    missing = by_name(run(spec, window().drop(columns=["feature.b"]), ref))["b"]
    assert missing.status is DriftStatus.MISSING_COLUMN
    no_reference = build_reference(pd.DataFrame({"a": RNG.normal(size=100)}), spec)
    assert by_name(run(spec, window(), no_reference))["b"].status is DriftStatus.NO_REFERENCE


def test_bonferroni_and_benjamini_hochberg():
    p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]
    none, _ = corrected_drift(p, 0.05, "none")
    bonferroni, threshold = corrected_drift(p, 0.05, "bonferroni")
    bh, bh_threshold = corrected_drift(p, 0.05, "benjamini_hochberg")
    assert sum(none) == 5
    assert threshold == 0.005 and bonferroni == [True] + [False] * 9
    assert bh_threshold == 0.008 and bh == [True, True] + [False] * 8  # 0.039 > 3/10 * 0.05


def test_correction_applies_to_p_value_tests_in_a_window():
    plain = model("{statistic: ks, threshold: 0.05}")
    corrected = model("{statistic: ks, threshold: 0.05, multiple_testing: bonferroni}")
    ref = reference(plain)
    rng = np.random.default_rng(1)
    base = rng.normal(0, 1, 400)
    for shift in np.linspace(0.02, 0.4, 39):  # find a shift whose KS p-value is in (0.05/5, 0.05)
        frame = window(400, **{"feature.a": base + shift})
        a = by_name(run(plain, frame, ref))["a"]
        if 0.05 / 5 < a.p_value < 0.05:
            break
    else:
        pytest.fail("no shift gave a p-value between the corrected and the plain threshold")
    assert a.drifted
    corrected_a = by_name(run(corrected, frame, ref))["a"]
    assert corrected_a.p_value == a.p_value
    assert not corrected_a.drifted
    assert corrected_a.threshold < 0.05


def test_hysteresis_counts_consecutive_drifted_windows():
    spec = model("{consecutive_windows: 2, dataset_drift_share: 0.3}")
    ref = reference(spec)
    store = ResultStore()
    rows = 400
    drifted = {"feature.a": RNG.normal(3, 1, rows), "feature.b": RNG.normal(3, 1, rows)}
    for start, frame in enumerate([window(rows, **drifted), window(rows, **drifted), window(rows)]):
        store.publish(spec, compute_window(spec, WindowKey("t/m", "v1", start), start + 1, frame, ref))
        state = store.snapshot()[0]
        assert state.drift_streak == [1, 2, 0][start]
        assert state.drift_sustained is [False, True, False][start]


def test_reference_profile_round_trips_through_its_file_format(tmp_path):
    import pyarrow.parquet as pq

    spec = model()
    profile = reference(spec)
    pq.write_table(reference_to_table(profile), tmp_path / "ref.parquet")
    loaded = reference_from_table(pq.read_table(tmp_path / "ref.parquet"))
    assert loaded.rows == profile.rows and set(loaded.columns) == set(profile.columns)
    for name, column in profile.columns.items():
        np.testing.assert_array_equal(loaded.columns[name].values, column.values)
        np.testing.assert_array_equal(loaded.columns[name].uniques, column.uniques)
        np.testing.assert_array_equal(loaded.columns[name].counts, column.counts)
    frame = window()
    assert by_name(run(spec, frame, loaded))["a"].score == by_name(run(spec, frame, profile))["a"].score
