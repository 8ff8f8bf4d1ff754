"""The window archive in the running aggregator: predictions through the broker, archived, reported."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest

from agent.catalog.load import load_catalog
from agent.publisher import Publisher
from agent.sdk import log_predictions
from agent.settings import PublisherSettings
from deploy.cli import main
from deploy.services import AggregatorService
from drift.adapters.archive import FanOutSink, list_windows
from drift.adapters.settings import AggregatorSettings
from tests.helpers import wait_until

pytestmark = pytest.mark.integration

CATALOG = """models:
  - namespace: test
    name: archived
    versions: [v1]
    window: {size: 1s, allowed_lateness: 0s}
    drift: {min_window_records: 5}
    features: [{name: x, type: float}, {name: y, type: float}]
    outputs: [{name: p, type: float}]
"""


def test_the_aggregator_archives_every_window_and_a_report_is_built_from_it(
    kafka, new_topic, tmp_path, capsys
):
    (tmp_path / "models.yaml").write_text(CATALOG)
    catalog = load_catalog(tmp_path / "models.yaml")
    rng = np.random.default_rng(0)
    pd.DataFrame({"x": rng.normal(size=500), "y": rng.normal(size=500), "p": rng.random(500)}).to_csv(
        tmp_path / "train.csv", index=False
    )
    topic = new_topic(partitions=1)
    settings = AggregatorSettings(
        kafka=kafka,
        group_id=f"g-{uuid.uuid4().hex[:8]}",
        topic=topic,
        labels_topic=f"{topic}.labels",
        checkpoint_topic=f"{topic}.checkpoints",
        metrics_host="127.0.0.1",
        metrics_port=0,
        poll_timeout_ms=100,
        commit_interval_seconds=0.2,
        idle_advance_seconds=1.0,
        session_timeout_ms=6_000,
        heartbeat_interval_ms=1_000,
        archive_dir=tmp_path / "archive",
        archive_keep_windows=3,
    )
    service = AggregatorService.start(settings, catalog, partitions=1)
    try:
        assert isinstance(service.aggregator.sink, FanOutSink) and service.archive is not None
        with Publisher(kafka, PublisherSettings(topic=topic)) as publisher:
            for second in range(5):  # five one-second windows of 40 predictions
                log_predictions(
                    publisher,
                    "test/archived",
                    {"x": rng.normal(2, 1, 40), "y": rng.normal(size=40)},
                    {"p": rng.random(40)},
                    version="v1",
                    event_times=1_700_000_000.0 + second + np.arange(40) / 40,
                )
            assert publisher.flush(30)
        wait_until(lambda: service.archive.written == 5, 60, what="five archived windows")
    finally:
        service.stop()
    windows = list_windows(tmp_path / "archive")
    assert [w.start_us // 1_000_000 for w in windows] == [1_700_000_002, 1_700_000_003, 1_700_000_004]
    assert all(w.records == 40 for w in windows) and service.aggregator.sink.failed == 0

    code = main(
        [
            "report",
            "--catalog",
            str(tmp_path / "models.yaml"),
            "--archive",
            str(tmp_path / "archive"),
            "--model",
            "test/archived",
            "--reference",
            str(tmp_path / "train.csv"),
            "--out",
            str(tmp_path / "report.html"),
        ]
    )
    assert code == 0
    assert (
        "test/archived v1 all 20231114T221324Z, 40 rows against 500 reference rows" in capsys.readouterr().out
    )
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Drift" in html and all(name in html for name in ("x", "y", "p"))
