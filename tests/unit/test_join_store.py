"""Join snapshots round-trip: what waited, what was joined, the counters and the quality windows."""

import numpy as np
import pandas as pd

from agent.catalog import Catalog
from drift.adapters.join_store import JoinSnapshots
from drift.core.join import LabelJoin
from drift.core.quality_windows import QualityWindows
from tests.unit.test_join import MODEL, SECOND, labels, predictions


def test_a_snapshot_restores_the_join_exactly(tmp_path):
    join, windows = LabelJoin(MODEL), QualityWindows(MODEL)
    frame, event_us = predictions([f"r{i}" for i in range(100)], np.arange(100), np.linspace(0, 1, 100))
    windows.count_predictions(frame["model_version"].to_numpy(), event_us)
    join.add_predictions(frame, event_us)
    windows.add(
        join.add_labels(*labels([f"r{i}" for i in range(0, 100, 2)], [200] * 50, [1] * 50)), join.versions
    )
    join.add_labels(*labels(["early"], [201], [0]))
    store = JoinSnapshots(tmp_path)
    store.save(3, {MODEL.identity: (join, windows)}, predictions_until=42, labels_until=7)
    store.save(3, {MODEL.identity: (join, windows)}, predictions_until=43, labels_until=8)  # replaces
    snapshot = store.load(3, Catalog({MODEL.identity: MODEL}))
    assert snapshot is not None and (snapshot.predictions_until, snapshot.labels_until) == (43, 8)
    restored, restored_windows = snapshot.models[MODEL.identity]
    assert restored.counts == join.counts and restored.versions == join.versions
    assert (restored.pending_predictions, restored.pending_labels) == (50, 1)
    for window in (0, 60 * SECOND):
        assert restored_windows.result("v1", "", window) == windows.result("v1", "", window)
    # the restored join goes on: the rest joins, a repeated label is a duplicate
    rest = [f"r{i}" for i in range(1, 100, 2)]
    assert len(restored.add_labels(*labels(rest, [300] * 50, [0] * 50))) == 50
    assert (
        len(restored.add_labels(*labels(["r0"], [301], [1]))) == 0 and restored.counts.duplicate_labels == 1
    )
    assert (
        len(
            restored.add_predictions(
                pd.DataFrame({"request_id": ["early"], "model_version": "v1", "output.p": [0.3]}),
                np.array([5 * SECOND]),
            )
        )
        == 1
    )
    assert store.load(4, Catalog({MODEL.identity: MODEL})) is None
    assert store.load(3, Catalog({})).models == {}  # a model no longer in the catalog is skipped


def test_a_restored_join_keeps_spilling_and_a_half_swapped_snapshot_still_loads(tmp_path):
    from drift.adapters.labels import LabelTracker
    from drift.adapters.stats import AggregatorStats
    from drift.core.spill import MemorySpill

    join, windows = LabelJoin(MODEL, max_pending=1000), QualityWindows(MODEL)
    frame, event_us = predictions([f"r{i}" for i in range(300)], np.arange(300), np.full(300, 0.5))
    join.add_predictions(frame, event_us)
    store = JoinSnapshots(tmp_path)
    store.save(0, {MODEL.identity: (join, windows)}, predictions_until=1, labels_until=None)
    (tmp_path / "partition-0").rename(tmp_path / "partition-0.old")  # a crash between the renames
    snapshot = store.load(0, Catalog({MODEL.identity: MODEL}))
    assert snapshot is not None and snapshot.models[MODEL.identity][0].pending_predictions == 300
    spill = MemorySpill()
    tracker = LabelTracker(None, AggregatorStats(), max_pending=100, spill=spill)
    tracker.restore(0, snapshot.models)
    restored = snapshot.models[MODEL.identity][0]
    assert restored.counts.spilled_predictions > 0 and restored.counts.evicted_predictions == 0
    assert spill.stored and restored.pending_predictions == 300
