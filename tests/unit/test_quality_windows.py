"""Quality per window of prediction time, recomputed as labels for it arrive."""

import numpy as np
import pandas as pd
from sklearn import metrics

from drift.core.join import LabelJoin
from drift.core.quality_windows import QualityWindows
from tests.unit.test_join import MODEL, SECOND


def test_coverage_and_metrics_follow_the_labels_of_each_window():
    join, windows = LabelJoin(MODEL), QualityWindows(MODEL)  # windows of 60 s (the default size)
    rng = np.random.default_rng(0)
    n = 400
    ids = np.array([f"r{i}" for i in range(n)], dtype=object)
    seconds = np.where(np.arange(n) < 300, 10.0, 70.0)  # 300 predictions in [0, 60), 100 in [60, 120)
    truth = rng.integers(0, 2, n)
    p = np.clip(truth * 0.5 + rng.random(n) * 0.6, 0, 1)
    frame = pd.DataFrame({"request_id": ids, "model_version": "v1", "output.p": p})
    event_us = (seconds * SECOND).astype(np.int64)
    windows.count_predictions(frame["model_version"].to_numpy(), event_us)
    join.add_predictions(frame, event_us)
    first = rng.permutation(n)[:200]
    label_frame = pd.DataFrame({"request_id": ids[first], "label.y": truth[first]})
    results = windows.add(join.add_labels(label_frame, np.full(200, 500 * SECOND)), join.versions)
    by_start = {r.key.start_us: r for r in results}
    early = by_start[0]
    labelled = first[first < 300]
    assert (early.predictions, early.labelled) == (300, len(labelled))
    assert early.coverage == len(labelled) / 300
    expected = metrics.accuracy_score(truth[labelled], (p[labelled] >= 0.5).astype(int))
    assert abs(early.metrics.values["accuracy"] - expected) < 1e-12
    assert early.end_us == 60 * SECOND and by_start[60 * SECOND].predictions == 100
    rest = np.setdiff1d(np.arange(n), first)
    windows.add(
        join.add_labels(
            pd.DataFrame({"request_id": ids[rest], "label.y": truth[rest]}), np.full(len(rest), 600 * SECOND)
        ),
        join.versions,
    )
    assert windows.result("v1", "", 0).coverage == 1.0
    windows.expire(60 * SECOND + 100 * SECOND)  # first window ended 100 s (the bound) ago: gone
    assert len(windows) == 1


def test_quality_per_segment_with_the_cardinality_cap():
    from agent.catalog import parse_catalog

    model = parse_catalog(
        """
models:
  - namespace: t
    name: seg
    features: [{name: region, type: category}]
    outputs: [{name: p, type: float}]
    segments: [{column: region, max_cardinality: 2}]
    quality: {task: classification, label: y, classes: [0, 1], scores: {"1": p}}
"""
    ).models["t/seg"]
    rng = np.random.default_rng(1)
    n = 600
    region = np.array(["a", "b", "c", "d"])[rng.integers(0, 4, n)]
    ids = np.array([f"r{i}" for i in range(n)], dtype=object)
    p = rng.random(n)
    truth = (rng.random(n) < p).astype(int)
    frame = pd.DataFrame({"request_id": ids, "model_version": "v1", "feature.region": region, "output.p": p})
    event_us = np.full(n, 5 * SECOND, dtype=np.int64)
    join, windows = LabelJoin(model), QualityWindows(model)
    first_seen = sorted(set(region))[:2]  # no reference: the first two values seen (a batch's, sorted)
    windows.count_predictions(
        frame["model_version"].to_numpy(), event_us, join.segment_codes(frame), join.segment_values
    )
    join.add_predictions(frame, event_us)
    joined = join.add_labels(pd.DataFrame({"request_id": ids, "label.y": truth}), np.full(n, 9 * SECOND))
    results = {r.key.segment: r for r in windows.add(joined, join.versions, join.segment_values)}
    assert set(results) == {"", *(f"region={v}" for v in first_seen), "region=__other__"}
    for label, result in results.items():
        value = label.removeprefix("region=")
        rows = (
            np.ones(n, bool)
            if not label
            else (np.isin(region, first_seen, invert=True) if value == "__other__" else region == value)
        )
        assert (result.predictions, result.labelled) == (rows.sum(), rows.sum())
        expected = metrics.accuracy_score(truth[rows], (p[rows] >= 0.5).astype(int))
        assert abs(result.metrics.values["accuracy"] - expected) < 1e-12
    # with a reference, its values decide (as for drift)
    by_reference = {
        r.key.segment
        for r in windows.add(joined, join.versions, join.segment_values, lambda v: {"region": ("d",)})
    }
    assert by_reference == {"", "region=d", "region=__other__"}


def test_many_label_batches_are_computed_once_per_window_when_asked():
    join, windows = LabelJoin(MODEL), QualityWindows(MODEL)
    ids = np.array([f"r{i}" for i in range(100)], dtype=object)
    frame = pd.DataFrame({"request_id": ids, "model_version": "v1", "output.p": np.linspace(0, 1, 100)})
    join.add_predictions(frame, np.full(100, 5 * SECOND, dtype=np.int64))
    for chunk in np.array_split(np.arange(100), 10):  # ten small label batches
        joined = join.add_labels(
            pd.DataFrame({"request_id": ids[chunk], "label.y": 1}), np.full(len(chunk), 9 * SECOND)
        )
        assert windows.add(joined, join.versions, compute=False) == []
    (result,) = windows.pop_changed()
    assert result.labelled == 100 and result.metrics.values["accuracy"] == 0.5
    assert windows.pop_changed() == []  # nothing changed since
    assert windows.result("v1", "", 0) == result  # the window's parts were compacted, same result
