"""Checkpoints survive their JSON encoding unchanged, count-window positions included."""

from drift.adapters.checkpoints import MemoryCheckpointStore, _decode, _encode
from drift.core.windows import Checkpoint, CountPosition


def test_checkpoint_round_trips_through_its_record_encoding():
    checkpoint = Checkpoint(
        partition=3,
        safe_offset=120,
        replay_until=180,
        watermarks_us={"ns/a": 1_700_000_000_000_000, "ns/b": 5},
        count_positions={("ns/a", "v1"): CountPosition(130, 4), ("ns/a", "v2"): CountPosition(150, 0)},
    )
    assert _decode(_encode(checkpoint)) == checkpoint


def test_a_checkpoint_written_before_count_windows_still_loads():
    old = b'{"v": 1, "partition": 0, "safe_offset": 1, "replay_until": 2, "watermarks_us": {"m": 3}}'
    assert _decode(old) == Checkpoint(0, 1, 2, {"m": 3})


def test_memory_store_keeps_the_newest_checkpoint_per_partition():
    store = MemoryCheckpointStore()
    store.save([Checkpoint(0, 1, 2, {}), Checkpoint(1, 5, 6, {})])
    store.save([Checkpoint(0, 3, 4, {})])
    assert store.load(0) == Checkpoint(0, 3, 4, {})
    assert store.load(1) == Checkpoint(1, 5, 6, {})
    assert store.load(2) is None
