"""The partition window state machine: closing, lateness, and hand-over by checkpoint and replay."""

import numpy as np
import pandas as pd
import pytest

from agent.catalog.model import WindowKind, WindowSpec
from drift.core.decode import DecodedBatch
from drift.core.windows import CountPosition, PartitionWindows

SECOND = 1_000_000
SPEC = WindowSpec(size_seconds=10, allowed_lateness_seconds=2)
SLIDING = WindowSpec(size_seconds=10, allowed_lateness_seconds=2, kind=WindowKind.SLIDING, slide_seconds=5)
COUNT = WindowSpec(kind=WindowKind.COUNT, size_records=7)


def batch(model: str, seconds: list[float], version: str = "v1") -> DecodedBatch:
    event_us = (np.array(seconds) * SECOND).astype(np.int64)
    frame = pd.DataFrame(
        {
            "request_id": [f"{model}-{s}" for s in seconds],
            "model_version": [version] * len(seconds),
            "feature.x": np.array(seconds, dtype=float),
        }
    )
    return DecodedBatch(model, frame, event_us, 0, None)


def windows(spec: WindowSpec = SPEC, **kwargs) -> PartitionWindows:
    return PartitionWindows(0, lambda model: spec, idle_advance_seconds=5, **kwargs)


def test_window_closes_when_watermark_passes_end_plus_lateness_and_late_rows_are_counted():
    state = windows()
    assert state.add(0, batch("a/m", [1, 2, 9.5]), now_us=0).accepted == 3
    state.add(1, batch("a/m", [11]), now_us=0)
    assert state.pop_closed() == []  # watermark 11 < 10 + 2
    state.add(2, batch("a/m", [12]), now_us=0)
    closed = state.pop_closed()
    assert [(c.key.start_us, len(c.frame)) for c in closed] == [(0, 3)]
    outcome = state.add(3, batch("a/m", [3, 13]), now_us=0)
    assert (outcome.accepted, outcome.late) == (1, 1)


def test_versions_and_models_get_their_own_windows():
    state = windows()
    state.add(0, batch("a/m", [1, 2], version="v1"), 0)
    state.add(1, batch("a/m", [3], version="v2"), 0)
    state.add(2, batch("b/m", [4], version="v1"), 0)
    state.add(3, batch("b/m", [30], version="v1"), 0)
    state.add(4, batch("a/m", [30], version="v2"), 0)
    keys = {(c.key.model, c.key.version): len(c.frame) for c in state.pop_closed()}
    assert keys == {("a/m", "v1"): 2, ("a/m", "v2"): 1, ("b/m", "v1"): 1}


def test_idle_partition_advances_with_the_wall_clock():
    state = windows()
    state.add(0, batch("a/m", [1]), now_us=100 * SECOND)
    state.advance_idle(104 * SECOND)
    assert state.pop_closed() == []
    state.advance_idle(112 * SECOND)  # idle 12 s >= 5 s: watermark = 1 + 12 = 13 >= 12
    assert len(state.pop_closed()) == 1


def test_each_model_has_its_own_watermark():
    state = windows()
    state.add(0, batch("a/m", [100]), 0)
    assert state.add(1, batch("b/m", [1]), 0).late == 0  # a/m's clock does not make b/m late
    state.add(2, batch("b/m", [50]), 0)
    assert [c.key.model for c in state.pop_closed()] == ["b/m"]
    assert state.watermark_us("a/m") == 100 * SECOND


def _stream(seed: int, messages: int = 60):
    rng = np.random.default_rng(seed)
    out, t = [], 0.0
    for _ in range(messages):
        model = ["a/m", "b/m"][rng.integers(0, 2)]
        t += rng.exponential(1.0)
        seconds = list(np.round(t - rng.uniform(0, 4, rng.integers(1, 5)), 3))  # some rows out of order
        out.append(batch(model, seconds))
    return out


def _run(state: PartitionWindows, stream, offsets):
    closed, late = [], 0
    for offset in offsets:
        outcome = state.add(offset, stream[offset], now_us=0)
        late += outcome.late
        closed += [(c.key, tuple(c.frame["request_id"])) for c in state.pop_closed()]
    return closed, late


@pytest.mark.parametrize("spec", [SPEC, SLIDING, COUNT], ids=["tumbling", "sliding", "count"])
@pytest.mark.parametrize("seed", range(8))
def test_hand_over_at_any_point_loses_and_duplicates_nothing(seed, spec):
    stream = _stream(seed)
    expected, expected_late = _run(windows(spec), stream, range(len(stream)))
    assert expected  # the stream closes windows, so the comparison below means something
    cut = int(np.random.default_rng(seed).integers(1, len(stream) - 1))
    first = windows(spec)
    before, late_before = _run(first, stream, range(cut))
    checkpoint = first.checkpoint()
    assert checkpoint is not None and checkpoint.safe_offset <= cut == checkpoint.replay_until
    second = windows(spec, checkpoint=checkpoint)
    after, late_after = _run(second, stream, range(checkpoint.safe_offset, len(stream)))
    assert before + after == expected
    assert late_before + late_after == expected_late
    assert len({k for k, _ in before + after}) == len(before + after)  # each window exactly once


def test_no_checkpoint_before_the_first_message():
    assert windows().checkpoint() is None


def _closed(state: PartitionWindows) -> list[tuple[float, float, list[str]]]:
    return [
        (c.key.start_us / SECOND, c.end_us / SECOND, sorted(c.frame["request_id"]))
        for c in state.pop_closed()
    ]


