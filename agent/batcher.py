"""Rows of single calls gathered into Arrow batches, sent by size or by age.

The sidecar's capture worker and the SDK's :class:`agent.sdk.PredictionLogger` add rows one call at
a time; a batch per model and version goes to the publisher when it holds ``max_rows`` rows or
its oldest row is ``max_seconds`` old. Building one Arrow batch from column lists costs far less
than a batch per call, and Kafka and the aggregator work per message. A row whose values do not
fit the catalog's types is not lost: it is sent as metadata only (``unparsed = bad_value``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.catalog.model import ModelSpec
from agent.errors import EncodeError
from agent.publisher import Publisher
from agent.wire.encode import build_prediction_batch

if TYPE_CHECKING:
    from agent.tracing import CallTracing  # OpenTelemetry loads only when traces are on

__all__ = ["Batcher", "BatcherStats"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Rows:
    """Column lists of one model version's pending rows; feature/output lists stay aligned."""

    first_added: float
    request_ids: list[str] = field(default_factory=list)
    event_times: list[float] = field(default_factory=list)
    latencies: list[float | None] = field(default_factory=list)
    statuses: list[int | None] = field(default_factory=list)
    ttfbs: list[float | None] = field(default_factory=list)
    unparsed: list[str | None] = field(default_factory=list)
    features: dict[str, list[Any]] = field(default_factory=dict)
    outputs: dict[str, list[Any]] = field(default_factory=dict)
    spans: list[Any] = field(default_factory=list)  # span contexts of the calls, for the batch's links

    def __len__(self) -> int:
        return len(self.request_ids)


@dataclass(frozen=True, slots=True)
class BatcherStats:
    rows_added: int
    rows_published: int
    rows_refused: int  # the publisher's queue was full (also counted there, as dropped)
    bad_values: int  # rows sent as metadata only because a value did not fit its column's type
    pending: int
    failed: int = 0  # rows of batches that could not be built or handed over (a bug), logged


def _extend(columns: dict[str, list[Any]], values: Mapping[str, list[Any]], before: int, rows: int) -> None:
    for name, column in values.items():
        target = columns.get(name)
        if target is None:
            target = columns[name] = [None] * before
        target.extend(column)
    for name, target in columns.items():
        if name not in values:
            target.extend([None] * rows)


