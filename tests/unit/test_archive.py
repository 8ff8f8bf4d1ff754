"""The window archive: Parquet files per closed window, listing, loading, retention, safe names, fan-out."""

import logging
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from agent.catalog.load import parse_catalog
from agent.wire.encode import build_prediction_batch, encode_message
from deploy.config import load_settings
from drift.adapters.archive import (
    METADATA_KEY,
    ArchiveError,
    FanOutSink,
    WindowArchive,
    find_window,
    format_start,
    latest_window,
    list_windows,
    load_window,
    parse_start,
    window_path,
)
from drift.adapters.stats import AggregatorStats
from drift.core.decode import DecodedBatch, decode_predictions
from drift.core.errors import DriftError
from drift.core.results import ColumnDrift, DriftStatus, WindowKey, WindowResult
from tests.helpers import RecordingSink

CATALOG = parse_catalog(
    """models:
  - namespace: shop
    name: ranker
    versions: [v1, v2]
    features: [{name: x, type: float}, {name: region, type: category}, {name: ok, type: bool}]
    outputs: [{name: p, type: float}]
"""
)
MODEL = CATALOG.models["shop/ranker"]
START = 1_796_420_000_000_000  # 2026-12-04T21:33:20Z
MINUTE = 60_000_000


def decoded_frame(rows: int = 50, seed: int = 0, version: str = "v1", start_us: int = START) -> pd.DataFrame:
    """A window's rows exactly as the aggregator has them: encoded on the wire, then decoded."""
    rng = np.random.default_rng(seed)
    batch = build_prediction_batch(
        MODEL.identity,
        {
            "x": rng.normal(size=rows),
            "region": rng.choice(["north", "south"], rows).tolist(),
            "ok": rng.random(rows) < 0.5,
        },
        {"p": rng.random(rows)},
        version=version,
        event_times=(start_us + np.arange(rows) * 1000) / 1e6,
        latencies=rng.random(rows) / 10,
        status_codes=[200] * rows,
        spec=MODEL,
    )
    message = encode_message(MODEL.identity, batch)
    decoded = decode_predictions(message.key, message.value, message.headers)
    assert isinstance(decoded, DecodedBatch)
    return decoded.frame


def result(start_us: int = START, version: str = "v1", segment: str = "", records: int = 50) -> WindowResult:
    column = ColumnDrift("x", "input", "ks", DriftStatus.OK, 0.01, 0.05, True, records, 0.01)
    return WindowResult(
        WindowKey(MODEL.identity, version, start_us, segment),
        start_us + MINUTE,
        records,
        0,
        None,
        (column,),
        1.0,
        True,
    )


def test_start_names_round_trip_and_accept_other_time_forms():
    assert format_start(START) == "20261204T213320Z"
    assert format_start(START + 500_000) == "20261204T213320.500000Z"
    for text in ("20261204T213320Z", "2026-12-04T21:33:20Z", "2026-12-04T21:33:20", "1796420000", 1796420000):
        assert parse_start(text) == START
    assert parse_start(format_start(START + 500_000)) == START + 500_000
    with pytest.raises(ArchiveError, match="neither"):
        parse_start("yesterday")


def test_window_is_written_with_its_rows_and_key_and_loads_back(tmp_path):
    archive = WindowArchive(tmp_path)
    frame = decoded_frame()
    archive.publish(MODEL, result(), frame)
    path = tmp_path / "shop" / "ranker" / "v1" / "all" / "20261204T213320Z.parquet"
    assert path.is_file() and archive.written == 1
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
    assert b'"end_us": %d' % (START + MINUTE) in pq.read_schema(path).metadata[METADATA_KEY]

    [listed] = list_windows(tmp_path)
    assert (listed.model, listed.version, listed.segment, listed.start_us, listed.end_us, listed.records) == (
        "shop/ranker",
        "v1",
        "",
        START,
        START + MINUTE,
        50,
    )
    assert listed.dataset_drifted and listed.drifted_columns == ("x",) and listed.path == path
    for start in ("20261204T213320Z", START / 1e6, "2026-12-04T21:34:00Z"):  # start, or a time inside
        window, loaded = load_window(tmp_path, "shop/ranker", "v1", start)
        assert window == listed
        pd.testing.assert_frame_equal(loaded, frame)  # types too: categories, UTC times, booleans


def test_listing_filters_and_finds_latest_and_explains_what_is_missing(tmp_path):
    archive = WindowArchive(tmp_path)
    for i in range(3):
        archive.publish(MODEL, result(START + i * MINUTE), decoded_frame(seed=i))
    archive.publish(MODEL, result(START + 9 * MINUTE, version="v2"), decoded_frame(version="v2"))
    archive.publish(MODEL, result(START, segment="region=north"), decoded_frame())
    assert len(list_windows(tmp_path)) == 5
    assert len(list_windows(tmp_path, "shop/ranker", version="v1", segment="")) == 3
    assert [w.segment for w in list_windows(tmp_path, segment="region=north")] == ["region=north"]
    assert list_windows(tmp_path, "other/model") == []
    assert latest_window(tmp_path, "shop/ranker").version == "v2"
    assert latest_window(tmp_path, "shop/ranker", "v1").start_us == START + 2 * MINUTE
    assert find_window(tmp_path, "shop/ranker", None, (START + MINUTE) / 1e6).start_us == START + MINUTE
    with pytest.raises(ArchiveError, match=r"no archived window .* archived windows: 3, the latest"):
        find_window(tmp_path, "shop/ranker", "v1", (START + 60 * MINUTE) / 1e6)
    with pytest.raises(ArchiveError, match="out of range"):
        find_window(tmp_path, "shop/ranker", "v1", START)  # µs, not seconds
    with pytest.raises(ArchiveError, match="no archived window"):
        latest_window(tmp_path, "shop/ranker", "v3")
    with pytest.raises(ArchiveError, match="no window archive"):
        list_windows(tmp_path / "absent")
    assert issubclass(ArchiveError, DriftError)


