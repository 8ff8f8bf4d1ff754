"""Segments: split by value under a cardinality cap, each compared with its own reference slice."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from agent.catalog import parse_catalog
from drift.core.compute import compute_segments
from drift.core.errors import ReferenceDataError
from drift.core.reference import build_reference, reference_from_table, reference_to_table
from drift.core.results import DriftStatus, WindowKey
from drift.core.segments import MISSING, OTHER, most_frequent, segment_keys, split_segments

MODEL = parse_catalog(
    """
models:
  - namespace: t
    name: m
    versions: [v1]
    drift: {min_window_records: 20, domain_classifier: false}
    features: [{name: x, type: float}, {name: region, type: category}]
    outputs: [{name: p, type: float}]
    segments: [{column: region, max_cardinality: 2}]
"""
).models["t/m"]


def _reference(rng: np.random.Generator, rows: int = 3000) -> pd.DataFrame:
    region = rng.choice(["a", "b", "c", "d"], rows, p=[0.5, 0.3, 0.15, 0.05])
    # Each region has its own distribution of x: a segment must be judged against its own slice.
    x = np.where(region == "a", 0.0, 5.0) + rng.normal(0, 1, rows)
    return pd.DataFrame({"x": x, "region": region, "p": rng.random(rows)})


def _window(reference: pd.DataFrame) -> pd.DataFrame:
    return reference.rename(columns={"x": "feature.x", "region": "feature.region", "p": "output.p"})


def test_most_frequent_breaks_ties_by_value_and_missing_values_have_a_name():
    keys = segment_keys(pd.Series(["b", "a", None, "b", "a", "c"]))
    assert list(keys) == ["b", "a", MISSING, "b", "a", "c"]
    assert most_frequent(keys, 2) == ("a", "b")
    assert most_frequent(keys[:0], 3) == ()


def test_the_reference_decides_the_segments_and_the_rest_overflow_to_other():
    rng = np.random.default_rng(0)
    reference = build_reference(_reference(rng), MODEL, "v1")
    assert reference.segment_values == {"region": ("a", "b")}
    assert set(reference.segments) == {"region=a", "region=b", f"region={OTHER}"}
    window = _window(_reference(rng, 400))
    window.loc[:9, "feature.region"] = "new"  # never seen: overflow
    slices = split_segments(MODEL, window, reference.segment_values)
    assert [s.label for s in slices] == ["region=a", "region=b", f"region={OTHER}"]
    assert sum(len(s.frame) for s in slices) == len(window)
    masks = np.vstack([s.rows for s in slices])
    assert (masks.sum(axis=0) == 1).all()  # every row in exactly one segment
    other = slices[-1]
    assert other.overflow and not slices[0].overflow
    assert set(other.frame["feature.region"]) >= {"c", "d", "new"}


def test_without_a_reference_the_window_caps_its_own_values():
    window = pd.DataFrame({"feature.region": ["z"] * 5 + ["y"] * 3 + ["x"] * 2, "feature.x": range(10)})
    slices = split_segments(MODEL, window, {})
    assert [(s.label, len(s.frame)) for s in slices] == [
        ("region=z", 5),
        ("region=y", 3),
        (f"region={OTHER}", 2),
    ]
    assert split_segments(MODEL, window.drop(columns="feature.region"), {}) == []


def test_each_segment_is_compared_with_its_own_slice_of_the_reference():
    rng = np.random.default_rng(1)
    reference = build_reference(_reference(rng), MODEL, "v1")
    window = _window(_reference(rng, 2000))
    results = {
        part.label: result
        for part, result in compute_segments(MODEL, WindowKey("t/m", "v1", 0), 1, window, reference)
    }
    assert set(results) == {"region=a", "region=b", f"region={OTHER}"}
    for label, result in results.items():
        x = next(c for c in result.columns if c.column == "x")
        assert x.status is DriftStatus.OK and not x.drifted, label  # same distribution as its slice
        assert result.key.segment == label
    shifted = window.copy()
    shifted.loc[shifted["feature.region"] == "b", "feature.x"] += 3
    after = {p.label: r for p, r in compute_segments(MODEL, WindowKey("t/m", "v1", 0), 1, shifted, reference)}
    assert next(c for c in after["region=b"].columns if c.column == "x").drifted
    assert not next(c for c in after["region=a"].columns if c.column == "x").drifted


def test_segment_profiles_round_trip_through_the_profile_file(tmp_path):
    rng = np.random.default_rng(2)
    reference = build_reference(_reference(rng), MODEL, "v1")
    path = tmp_path / "profile.parquet"
    pq.write_table(reference_to_table(reference), path)
    loaded = reference_from_table(pq.read_table(path))
    assert loaded.segment_values == reference.segment_values
    assert set(loaded.segments) == set(reference.segments)
    for label, segment in reference.segments.items():
        assert loaded.segments[label].rows == segment.rows
        np.testing.assert_array_equal(loaded.segments[label].columns["x"].values, segment.columns["x"].values)
    window = _window(_reference(rng, 500))
    key = WindowKey("t/m", "v1", 0)
    results = [r for _, r in compute_segments(MODEL, key, 1, window, loaded)]
    assert results == [r for _, r in compute_segments(MODEL, key, 1, window, reference)]


def test_an_old_profile_format_is_refused_with_a_rebuild_hint():
    table = pa.table({"column": ["x"]}).replace_schema_metadata(
        {
            b"modelmon.reference": b'{"format_version": 1, "model": "t/m", "version": "*", "rows": 1, "columns": {}}'
        }
    )
    with pytest.raises(ReferenceDataError, match="reference build"):
        reference_from_table(table)
