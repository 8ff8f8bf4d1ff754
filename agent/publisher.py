"""The publisher: takes prediction batches from the caller and sends them to Kafka in the background.

The caller's thread only appends to a bounded queue (counted in records, so memory stays bounded);
a sender thread encodes the batches in the wire format and hands them to kafka-python, whose own
I/O thread batches, compresses and delivers them with ``acks=all``. Nothing here ever blocks or
raises into the model's path: a full queue drops the new batch and counts it. With a spool folder,
a batch Kafka did not take goes to the disk spool, and later batches follow it there until a replay
thread has sent the spool's content, in order (``agent.spool``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

import pyarrow as pa

from agent.errors import PublisherClosedError
from agent.settings import KafkaSettings, PublisherSettings
from agent.spool import Spool
from agent.wire.encode import encode_message

__all__ = ["Producer", "Publisher", "PublisherStats", "kafka_producer_factory"]

log = logging.getLogger(__name__)


class Producer(Protocol):
    """The part of ``kafka.KafkaProducer`` the publisher uses; tests pass an in-memory one."""

    def send(self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]]) -> Any: ...
    def flush(self, timeout: float | None = None) -> None: ...
    def close(self, timeout: float | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class PublisherStats:
    """A snapshot of the publisher's counters (records unless named otherwise)."""

    enqueued: int
    sent: int
    failed: int
    dropped: dict[str, int]
    queued: int
    in_flight: int
    messages_sent: int
    spooled: int = 0  # records put in the spool (Kafka slow or down)
    replayed: int = 0  # records sent from the spool since
    spool_bytes: int = 0  # on disk, waiting to be replayed
    spool_max_bytes: int = 0  # the spool's bound (0: no spool)


def kafka_producer_factory(kafka: KafkaSettings, settings: PublisherSettings) -> Producer:
    """A kafka-python producer tuned for large Arrow batches: acks=all, idempotent-safe retries."""
    from kafka import KafkaProducer

    return KafkaProducer(  # type: ignore[no-any-return]
        **kafka.client_config(),
        acks="all",
        compression_type=settings.compression,
        linger_ms=settings.linger_ms,
        batch_size=settings.batch_size_bytes,
        max_request_size=settings.max_request_size_bytes,
        # A batch Kafka has not acknowledged within the delivery timeout fails (and is spooled);
        # kafka-python's own default would hold it two minutes in memory first.
        delivery_timeout_ms=int(settings.delivery_timeout_seconds * 1000),
        request_timeout_ms=max(1, int(settings.delivery_timeout_seconds * 1000) - settings.linger_ms),
        retries=5,
        max_in_flight_requests_per_connection=1,  # keeps one model's batches in order across retries
        # A known protocol version: the constructor then does not wait for a broker, so the agent
        # starts (and spools) while Kafka is down. Kafka 2.8 requests are served by every broker
        # since, Kafka 4 included.
        api_version=kafka.api_version,
        # A send waits this long for metadata, then spools; and the producer reconnects within
        # seconds of Kafka's return (kafka-python's own backoff grows to 30 s).
        max_block_ms=int(settings.max_block_seconds * 1000),
        reconnect_backoff_max_ms=2_000,
        **settings.extra,
    )


_Item = tuple[str, pa.RecordBatch, str | None]
_STOP = object()


