"""The agent's disk spool: in order, bounded with exact drop counts, and whole after a crash."""

import pytest

from agent.spool import Spool, SpoolError


def message(i: int, size: int = 100) -> tuple[bytes, bytes, list[tuple[str, bytes]], int]:
    return (
        b"ns/m",
        bytes([i % 256]) * size,
        [("modelmon-schema-version", b"1"), ("n", str(i).encode())],
        10 + i,
    )


def test_messages_replay_in_order_with_their_key_headers_and_rows(tmp_path):
    spool = Spool(tmp_path, max_bytes=1_000_000, segment_bytes=1_000)
    for i in range(30):
        assert spool.append(*message(i))
    replayed = list(spool.replay())
    assert [m.headers[1][1] for m in replayed] == [str(i).encode() for i in range(30)]
    assert all(
        m.key == b"ns/m" and m.value == bytes([i]) * 100 and m.rows == 10 + i for i, m in enumerate(replayed)
    )
    assert spool.stats.appended_rows == sum(10 + i for i in range(30))


def test_acknowledged_messages_are_forgotten_and_spool_bytes_return_to_zero(tmp_path):
    spool = Spool(tmp_path, max_bytes=1_000_000, segment_bytes=1_000)
    for i in range(30):
        spool.append(*message(i))
    first = list(spool.replay())
    for m in first[:12]:
        spool.ack(m)
    assert [m.headers[1][1] for m in spool.replay()] == [str(i).encode() for i in range(12, 30)]
    again = Spool(tmp_path, max_bytes=1_000_000, segment_bytes=1_000)  # a restart resumes at the cursor
    assert [m.headers[1][1] for m in again.replay()] == [str(i).encode() for i in range(12, 30)]
    for m in list(again.replay()):
        again.ack(m)
    assert again.stats.bytes == 0 and list(again.replay()) == []
    assert len(list(tmp_path.glob("*.spool"))) <= 1  # finished segments are deleted


@pytest.mark.parametrize("policy", ["drop_newest", "drop_oldest"])
def test_a_full_spool_drops_by_policy_and_counts_every_dropped_row(tmp_path, policy):
    spool = Spool(tmp_path, max_bytes=5_000, policy=policy, segment_bytes=1_000)
    accepted = [i for i in range(100) if spool.append(*message(i))]
    kept = list(spool.replay())
    kept_ids = [int(m.headers[1][1]) for m in kept]
    assert spool.stats.bytes <= 5_000 and sum(p.stat().st_size for p in tmp_path.glob("*.spool")) <= 5_000
    total_rows = sum(10 + i for i in range(100))
    assert spool.stats.dropped_rows + sum(m.rows for m in kept) == total_rows  # every row kept or counted
    assert spool.stats.dropped_records + len(kept) == 100
    if policy == "drop_newest":
        assert kept_ids == accepted == list(range(len(kept_ids)))  # the first ones stay
    else:
        assert kept_ids == sorted(kept_ids) and kept_ids[-1] == 99  # the newest stay, in order


def test_a_torn_record_from_a_crash_is_cut_and_the_rest_survives(tmp_path):
    spool = Spool(tmp_path, max_bytes=1_000_000)
    for i in range(5):
        spool.append(*message(i))
    (segment,) = tmp_path.glob("*.spool")
    data = segment.read_bytes()
    segment.write_bytes(data + data[:40])  # half of a sixth record, as a crash mid-write leaves it
    reopened = Spool(tmp_path, max_bytes=1_000_000)
    assert reopened.stats.corrupt_records == 1
    assert [int(m.headers[1][1]) for m in reopened.replay()] == list(range(5))
    assert reopened.append(*message(5)) and len(list(reopened.replay())) == 6


def test_fsync_policies_and_bad_settings(tmp_path):
    for fsync in ("always", "interval", "never"):
        spool = Spool(tmp_path / fsync, max_bytes=10_000, fsync=fsync)
        assert spool.append(*message(1))
        spool.close()
        assert len(list(Spool(tmp_path / fsync, max_bytes=10_000).replay())) == 1
    with pytest.raises(SpoolError):
        Spool(tmp_path, max_bytes=0)
    with pytest.raises(SpoolError):
        Spool(tmp_path, max_bytes=10, policy="drop_random")