class Batcher:
    """Gather rows per model version; hand full or old batches to the publisher. Thread-safe."""

    def __init__(
        self,
        publisher: Publisher,
        *,
        specs: Mapping[str, ModelSpec] | None = None,
        max_rows: int = 5_000,
        max_seconds: float = 1.0,
        tracing: CallTracing | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.publisher = publisher
        self.tracing = tracing
        self.specs = dict(specs or {})
        self.max_rows = max_rows
        self.max_seconds = max_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], _Rows] = {}
        self._added = self._published = self._refused = self._bad = self._failed = 0

    def add(
        self,
        model: str,
        version: str,
        request_ids: list[str],
        event_time: float,
        *,
        features: Mapping[str, list[Any]] | None = None,
        outputs: Mapping[str, list[Any]] | None = None,
        latency: float | None = None,
        status: int | None = None,
        ttfb: float | None = None,
        unparsed: str | None = None,
        span: Any = None,
    ) -> None:
        """Add the rows of one call (one per request id); features/outputs are column lists.

        ``span`` is the call's OpenTelemetry span context; the batch's span links it.
        """
        rows = len(request_ids)
        if rows == 0:
            return
        full: list[tuple[str, str, _Rows]] = []
        with self._lock:
            key = (model, version)
            pending = self._pending.get(key)
            if pending is None:
                pending = self._pending[key] = _Rows(self._clock())
            before = len(pending)
            pending.request_ids.extend(request_ids)
            pending.event_times.extend([event_time] * rows)
            pending.latencies.extend([latency] * rows)
            pending.statuses.extend([status] * rows)
            pending.ttfbs.extend([ttfb] * rows)
            pending.unparsed.extend([unparsed] * rows)
            _extend(pending.features, features or {}, before, rows)
            _extend(pending.outputs, outputs or {}, before, rows)
            if span is not None:
                pending.spans.append(span)
            self._added += rows
            if len(pending) >= self.max_rows:
                full.append((model, version, self._pending.pop(key)))
        for model_name, model_version, batch_rows in full:
            self._send(model_name, model_version, batch_rows)

    def flush_due(self) -> None:
        """Send every batch older than ``max_seconds``."""
        now = self._clock()
        with self._lock:
            due = [k for k, rows in self._pending.items() if now - rows.first_added >= self.max_seconds]
            taken = [(k, self._pending.pop(k)) for k in due]
        for (model, version), rows in taken:
            self._send(model, version, rows)

    def flush(self) -> None:
        """Send everything pending now."""
        with self._lock:
            taken = list(self._pending.items())
            self._pending.clear()
        for (model, version), rows in taken:
            self._send(model, version, rows)

    def stats(self) -> BatcherStats:
        with self._lock:
            pending = sum(len(r) for r in self._pending.values())
            return BatcherStats(self._added, self._published, self._refused, self._bad, pending, self._failed)

    def _send(self, model: str, version: str, rows: _Rows) -> None:
        try:
            batch = self._encode_any(model, version, rows)
            if self.tracing is not None:
                with self.tracing.batch_span(model, batch.num_rows, rows.spans) as traceparent:
                    sent = self.publisher.publish(model, batch, traceparent)
            else:
                sent = self.publisher.publish(model, batch)
        except Exception:  # a bug or a closed publisher: counted, and the next batch still goes
            log.exception("%s: a batch of %d rows could not be sent", model, len(rows))
            with self._lock:
                self._failed += len(rows)
            return
        with self._lock:
            if sent:
                self._published += batch.num_rows
            else:
                self._refused += batch.num_rows

    def _encode_any(self, model: str, version: str, rows: _Rows) -> Any:
        """The batch; rows whose values do not fit become metadata only, never lost."""
        try:
            return self._encode(model, version, rows)
        except EncodeError:
            try:
                return self._encode_salvaged(model, version, rows)
            except EncodeError as exc:  # not a value but the columns: keep every row's envelope
                log.warning("%s: %d rows sent as metadata only: %s", model, len(rows), exc)
                with self._lock:
                    self._bad += sum(r is None for r in rows.unparsed)
                rows.unparsed = [r or "bad_value" for r in rows.unparsed]
                rows.features, rows.outputs = {}, {}
                return self._encode(model, version, rows)

    def _encode(self, model: str, version: str, rows: _Rows) -> Any:
        has_unparsed = any(r is not None for r in rows.unparsed)
        has_ttfb = any(t is not None for t in rows.ttfbs)
        return build_prediction_batch(
            model,
            rows.features,
            rows.outputs or None,
            version=version,
            request_ids=rows.request_ids,
            event_times=rows.event_times,
            latencies=rows.latencies,
            status_codes=rows.statuses,
            ttfbs=rows.ttfbs if has_ttfb else None,
            unparsed=rows.unparsed if has_unparsed else None,
            spec=self.specs.get(model) if rows.features else None,  # metadata only: no columns to check
        )

    def _encode_salvaged(self, model: str, version: str, rows: _Rows) -> Any:
        """Rows that do not fit the catalog's types become metadata-only rows; the rest stay whole."""
        for index in range(len(rows)):
            if rows.unparsed[index] is not None:
                continue
            single = _Rows(
                rows.first_added,
                [rows.request_ids[index]],
                [rows.event_times[index]],
                [rows.latencies[index]],
                [rows.statuses[index]],
                [rows.ttfbs[index]],
                [None],
                features={k: [v[index]] for k, v in rows.features.items()},
                outputs={k: [v[index]] for k, v in rows.outputs.items()},
            )
            try:
                self._encode(model, version, single)
            except EncodeError as exc:
                log.debug("%s: row %s sent as metadata only: %s", model, rows.request_ids[index], exc)
                rows.unparsed[index] = "bad_value"
                for column in (*rows.features.values(), *rows.outputs.values()):
                    column[index] = None
                with self._lock:
                    self._bad += 1
        return self._encode(model, version, rows)
