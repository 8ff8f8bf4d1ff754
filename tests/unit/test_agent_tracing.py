"""Spans of the capture path, on the OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from agent.batcher import Batcher
from agent.calls import Call
from agent.capture import Capturer
from agent.errors import ConfigError
from agent.publisher import Publisher
from agent.settings import CaptureSettings, KafkaSettings, PublisherSettings, TracingSettings
from agent.tracing import CallTracing, make_tracer_provider
from tests.agent.memory_broker import MemoryBroker
from tests.unit.test_capture import SPEC

CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN = "b7ad6b7169203331"


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def _call(request_id: str, traceparent: str | None) -> Call:
    return Call(
        request_id=request_id,
        started=1_800_000_000.0,
        latency_seconds=0.25,
        ttfb_seconds=0.1,
        status=200,
        method="POST",
        path="/v1/models/m:predict",
        request_body=json.dumps({"instances": [[1.0, 2.0]]}).encode(),
        response_body=json.dumps({"predictions": [3.0]}).encode(),
        request_bytes=10,
        response_bytes=10,
        traceparent=traceparent,
    )


def test_a_call_span_joins_the_clients_trace_and_the_batch_span_links_it_and_travels_to_kafka(spans):
    provider, exporter = spans
    broker = MemoryBroker()
    tracing = CallTracing(provider, "ns/m")
    with Publisher(KafkaSettings(), PublisherSettings(), producer_factory=broker.factory) as publisher:
        batcher = Batcher(publisher, specs={"ns/m": SPEC}, tracing=tracing)
        capturer = Capturer(CaptureSettings(model="ns/m", version="v1"), SPEC, batcher, tracing=tracing)
        capturer.offer(_call("traced", f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"))
        capturer.offer(_call("untraced", None))
        capturer.drain()
        batcher.flush()
        assert publisher.flush(5)
    by_name: dict[str, list] = {}
    for span in exporter.get_finished_spans():
        by_name.setdefault(span.name, []).append(span)
    traced, untraced = by_name["modelmon.capture"]
    assert traced.kind is SpanKind.SERVER
    assert format(traced.context.trace_id, "032x") == CLIENT_TRACE
    assert format(traced.parent.span_id, "016x") == CLIENT_SPAN
    assert (traced.end_time - traced.start_time) == 250_000_000  # the call's own duration
    assert traced.attributes["modelmon.request_id"] == "traced"
    assert untraced.parent is None
    (batch,) = by_name["modelmon.publish"]
    assert batch.kind is SpanKind.PRODUCER
    assert {link.context.span_id for link in batch.links} == {
        traced.context.span_id,
        untraced.context.span_id,
    }
    (decoded,) = broker.decoded()
    trace_id, span_id = decoded.traceparent.split("-")[1:3]
    assert (int(trace_id, 16), int(span_id, 16)) == (batch.context.trace_id, batch.context.span_id)


def test_no_exporter_means_no_provider_and_an_unknown_one_is_a_clear_error():
    assert make_tracer_provider(TracingSettings(exporter="none")) is None
    with pytest.raises(ConfigError, match="none, otlp or console"):
        make_tracer_provider(TracingSettings(exporter="jaeger"))
    provider = make_tracer_provider(TracingSettings(exporter="otlp", endpoint="http://127.0.0.1:1/v1/traces"))
    assert provider is not None
    provider.shutdown()