def test_sliding_windows_hold_every_record_of_their_span_and_close_in_order():
    state = windows(SLIDING)
    state.add(0, batch("a/m", [1, 6, 12]), 0)
    # watermark 12 - lateness 2 closes the windows ending by 10
    assert _closed(state) == [(-5.0, 5.0, ["a/m-1"]), (0.0, 10.0, ["a/m-1", "a/m-6"])]
    state.add(1, batch("a/m", [17]), 0)  # closes [5, 15)
    assert _closed(state) == [(5.0, 15.0, ["a/m-12", "a/m-6"])]
    state.add(2, batch("a/m", [40]), 0)
    assert [(start, end) for start, end, _ in _closed(state)] == [(10.0, 20.0), (15.0, 25.0)]
    assert state.open_windows == 1  # only the pane of 40 is kept


def test_sliding_lateness_is_judged_per_window():
    state = windows(SLIDING)
    state.add(0, batch("a/m", [1]), 0)
    state.add(1, batch("a/m", [13]), 0)  # closes the windows ending by 11
    assert [end for _, end, _ in _closed(state)] == [5.0, 10.0]
    outcome = state.add(2, batch("a/m", [7]), 0)  # [0, 10) closed, [5, 15) still open
    assert (outcome.accepted, outcome.late) == (1, 0)
    state.add(3, batch("a/m", [30]), 0)
    closed = _closed(state)
    assert closed[0] == (5.0, 15.0, ["a/m-13", "a/m-7"])
    assert all("a/m-7" not in ids for start, _, ids in closed if start >= 10)
    assert state.add(4, batch("a/m", [7]), 0).late == 1  # now every window of 7 has closed


def test_count_windows_hold_exactly_n_records_across_batches_and_versions():
    state = windows(COUNT)
    state.add(0, batch("a/m", [1, 2, 3, 4, 5]), 0)
    state.add(1, batch("a/m", [6, 7], version="v2"), 0)
    assert state.pop_closed() == []
    state.add(2, batch("a/m", [float(s) for s in range(6, 22)]), 0)  # 5 + 16 = 21 = 3 windows
    closed = state.pop_closed()
    assert [len(c.frame) for c in closed] == [7, 7, 7]
    assert {c.key.version for c in closed} == {"v1"}
    assert list(closed[1].frame["request_id"]) == [f"a/m-{float(s)}" for s in range(8, 15)]
    assert closed[0].key.start_us == 1 * SECOND and closed[0].end_us == 7 * SECOND + 1
    assert state.open_windows == 1  # v2's two records wait for five more
    checkpoint = state.checkpoint()
    assert checkpoint is not None and checkpoint.count_positions == {("a/m", "v2"): CountPosition(1, 0)}


@pytest.mark.parametrize("spec", [SPEC, SLIDING], ids=["tumbling", "sliding"])
def test_fresh_records_count_each_accepted_prediction_once(spec):
    state, accepted, fresh = windows(spec), 0, 0
    for offset, message in enumerate(_stream(3)):
        accepted += state.add(offset, message, now_us=0).accepted
        fresh += sum(c.fresh_records for c in state.pop_closed())
    state.add(len(_stream(3)), batch("a/m", [10_000]), 0)
    state.add(len(_stream(3)) + 1, batch("b/m", [10_000]), 0)
    fresh += sum(c.fresh_records for c in state.pop_closed())
    assert fresh == accepted > 0


@pytest.mark.parametrize("spec", [SPEC, SLIDING, COUNT], ids=["tumbling", "sliding", "count"])
@pytest.mark.parametrize("seed", range(8))
def test_a_second_hand_over_during_the_replay_loses_and_duplicates_nothing(seed, spec):
    stream = _stream(seed)
    expected, _ = _run(windows(spec), stream, range(len(stream)))
    rng = np.random.default_rng(seed + 100)
    first = windows(spec)
    cut = int(rng.integers(1, len(stream) - 1))
    before, _ = _run(first, stream, range(cut))
    checkpoint = first.checkpoint()
    second = windows(spec, checkpoint=checkpoint)
    replayed = int(rng.integers(0, cut - checkpoint.safe_offset + 1))  # stop part way through the replay
    middle, _ = _run(second, stream, range(checkpoint.safe_offset, checkpoint.safe_offset + replayed))
    again = second.checkpoint()
    third = windows(spec, checkpoint=again)
    after, _ = _run(third, stream, range(again.safe_offset, len(stream)))
    assert before + middle + after == expected


def test_an_idle_versions_partial_count_window_closes():
    state = windows(COUNT)
    state.add(0, batch("a/m", [1, 2, 3]), now_us=100 * SECOND)
    assert state.pop_closed() == []
    state.advance_idle(104 * SECOND)  # idle 4 s < 5 s
    assert state.pop_closed() == []
    state.advance_idle(106 * SECOND)
    (closed,) = state.pop_closed()
    assert len(closed.frame) == 3 and state.open_windows == 0
    assert state.checkpoint().count_positions == {}  # nothing holds the offset back any more


def test_count_windows_of_rows_with_one_time_get_distinct_keys():
    state = windows(COUNT)
    state.add(0, batch("a/m", [5.0] * 21), now_us=0)
    keys = [c.key for c in state.pop_closed()]
    assert len(keys) == len(set(keys)) == 3
