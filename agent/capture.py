"""The capture worker: calls from the proxy, parsed into rows off the hot path, into the batcher.

The proxy's event loop only appends a finished call to a bounded queue (calls and body bytes);
a full queue counts the call as dropped and the model's traffic never waits. A worker thread
parses each call's bodies (``agent.payloads``), records its span, and adds its rows to the
:class:`agent.batcher.Batcher`, which sends them by size or age.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from agent.batcher import Batcher
from agent.calls import Call
from agent.catalog.model import ModelSpec
from agent.payloads import JsonMapping, ParsedCall, UnparsedReason, parse_call
from agent.settings import CaptureSettings

if TYPE_CHECKING:
    from agent.tracing import CallTracing  # OpenTelemetry loads only when traces are on

__all__ = ["CaptureStats", "Capturer", "row_ids"]

log = logging.getLogger(__name__)

NO_CATALOG: Final = "no_catalog"  # the model has no catalog entry: nothing to read its rows with


@dataclass(frozen=True, slots=True)
class CaptureStats:
    offered: int  # calls the proxy handed over (sampled)
    captured: int  # calls turned into rows (with features, or metadata only)
    rows: int
    skipped_errors: int  # non-2xx calls not captured (capture_errors: false)
    dropped: dict[str, int]  # by reason: queue_full
    unparsed: dict[str, int]  # calls kept as metadata only, by reason
    queued: int
    queued_bytes: int


def row_ids(request_id: str, rows: int) -> list[str]:
    """Request ids of a call's rows: the call's own for one row, ``<id>:<i>`` for a batched call."""
    return [request_id] if rows == 1 else [f"{request_id}:{i}" for i in range(rows)]


class Capturer:
    """Takes calls from the proxy (``offer``), parses and batches them on a worker thread."""

    def __init__(
        self,
        settings: CaptureSettings,
        spec: ModelSpec | None,
        batcher: Batcher,
        *,
        max_parse_bytes: int = 8 * 1_048_576,
        tracing: CallTracing | None = None,
    ) -> None:
        self.settings = settings
        self.spec = spec
        self.batcher = batcher
        self.tracing = tracing
        self.max_parse_bytes = max_parse_bytes
        self.mapping = JsonMapping(**settings.json_mapping) if settings.json_mapping else None
        self._queue: deque[Call] = deque()
        self._lock = threading.Lock()
        self._queued_bytes = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._offered = self._captured = self._rows = self._skipped = 0
        self._dropped: Counter[str] = Counter()
        self._unparsed: Counter[str] = Counter()
        self._thread = threading.Thread(target=self._run, name="modelmon-capture", daemon=True)
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def offer(self, call: Call) -> None:
        """Queue a finished call; never blocks (runs on the proxy's event loop)."""
        size = len(call.request_body or b"") + len(call.response_body or b"")
        with self._lock:
            self._offered += 1
            if (
                len(self._queue) >= self.settings.queue_max_calls
                or self._queued_bytes + size > self.settings.queue_max_bytes
            ):
                self._dropped["queue_full"] += 1
                return
            self._queue.append(call)
            self._queued_bytes += size
            wake = len(self._queue) >= 256
        if wake:
            self._wake.set()

    def _run(self) -> None:
        interval = min(0.05, self.settings.batch_max_seconds / 4)
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            self.drain()
        self.drain()
        self.batcher.flush()

    def drain(self) -> None:
        """Parse and batch every queued call, then send batches that are due."""
        while True:
            with self._lock:
                if not self._queue:
                    break
                call = self._queue.popleft()
                self._queued_bytes -= len(call.request_body or b"") + len(call.response_body or b"")
            try:
                self._capture(call)
            except Exception:  # a bug here must not stop capture of the next calls
                log.exception("capturing call %s failed", call.request_id)
                with self._lock:
                    self._dropped["capture_error"] += 1
        self.batcher.flush_due()  # never raises: a batch that fails is logged and counted

    def _capture(self, call: Call) -> None:
        settings = self.settings
        ok = 200 <= call.status < 300
        if not ok and not settings.capture_errors:
            with self._lock:
                self._skipped += 1
            return
        parsed: ParsedCall | None = None
        reason: str | None
        if call.too_large or call.request_body is None:
            reason = UnparsedReason.TOO_LARGE.value
        elif self.spec is None:
            reason = NO_CATALOG
        else:
            outcome = parse_call(
                self.spec,
                call.request_body,
                call.response_body if ok else None,
                mapping=self.mapping,
                max_bytes=self.max_parse_bytes,
            )
            if isinstance(outcome, ParsedCall):
                parsed, reason = outcome, None
            else:
                reason = outcome.reason.value
        rows = parsed.rows if parsed is not None else 1
        if rows == 0:  # an empty batch call: keep the call itself, as metadata
            parsed, reason, rows = None, UnparsedReason.ROW_MISMATCH.value, 1
        span = self.tracing.call_span(call, rows, reason) if self.tracing is not None else None
        self.batcher.add(
            settings.model,
            settings.version,
            row_ids(call.request_id, rows),
            call.started,
            features=parsed.features if parsed is not None else None,
            outputs=parsed.outputs if parsed is not None else None,
            latency=call.latency_seconds,
            status=call.status,
            ttfb=call.ttfb_seconds,
            unparsed=reason,
            span=span,
        )
        with self._lock:
            self._captured += 1
            self._rows += rows
            if reason is not None:
                self._unparsed[reason] += 1

    def stats(self) -> CaptureStats:
        with self._lock:
            return CaptureStats(
                offered=self._offered,
                captured=self._captured,
                rows=self._rows,
                skipped_errors=self._skipped,
                dropped=dict(self._dropped),
                unparsed=dict(self._unparsed),
                queued=len(self._queue),
                queued_bytes=self._queued_bytes,
            )

    def close(self, timeout: float | None = 10.0) -> None:
        """Parse what is queued, send the last batches (the publisher is closed by its owner)."""
        self._stop.set()
        self._wake.set()
        if self._started:
            self._thread.join(timeout)
        else:
            self.drain()
            self.batcher.flush()
