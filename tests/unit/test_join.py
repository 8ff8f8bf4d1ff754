"""The label join: out of order, early, late, duplicated and expired labels, counted exactly."""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agent.catalog import parse_catalog
from drift.core.join import LabelJoin

MODEL = parse_catalog(
    """
models:
  - namespace: t
    name: m
    versions: [v1, v2]
    features: [{name: x, type: float}]
    outputs: [{name: p, type: float}]
    quality: {task: classification, label: y, classes: [0, 1], scores: {"1": p}, label_lateness: 100s}
"""
).models["t/m"]
SECOND = 1_000_000


def predictions(ids, seconds, p, version="v1"):
    frame = pd.DataFrame({"request_id": ids, "model_version": version, "output.p": p})
    return frame, (np.asarray(seconds, dtype=float) * SECOND).astype(np.int64)


def labels(ids, seconds, y):
    frame = pd.DataFrame({"request_id": ids, "label.y": y})
    return frame, (np.asarray(seconds, dtype=float) * SECOND).astype(np.int64)


def test_labels_join_their_predictions_in_any_order():
    join = LabelJoin(MODEL)
    assert len(join.add_predictions(*predictions(["a", "b", "c"], [1, 2, 3], [0.9, 0.2, 0.7]))) == 0
    joined = join.add_labels(*labels(["c", "a"], [10, 11], [1, 0]))
    order = np.argsort(joined.prediction_us)
    assert list(joined.prediction_us[order] // SECOND) == [1, 3]
    assert list(joined.prediction[order]) == [1.0, 1.0]  # p >= 0.5 predicts class "1"
    assert list(joined.label[order]) == [0.0, 1.0]
    assert list(joined.delay_seconds[order]) == [10.0, 7.0]
    assert join.pending_predictions == 1 and join.counts.joined == 2


def test_a_label_before_its_prediction_waits_for_it():
    join = LabelJoin(MODEL)
    assert len(join.add_labels(*labels(["a"], [5], [1]))) == 0
    assert join.pending_labels == 1
    joined = join.add_predictions(*predictions(["a", "b"], [4, 4], [0.8, 0.1]))
    assert len(joined) == 1 and joined.label[0] == 1.0 and joined.scores["1"][0] == 0.8
    assert join.pending_labels == 0 and join.pending_predictions == 1


def test_duplicates_use_the_latest_prediction_and_count_the_extra_label():
    join = LabelJoin(MODEL)
    join.add_predictions(*predictions(["a"], [1], [0.9]))
    join.add_predictions(*predictions(["a", "a"], [2, 3], [0.1, 0.2], version="v2"))  # logged again
    assert join.counts.duplicate_predictions == 2 and join.pending_predictions == 1
    joined = join.add_labels(*labels(["a"], [5], [0]))
    assert joined.prediction_us[0] == 3 * SECOND and join.versions[joined.version[0]] == "v2"
    assert len(join.add_labels(*labels(["a", "a"], [6, 7], [1, 1]))) == 0
    assert join.counts.duplicate_labels == 2 and join.counts.joined == 1 and join.pending_labels == 0


def test_what_waits_past_the_lateness_bound_is_given_up_and_counted():
    join = LabelJoin(MODEL)
    join.add_predictions(*predictions(["old", "new"], [0, 150], [0.9, 0.9]))
    join.add_labels(*labels(["orphan"], [20], [1]))
    join.expire()  # watermark 150, bound 100 s: anything before 50 s goes
    assert join.counts.expired_predictions == 1 and join.counts.expired_labels == 1
    assert join.pending_predictions == 1 and join.pending_labels == 0
    assert len(join.add_labels(*labels(["old"], [160], [1]))) == 0  # its prediction was given up
    assert len(join.add_labels(*labels(["new"], [161], [1]))) == 1


@pytest.mark.parametrize("seed", range(5))
def test_random_streams_join_every_labelled_prediction_exactly_once(seed):
    rng = np.random.default_rng(seed)
    n = 5_000
    ids = np.array([f"r{i}" for i in range(n)], dtype=object)
    truth = rng.integers(0, 2, n)
    join = LabelJoin(MODEL)
    events = [("p", chunk) for chunk in np.array_split(rng.permutation(n), 37)]
    labelled = rng.permutation(n)[: n * 3 // 4]
    events += [("l", chunk) for chunk in np.array_split(labelled, 41)]
    joined_ids = []
    for kind, chunk in (events[i] for i in rng.permutation(len(events))):
        if kind == "p":
            joined = join.add_predictions(
                *predictions(ids[chunk], np.ones(len(chunk)), truth[chunk] * 0.6 + 0.2)
            )
        else:
            joined = join.add_labels(*labels(ids[chunk], np.full(len(chunk), 2.0), truth[chunk]))
        joined_ids.append(len(joined))
        if len(joined):
            assert np.array_equal(joined.prediction, joined.label)  # each row met its own label
    assert sum(joined_ids) == join.counts.joined == len(labelled)
    assert join.pending_predictions == n - len(labelled) and join.pending_labels == 0
    assert join.nbytes / max(join.pending_predictions, 1) < 200  # only what the metrics need


def test_pending_predictions_are_bounded_by_giving_up_the_oldest_counted():
    join = LabelJoin(MODEL, max_pending=100)
    for start in range(0, 300, 50):
        ids = [f"r{i}" for i in range(start, start + 50)]
        join.add_predictions(*predictions(ids, np.arange(start, start + 50), np.full(50, 0.5)))
    assert (
        join.pending_predictions <= 100 and join.counts.evicted_predictions == 300 - join.pending_predictions
    )
    assert len(join.add_labels(*labels(["r299", "r0"], [400, 400], [1, 1]))) == 1  # the newest stayed


def test_past_the_memory_bound_the_oldest_predictions_spill_and_still_join():
    from drift.adapters.spill_files import FileSpill
    from drift.core.spill import MemorySpill

    for store in (MemorySpill(), FileSpill(Path(tempfile.mkdtemp()) / "spill")):
        join = LabelJoin(MODEL, max_pending=100, spill=store)
        for start in range(0, 400, 50):
            ids = [f"r{i}" for i in range(start, start + 50)]
            join.add_predictions(
                *predictions(ids, np.arange(start, start + 50), np.arange(start, start + 50) / 400)
            )
        assert join.counts.evicted_predictions == 0 and join.counts.spilled_predictions > 0
        assert join.pending_predictions == 400 and join.nbytes < 400 * 30  # spilled rows keep 17 bytes
        ids = [f"r{i}" for i in range(0, 400, 7)]
        joined = join.add_labels(*labels(ids, [500] * len(ids), [1] * len(ids)))
        assert len(joined) == len(ids)
        order = np.argsort(joined.prediction_us)
        assert np.array_equal(joined.scores["1"][order], np.arange(0, 400, 7) / 400)  # read back exactly
        join.add_labels(*labels([f"r{i}" for i in range(400)], [600] * 400, [0] * 400))
        assert join.pending_predictions == 0


def test_a_label_dated_far_ahead_does_not_expire_what_waits():
    join = LabelJoin(MODEL)
    join.add_predictions(*predictions(["a", "b"], [10, 11], [0.9, 0.1]))
    join.add_labels(*labels(["x"], [253_402_300_000], [1]))  # year 9999: a wrong clock
    join.expire()
    assert join.pending_predictions == 2 and join.counts.expired_predictions == 0
