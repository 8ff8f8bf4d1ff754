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
            {"request_id": [str(i)] * 100, "feature.x": rng.normal(i, 1, 100), "feature.c": ["a"] * 100}
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