def test_several_versions_at_one_time_need_a_version(tmp_path):
    archive = WindowArchive(tmp_path)
    archive.publish(MODEL, result(version="v1"), decoded_frame())
    archive.publish(MODEL, result(version="v2"), decoded_frame(version="v2"))
    with pytest.raises(ArchiveError, match=r"versions \['v1', 'v2'\]"):
        find_window(tmp_path, "shop/ranker", None, "20261204T213320Z")
    assert find_window(tmp_path, "shop/ranker", "v2", "20261204T213320Z").version == "v2"


def test_retention_keeps_the_newest_windows_of_each_version_and_segment(tmp_path):
    archive = WindowArchive(tmp_path, keep_windows=3)
    for i in [4, 0, 6, 1, 5, 2, 3]:  # out of order: retention goes by window start, not by arrival
        archive.publish(MODEL, result(START + i * MINUTE), decoded_frame(rows=5))
    archive.publish(MODEL, result(START, version="v2"), decoded_frame(rows=5))
    archive.publish(MODEL, result(START + 500_000, segment="region=north"), decoded_frame(rows=5))
    v1 = list_windows(tmp_path, version="v1", segment="")
    assert [w.start_us for w in v1] == [START + i * MINUTE for i in (4, 5, 6)]
    assert len(list_windows(tmp_path, version="v2")) == 1
    assert len(list_windows(tmp_path, segment="region=north")) == 1
    assert archive.deleted == 4
    unlimited = WindowArchive(tmp_path / "all", keep_windows=0)
    for i in range(5):
        unlimited.publish(MODEL, result(START + i * MINUTE), decoded_frame(rows=5))
    assert len(list_windows(tmp_path / "all")) == 5


@pytest.mark.parametrize(
    ("version", "segment"),
    [
        ("..", "region=../../etc"),
        ("../../escape", "region=a/b"),
        (".hidden", "all"),
        ("", "region=" + "é/" * 200),
        ("v~1", "region=%2F"),
    ],
)
def test_user_values_never_leave_the_archive_nor_collide(tmp_path, version, segment):
    root = tmp_path / "archive"
    archive = WindowArchive(root)
    archive.publish(MODEL, result(version=version, segment=segment), decoded_frame())
    archive.publish(MODEL, result(version="v1"), decoded_frame())
    files = sorted(root.rglob("*.parquet"))
    assert len(files) == 2 and not list(tmp_path.glob("*.parquet"))
    for path in files:
        relative = path.relative_to(root)
        assert len(relative.parts) == 5 and ".." not in relative.parts
        assert not any(part.startswith(".") for part in relative.parts)
        assert all(len(part) <= 128 for part in relative.parts)
    [window] = list_windows(root, version=version, segment=segment)
    assert (window.version, window.segment) == (version, segment)
    assert window_path(root, MODEL.identity, version, START, segment) == window.path
    assert find_window(root, MODEL.identity, version, START / 1e6, segment) == window


def test_model_must_be_namespace_slash_name(tmp_path):
    with pytest.raises(ArchiveError, match="namespace/name"):
        window_path(tmp_path, "ranker", "v1", START)


class Failing:
    def __init__(self) -> None:
        self.calls = 0

    def publish(self, model, result, frame):
        self.calls += 1
        raise OSError("No space left on device")


def test_fan_out_keeps_publishing_when_a_sink_fails(tmp_path, caplog):
    before, failing, after = RecordingSink(), Failing(), RecordingSink()
    broken_archive = WindowArchive(tmp_path / "file")
    (tmp_path / "file").write_text("not a directory")  # every write fails
    stats = AggregatorStats()
    sink = FanOutSink([before, failing, broken_archive, after], stats)
    with caplog.at_level(logging.WARNING, logger="drift.adapters.archive"):
        for i in range(3):
            sink.publish(MODEL, result(START + i * MINUTE), decoded_frame(rows=5))
    assert len(before.results) == len(after.results) == 3 and failing.calls == 3
    assert sink.failures == {1: 3, 2: 3} and sink.failed == 6
    assert stats.sink_failures == {"Failing": 3, "WindowArchive": 3}  # exported, by sink
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 2  # the first failure of each sink; later ones are one-line warnings
    assert "No space left on device" in caplog.text


def test_setting_and_environment_variable_enable_the_archive(tmp_path):
    settings = load_settings(None, {"MODELMON_ARCHIVE_DIR": str(tmp_path)}).aggregator
    assert settings.archive_dir == tmp_path and settings.archive_keep_windows == 500
    (tmp_path / "s.yaml").write_text(
        "aggregator: {archive_dir: /var/lib/modelmon, archive_keep_windows: 10}\n"
    )
    settings = load_settings(tmp_path / "s.yaml", {}).aggregator
    assert str(settings.archive_dir) == "/var/lib/modelmon" and settings.archive_keep_windows == 10
    assert load_settings(None, {}).aggregator.archive_dir is None


def test_the_aggregator_side_never_imports_evidently():
    code = (
        "import sys; import deploy.services, deploy.cli, drift.adapters.archive, drift.adapters.report;"
        "print('evidently' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
