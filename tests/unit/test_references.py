import numpy as np
import pandas as pd

from agent.catalog.load import parse_catalog
from drift.adapters.references import ReferenceCache

CATALOG = """
models:
  - namespace: t
    name: m
    reference: {from_traffic: 250}
    features: [{name: x, type: float}, {name: c, type: category}]
"""


def test_reference_from_the_first_records_of_traffic():
    model = parse_catalog(CATALOG).models["t/m"]
    cache = ReferenceCache()
    rng = np.random.default_rng(0)
    windows = [
        pd.DataFrame(
            {
                "request_id": [f"{i}-{j}" for j in range(100)],
                "feature.x": rng.normal(i, 1, 100),
                "feature.c": ["a"] * 100,
            }
        )
        for i in range(4)
    ]
    for window in windows[:2]:
        cache.observe(model, "v1", window)
        assert cache.get(model, "v1") is None  # 200 < 250 records so far
    cache.observe(model, "v1", windows[2])
    profile = cache.get(model, "v1")
    assert profile is not None and profile.rows == 250 and profile.source == "traffic"
    expected = np.sort(np.concatenate([w["feature.x"] for w in windows[:3]])[:250])
    np.testing.assert_array_equal(profile.columns["x"].values, expected)
    cache.observe(model, "v1", windows[3])  # complete: later windows do not change it
    assert cache.get(model, "v1") is profile
    assert cache.get(model, "v2") is None  # each version gathers its own


def test_rows_shared_by_overlapping_windows_are_gathered_once():
    model = parse_catalog(CATALOG).models["t/m"]
    cache = ReferenceCache()
    rows = pd.DataFrame(
        {"request_id": [str(i) for i in range(300)], "feature.x": np.arange(300.0), "feature.c": ["a"] * 300}
    )
    cache.observe(model, "v1", rows.iloc[0:200])
    cache.observe(model, "v1", rows.iloc[100:240])  # sliding: rows 100..199 again; 240 distinct so far
    assert cache.get(model, "v1") is None
    cache.observe(model, "v1", rows.iloc[200:300])
    profile = cache.get(model, "v1")
    assert profile is not None
    np.testing.assert_array_equal(profile.columns["x"].values, np.arange(250.0))