class Publisher:
    """Send prediction batches to Kafka asynchronously, through a bounded queue.

    ``publish`` returns at once; ``flush`` waits until everything queued was acknowledged or
    failed; ``stats`` reports what happened to every record.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        settings: PublisherSettings | None = None,
        *,
        producer_factory: Callable[[KafkaSettings, PublisherSettings], Producer] = kafka_producer_factory,
        on_delivered: Callable[[float], None] | None = None,
    ) -> None:
        """``on_delivered(seconds)`` is told each message's time from send to Kafka's acknowledgement."""
        self.settings = settings or PublisherSettings()
        self._on_delivered = on_delivered
        # Made on first use, on the sender thread: kafka-python's constructor waits for a broker,
        # and an agent must start (and spool) while Kafka is down.
        self._kafka = kafka
        self._producer_factory = producer_factory
        self._producer: Producer | None = None
        self._producer_lock = threading.Lock()
        self._next_connect = 0.0
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queued = 0  # records in the queue, not yet handed to the producer
        self._in_flight = 0  # records handed to the producer, not yet acknowledged
        self._enqueued = 0
        self._sent = 0
        self._failed = 0
        self._messages_sent = 0
        self._dropped: Counter[str] = Counter()
        self._closed = False
        self._spooled = 0
        self._replayed = 0
        self._spool: Spool | None = None
        if self.settings.spool_dir is not None:
            self._spool = Spool(
                self.settings.spool_dir,
                self.settings.spool_max_bytes,
                policy=self.settings.spool_policy,
                fsync=self.settings.spool_fsync,
            )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="modelmon-publisher", daemon=True)
        self._thread.start()
        self._replayer: threading.Thread | None = None
        if self._spool is not None:
            self._replayer = threading.Thread(target=self._replay_loop, name="modelmon-spool", daemon=True)
            self._replayer.start()

    @property
    def spool(self) -> Spool | None:
        """The disk spool, when one is configured."""
        return self._spool

    def publish(self, model: str, batch: pa.RecordBatch, traceparent: str | None = None) -> bool:
        """Queue a batch built by ``agent.wire.build_prediction_batch``. False when it was dropped."""
        if self._closed:
            raise PublisherClosedError("publisher is closed")
        rows = batch.num_rows
        if rows == 0:
            return True
        with self._lock:
            if self._queued + rows > self.settings.queue_max_records:
                self._dropped["queue_full"] += rows
                return False
            self._queued += rows
            self._enqueued += rows
        self._queue.put((model, batch, traceparent))
        return True

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            model, batch, traceparent = cast(_Item, item)
            step = self.settings.max_rows_per_message
            for start in range(0, batch.num_rows, step):
                self._send(model, batch.slice(start, step), traceparent)

    def _send(self, model: str, batch: pa.RecordBatch, traceparent: str | None) -> None:
        rows = batch.num_rows
        try:
            message = encode_message(
                model,
                batch,
                kind=self.settings.kind,
                producer=self.settings.producer_name,
                traceparent=traceparent,
            )
        except (pa.ArrowException, ValueError) as exc:  # should not happen for a built batch
            log.error("cannot encode a batch of %d records for %s: %s", rows, model, exc)
            self._settle(rows, dropped="encode_error")
            return
        with self._lock:
            self._queued -= rows
            self._in_flight += rows
            self._idle.notify_all()
        if self._spool is not None and self._spool.stats.bytes > 0:
            # Batches are waiting in the spool: this one goes behind them, to keep the order.
            self._to_spool(message.key, message.value, message.headers, rows)
            return
        try:
            producer = self._connected(attempt=True)
            future = producer.send(
                self.settings.topic, value=message.value, key=message.key, headers=message.headers
            )
        except Exception as exc:  # kafka-python raises many types here; none may escape
            self._delivery_failed(rows, model, exc, message.key, message.value, message.headers)
            return
        sent_at = time.perf_counter()
        future.add_callback(lambda _meta: self._delivered(rows, ok=True, sent_at=sent_at))
        future.add_errback(
            lambda exc: self._delivery_failed(rows, model, exc, message.key, message.value, message.headers)
        )

    def _delivery_failed(
        self,
        rows: int,
        model: str,
        exc: BaseException,
        key: bytes,
        value: bytes,
        headers: list[tuple[str, bytes]],
    ) -> None:
        log.warning("delivery of %d records for %s failed: %s", rows, model, exc)
        if self._spool is not None:
            self._to_spool(key, value, headers, rows)
        else:
            self._delivered(rows, ok=False)

    def _to_spool(self, key: bytes, value: bytes, headers: list[tuple[str, bytes]], rows: int) -> None:
        """Move an in-flight message to the spool (a full spool drops and counts by its policy)."""
        assert self._spool is not None
        try:
            kept = self._spool.append(key, value, headers, rows)
        except OSError as exc:  # the disk failed too: the records are lost, and counted
            log.error("spooling %d records failed: %s", rows, exc)
            kept = False
            with self._lock:
                self._dropped["spool_error"] += rows
        with self._lock:
            self._in_flight -= rows
            if kept:
                self._spooled += rows
            self._idle.notify_all()

    def _replay_loop(self) -> None:
        """While the spool holds batches, send them in order; stop at the first failure, retry later."""
        assert self._spool is not None
        while not self._stop.wait(self.settings.spool_retry_seconds):
            try:
                producer = self._connected(attempt=True)
                for message in self._spool.replay():
                    future = producer.send(
                        self.settings.topic, value=message.value, key=message.key, headers=message.headers
                    )
                    future.get(timeout=self.settings.delivery_timeout_seconds)
                    self._spool.ack(message)
                    with self._lock:
                        self._replayed += message.rows
                        self._sent += message.rows
                        self._messages_sent += 1
                        self._idle.notify_all()
            except Exception as exc:  # Kafka still away (or the spool cut a segment): later
                log.debug("spool replay paused: %s", exc)

    def _delivered(self, rows: int, *, ok: bool, sent_at: float | None = None) -> None:
        if sent_at is not None and self._on_delivered is not None:
            try:
                self._on_delivered(time.perf_counter() - sent_at)
            except Exception:  # an observer's bug must not leave the records in flight forever
                log.exception("the delivery observer failed")
        with self._lock:
            self._in_flight -= rows
            if ok:
                self._sent += rows
                self._messages_sent += 1
            else:
                self._failed += rows
                self._dropped["delivery_failed"] += rows
            self._idle.notify_all()

    def _settle(self, rows: int, *, dropped: str) -> None:
        with self._lock:
            self._queued -= rows
            self._dropped[dropped] += rows
            self._idle.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued record is acknowledged or failed. False on timeout."""
        with self._lock:
            ok = self._idle.wait_for(lambda: self._queued == 0 or self._closed, timeout)
        try:
            if self._producer is not None:
                self._producer.flush(timeout)
        except Exception as exc:  # kafka-python raises KafkaTimeoutError; the wait below decides
            log.debug("producer flush: %s", exc)
        with self._lock:
            return ok and self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def stats(self) -> PublisherStats:
        with self._lock:
            return PublisherStats(
                enqueued=self._enqueued,
                sent=self._sent,
                failed=self._failed,
                dropped=dict(self._dropped)
                | (
                    {"spool_full": self._spool.stats.dropped_rows}
                    if self._spool and self._spool.stats.dropped_rows
                    else {}
                ),
                queued=self._queued,
                in_flight=self._in_flight,
                messages_sent=self._messages_sent,
                spooled=self._spooled,
                replayed=self._replayed,
                spool_bytes=self._spool.stats.bytes if self._spool else 0,
                spool_max_bytes=self._spool.max_bytes if self._spool else 0,
            )

    def close(self, timeout: float | None = 10.0) -> None:
        """Send what is queued (within ``timeout``), then stop. Idempotent."""
        if self._closed:
            return
        self.flush(timeout)
        self._closed = True
        self._stop.set()
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._replayer is not None:
            self._replayer.join(timeout)
        if self._spool is not None:
            self._spool.close()  # what is still spooled is replayed by the next process
        if self._producer is not None:
            self._producer.close(timeout)

    def _connected(self, *, attempt: bool) -> Producer:
        """The producer, made now if ``attempt``; raises while Kafka cannot be reached (retried later)."""
        producer = self._producer
        if producer is not None:
            return producer
        if not attempt:
            raise ConnectionError("not connected to Kafka yet")
        with self._producer_lock:
            if self._producer is None:
                if time.monotonic() < self._next_connect:
                    raise ConnectionError("Kafka was not reachable a moment ago")
                try:
                    self._producer = self._producer_factory(self._kafka, self.settings)
                except Exception:
                    self._next_connect = time.monotonic() + self.settings.spool_retry_seconds
                    raise
            return self._producer

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
