"""Calls into rows: exact rows per protocol, metadata-only calls counted, bounded queue, batching."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from agent.batcher import Batcher
from agent.calls import Call
from agent.capture import Capturer, row_ids
from agent.catalog.load import parse_catalog
from agent.publisher import Publisher
from agent.settings import CaptureSettings, KafkaSettings, PublisherSettings
from tests.agent.memory_broker import MemoryBroker

SPEC = parse_catalog(
    """
models:
  - namespace: ns
    name: m
    features: [{name: x, type: float}, {name: y, type: float}]
    outputs: [{name: p, type: float}]
"""
).get("ns/m")


def call(request: object, response: object, *, status: int = 200, request_id: str = "r1", **extra) -> Call:
    def raw(body: object) -> bytes:
        return body if isinstance(body, bytes) else json.dumps(body).encode()

    return Call(
        request_id=request_id,
        started=1_800_000_000.0,
        latency_seconds=0.012,
        ttfb_seconds=0.010,
        status=status,
        method="POST",
        path="/",
        request_body=raw(request),
        response_body=raw(response),
        request_bytes=10,
        response_bytes=10,
        **extra,
    )


@pytest.fixture
def pipeline():
    broker = MemoryBroker()
    publisher = Publisher(KafkaSettings(), PublisherSettings(), producer_factory=broker.factory)
    batcher = Batcher(publisher, specs={"ns/m": SPEC}, max_rows=1000, max_seconds=60)

    def make(**settings) -> Capturer:
        return Capturer(CaptureSettings(model="ns/m", version="v1", **settings), SPEC, batcher)

    yield make, batcher, publisher, broker
    publisher.close()


def test_calls_of_each_protocol_become_exact_rows(pipeline):
    make, batcher, publisher, broker = pipeline
    capturer = make()
    capturer.offer(call({"instances": [[1.0, 2.0], [3.0, 4.0]]}, {"predictions": [3.0, 7.0]}, request_id="a"))
    capturer.offer(
        call(
            {"inputs": [{"name": "in", "shape": [1, 2], "datatype": "FP64", "data": [5.0, 6.0]}]},
            {"outputs": [{"name": "p", "shape": [1], "datatype": "FP64", "data": [11.0]}]},
            request_id="b",
        )
    )
    capturer.drain()
    batcher.flush()
    assert publisher.flush(5)
    frame = broker.frame()
    assert frame["request_id"].tolist() == ["a:0", "a:1", "b"]
    assert frame["feature.x"].tolist() == [1.0, 3.0, 5.0]
    assert frame["feature.y"].tolist() == [2.0, 4.0, 6.0]
    assert frame["output.p"].tolist() == [3.0, 7.0, 11.0]
    assert frame["status_code"].tolist() == [200] * 3
    assert frame["latency_seconds"].tolist() == [0.012] * 3
    assert frame["ttfb_seconds"].tolist() == [0.010] * 3
    assert "unparsed" not in frame  # every call gave rows
    assert str(frame["model_version"].iloc[0]) == "v1"
    stats = capturer.stats()
    assert (stats.captured, stats.rows, stats.unparsed) == (2, 3, {})


def test_calls_whose_bodies_give_no_rows_are_kept_as_metadata_with_their_reason(pipeline):
    make, batcher, publisher, broker = pipeline
    capturer = make()
    capturer.offer(call(b"\xff\xfe not json", b"{}", request_id="binary"))
    capturer.offer(call({"something": 1}, {"else": 2}, request_id="unknown"))
    capturer.offer(call({"instances": [[1, 2], [3, 4]]}, {"predictions": [3]}, request_id="mismatch"))
    capturer.offer(call(None, None, request_id="big", too_large=True))
    capturer.drain()
    batcher.flush()
    assert publisher.flush(5)
    frame = broker.frame().set_index("request_id")
    assert frame["unparsed"].to_dict() == {
        "binary": "not_json",
        "unknown": "unknown_protocol",
        "mismatch": "row_mismatch",
        "big": "too_large",
    }
    assert frame["status_code"].tolist() == [200] * 4
    assert capturer.stats().unparsed == {
        "not_json": 1,
        "unknown_protocol": 1,
        "row_mismatch": 1,
        "too_large": 1,
    }


def test_error_answers_keep_their_features_without_outputs_or_are_skipped_when_configured(pipeline):
    make, batcher, publisher, broker = pipeline
    capturer = make()
    capturer.offer(call({"instances": [[1.0, 2.0]]}, {"error": "boom"}, status=500, request_id="e"))
    capturer.drain()
    batcher.flush()
    assert publisher.flush(5)
    frame = broker.frame()
    assert frame["request_id"].tolist() == ["e"] and frame["status_code"].tolist() == [500]
    assert frame["feature.x"].tolist() == [1.0] and "output.p" not in frame
    quiet = make(capture_errors=False)
    quiet.offer(call({"instances": [[1.0, 2.0]]}, {"error": "boom"}, status=503))
    quiet.drain()
    assert quiet.stats().skipped_errors == 1 and quiet.stats().captured == 0


def test_a_full_queue_counts_every_call_it_drops_and_never_blocks(pipeline):
    make, *_ = pipeline
    capturer = make(queue_max_calls=10)
    for i in range(25):
        capturer.offer(call({"instances": [[1.0, 2.0]]}, {"predictions": [3.0]}, request_id=str(i)))
    stats = capturer.stats()
    assert (stats.offered, stats.queued, stats.dropped) == (25, 10, {"queue_full": 15})
    by_bytes = make(queue_max_bytes=200)
    body = {"instances": [[1.0, 2.0]] * 5}
    for i in range(10):
        by_bytes.offer(call(body, {"predictions": [3.0] * 5}, request_id=str(i)))
    stats = by_bytes.stats()
    assert stats.queued_bytes <= 200 and stats.queued + stats.dropped["queue_full"] == 10


def test_a_value_that_does_not_fit_its_type_costs_only_its_own_row(pipeline):
    make, batcher, publisher, broker = pipeline
    capturer = make()
    capturer.offer(call({"instances": [[1.0, 2.0]]}, {"predictions": [3.0]}, request_id="good"))
    capturer.offer(call({"instances": [["not a number", 2.0]]}, {"predictions": [3.0]}, request_id="bad"))
    capturer.drain()
    batcher.flush()
    assert publisher.flush(5)
    frame = broker.frame().set_index("request_id")
    assert frame.loc["good", "feature.x"] == 1.0 and pd.isna(frame.loc["good", "unparsed"])
    assert frame.loc["bad", "unparsed"] == "bad_value"
    assert batcher.stats().bad_values == 1


def test_batches_go_out_by_size_and_by_age():
    broker = MemoryBroker()
    now = [0.0]
    with Publisher(KafkaSettings(), PublisherSettings(), producer_factory=broker.factory) as publisher:
        batcher = Batcher(publisher, max_rows=10, max_seconds=1.0, clock=lambda: now[0])
        for i in range(25):
            batcher.add("ns/m", "v1", [str(i)], 1.0, features={"x": [float(i)]})
        assert publisher.flush(5)
        assert [len(b.frame) for b in broker.decoded()] == [10, 10]
        batcher.flush_due()
        assert len(broker.decoded()) == 2  # the last 5 are not a second old yet
        now[0] = 1.5
        batcher.flush_due()
        assert publisher.flush(5)
        assert [len(b.frame) for b in broker.decoded()] == [10, 10, 5]
        assert batcher.stats().rows_published == 25


def test_row_ids_of_a_batched_call_are_numbered():
    assert row_ids("abc", 1) == ["abc"]
    assert row_ids("abc", 3) == ["abc:0", "abc:1", "abc:2"]


def test_a_value_pyarrow_cannot_hold_costs_its_row_not_the_capture_thread(pipeline):
    make, _, publisher, broker = pipeline
    capturer = make()
    capturer.start()
    try:
        capturer.offer(
            call(
                b'{"instances": [[100000000000000000000000000000, 2.0]]}',
                {"predictions": [3.0]},
                request_id="huge",
            )
        )
        capturer.offer(call({"instances": [[1.0, 2.0]]}, {"predictions": [3.0]}, request_id="after"))
    finally:
        capturer.close()
    assert publisher.flush(5)
    frame = broker.frame().set_index("request_id")
    assert frame.loc["huge", "unparsed"] == "bad_value"
    assert frame.loc["after", "feature.x"] == 1.0  # the thread lived on
