"""OpenTelemetry spans of the capture path: one per captured call, one per published batch.

A call's span is made after the call, off the hot path, with the call's own start and end times;
its parent is the request's ``traceparent`` when it had one, so it sits in the client's trace. A
batch's span links the calls it carries, and its context travels in the Kafka message's
``traceparent`` header, where the aggregator's processing span picks it up as its parent.

The provider is passed in (tests pass one with the SDK's in-memory exporter); with exporter
``none`` no provider is made and no span costs anything.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from agent.calls import Call
from agent.errors import ConfigError
from agent.settings import TracingSettings

__all__ = ["CallTracing", "make_tracer_provider", "traceparent_context"]

_PROPAGATOR: Final = TraceContextTextMapPropagator()
MAX_LINKS: Final = 128  # a batch links at most this many calls (OTel's default span link limit)


def make_tracer_provider(settings: TracingSettings) -> TracerProvider | None:
    """A provider exporting as configured, or None for ``exporter: none``."""
    if settings.exporter == "none":
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    if settings.exporter == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as exc:
            raise ConfigError("tracing exporter 'otlp' needs: pip install 'modelmon[otlp]'") from exc
        exporter = OTLPSpanExporter(endpoint=settings.endpoint) if settings.endpoint else OTLPSpanExporter()
        provider.add_span_processor(BatchSpanProcessor(exporter))
    elif settings.exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    else:
        raise ConfigError(f"tracing exporter must be none, otlp or console, not {settings.exporter!r}")
    return provider


def traceparent_context(traceparent: str | None) -> Context | None:
    """The OTel context a W3C ``traceparent`` value names, or None."""
    if not traceparent:
        return None
    return _PROPAGATOR.extract({"traceparent": traceparent})


class CallTracing:
    """Spans of captured calls and of the batches that carry them."""

    def __init__(self, provider: TracerProvider, model: str) -> None:
        self._tracer = provider.get_tracer("modelmon.agent")
        self.model = model

    def call_span(self, call: Call, rows: int, unparsed: str | None) -> SpanContext:
        """Record the span of a finished call; returns its context, for the batch's link."""
        start = int(call.started * 1e9)
        span = self._tracer.start_span(
            "modelmon.capture",
            context=traceparent_context(call.traceparent),
            kind=SpanKind.SERVER,
            start_time=start,
            attributes={
                "http.request.method": call.method,
                "url.path": call.path,
                "http.response.status_code": call.status,
                "modelmon.model": self.model,
                "modelmon.request_id": call.request_id,
                "modelmon.rows": rows,
                "modelmon.unparsed": unparsed or "",
                "modelmon.streamed": call.streamed,
            },
        )
        span.end(end_time=start + int(call.latency_seconds * 1e9))
        return span.get_span_context()

    @contextlib.contextmanager
    def batch_span(self, model: str, rows: int, calls: Sequence[SpanContext]) -> Iterator[str]:
        """A producer span around a batch's publication; yields the ``traceparent`` to send."""
        links = [Link(c) for c in calls[:MAX_LINKS]]
        with self._tracer.start_as_current_span(
            "modelmon.publish",
            kind=SpanKind.PRODUCER,
            links=links,
            attributes={"modelmon.model": model, "modelmon.rows": rows, "messaging.system": "kafka"},
        ) as span:
            carrier: dict[str, str] = {}
            _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
            yield carrier.get("traceparent", "")  # empty when the SDK is disabled (OTEL_SDK_DISABLED)
