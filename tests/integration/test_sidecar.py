"""The sidecar in front of a real model server, delivering to the real broker (Tansu)."""

from __future__ import annotations

import http.client
import json
import socket
import uuid

import pandas as pd
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agent.catalog.load import parse_catalog
from agent.settings import KafkaSettings
from drift.core.decode import decode_predictions
from tests.agent.running import start_sidecar
from tests.helpers import read_batches, wait_until
from tests.integration.test_pipeline import Running

pytestmark = pytest.mark.integration

CATALOG = parse_catalog(
    """
models:
  - namespace: ns
    name: m
    versions: [v1]
    window: {size: 1s, allowed_lateness: 0s}
    drift: {min_window_records: 1}
    features: [{name: x, type: float}, {name: y, type: float}]
    outputs: [{name: p, type: float}]
"""
)
SPEC = CATALOG.get("ns/m")
GENERIC = {
    "request_records": "records",
    "response_records": "result.scores",
    "features": {"x": "a", "y": "b"},
    "outputs": {"p": "value"},
}


def exchange(port: int, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_kserve_v1_v2_generic_and_error_calls_land_in_kafka_as_exact_rows(kafka, new_topic, model, loop):
    topic = new_topic()
    car = start_sidecar(loop, model.port, SPEC, kafka=kafka, publisher={"topic": topic, "linger_ms": 0})
    try:
        v1 = json.dumps({"instances": [{"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 4.0}]}).encode()
        v2 = json.dumps(
            {
                "inputs": [
                    {"name": "in", "shape": [2, 2], "datatype": "FP64", "data": [[5.0, 6.0], [7.0, 8.0]]}
                ]
            }
        ).encode()
        assert exchange(car.proxy.port, "/v1/models/m:predict", v1, {"x-request-id": "v1"})[0] == 200
        assert exchange(car.proxy.port, "/v2/models/m/infer", v2, {"x-request-id": "v2"})[0] == 200
        assert (
            exchange(
                car.proxy.port,
                "/fail",
                json.dumps({"instances": [[9.0, 9.5]]}).encode(),
                {"x-request-id": "err"},
            )[0]
            == 500
        )
        batches = read_batches(kafka, topic, 5, decode_predictions)
    finally:
        loop.call(car.close)
    frame = pd.concat([b.frame for b in batches], ignore_index=True).set_index("request_id")
    assert list(frame.index) == ["v1:0", "v1:1", "v2:0", "v2:1", "err"]
    assert frame["feature.x"].tolist() == [1.0, 3.0, 5.0, 7.0, 9.0]
    assert frame["feature.y"].tolist() == [2.0, 4.0, 6.0, 8.0, 9.5]
    assert frame["output.p"].tolist()[:4] == [3.0, 7.0, 11.0, 15.0] and pd.isna(frame.loc["err", "output.p"])
    assert frame["status_code"].tolist() == [200, 200, 200, 200, 500]
    assert (frame["latency_seconds"] > 0).all() and (frame["ttfb_seconds"] <= frame["latency_seconds"]).all()
    assert {str(v) for v in frame["model_version"]} == {"v1"}


def test_generic_json_lands_through_its_mapping(kafka, new_topic, model, loop):
    topic = new_topic()
    car = start_sidecar(
        loop, model.port, SPEC, kafka=kafka, capture={"json_mapping": GENERIC}, publisher={"topic": topic}
    )
    try:
        body = json.dumps(
            {"records": [{"a": 1.5, "b": 2.5}, {"a": 3.5, "b": 4.5}, {"a": 0.0, "b": 1.0}]}
        ).encode()
        status, answer = exchange(car.proxy.port, "/generic", body, {"x-request-id": "g"})
        assert status == 200 and json.loads(answer)["result"]["scores"][0] == {"value": 4.0}
        (batch,) = read_batches(kafka, topic, 3, decode_predictions)
    finally:
        loop.call(car.close)
    frame = batch.frame
    assert frame["request_id"].tolist() == ["g:0", "g:1", "g:2"]
    assert frame["feature.x"].tolist() == [1.5, 3.5, 0.0] and frame["feature.y"].tolist() == [2.5, 4.5, 1.0]
    assert frame["output.p"].tolist() == [4.0, 8.0, 1.0]


def test_with_kafka_down_the_client_sees_exactly_what_the_model_says(model, loop, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    down = KafkaSettings(bootstrap_servers=(f"127.0.0.1:{dead}",))
    car = start_sidecar(
        loop,
        model.port,
        SPEC,
        kafka=down,
        publisher={"spool_dir": tmp_path / "spool", "max_block_seconds": 0.5},
    )
    try:
        cases = [
            ("/v1/models/m:predict", json.dumps({"instances": [[1.0, 2.0]]}).encode()),
            ("/fail", b"{}"),
            ("/echo", bytes(range(256))),
            ("/nowhere", b"{}"),
        ]
        for path, body in cases * 5:
            assert exchange(car.proxy.port, path, body) == exchange(model.port, path, body)
        wait_until(lambda: car.publisher.stats().spooled == 20, 15, what="the 20 calls spooled")
    finally:
        loop.call(car.close)


def test_the_aggregators_span_joins_the_trace_of_the_call(kafka, new_topic, model, loop):
    topic = new_topic()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    car = start_sidecar(
        loop,
        model.port,
        SPEC,
        kafka=kafka,
        publisher={"topic": topic, "linger_ms": 0},
        tracer_provider=provider,
    )
    running = Running(kafka, topic, f"g-{uuid.uuid4().hex[:8]}", CATALOG, 1, tracer_provider=provider)
    try:
        trace_id = uuid.uuid4().hex
        body = json.dumps({"instances": [[1.0, 2.0]]}).encode()
        headers = {"traceparent": f"00-{trace_id}-{'1' * 16}-01"}
        assert exchange(car.proxy.port, "/v1/models/m:predict", body, headers)[0] == 200

        def spans(name: str) -> list:
            return [s for s in exporter.get_finished_spans() if s.name == name]

        wait_until(lambda: spans("modelmon.aggregate"), 30, what="the aggregator's span")
    finally:
        running.stop()
        loop.call(car.close)
        provider.shutdown()
    (call,) = spans("modelmon.capture")
    (batch,) = spans("modelmon.publish")
    (aggregate,) = spans("modelmon.aggregate")
    assert format(call.context.trace_id, "032x") == trace_id  # the client's trace
    assert call.context.span_id in {link.context.span_id for link in batch.links}
    assert aggregate.parent.span_id == batch.context.span_id
    assert aggregate.context.trace_id == batch.context.trace_id
