"""The aggregator's Kafka loop: a thin adapter between the consumer group and the pure core.

Per poll: decode each message (or count its rejection), add its rows to the partition's windows,
close the windows the watermark passed, compute and publish their results, then write checkpoints
and commit offsets. Offsets never pass a record of a window that is not yet published.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Protocol

import numpy as np
import pandas as pd
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

from agent.catalog.model import Catalog, ModelSpec, WindowSpec
from agent.tracing import traceparent_context
from drift.adapters.checkpoints import CheckpointStore
from drift.adapters.join_store import JoinSnapshots, PartitionSnapshot
from drift.adapters.labels import LabelTracker, QualitySink
from drift.adapters.references import ReferenceCache
from drift.adapters.settings import AggregatorSettings
from drift.adapters.spill_files import FileSpill
from drift.adapters.stats import AggregatorStats, observe_latency
from drift.core.compute import compute_segments, compute_window, payload_mask, payload_rows
from drift.core.decode import DecodedBatch, Rejection, RejectReason, decode_labels, decode_predictions
from drift.core.results import WindowResult
from drift.core.windows import ClosedWindow, PartitionWindows

__all__ = ["Aggregator", "WindowSink"]

log = logging.getLogger(__name__)


class WindowSink(Protocol):
    """Receives every closed window once: its result and its rows (for archives and reports)."""

    def publish(self, model: ModelSpec, result: WindowResult, frame: pd.DataFrame) -> None: ...


class Aggregator:
    """Consume predictions in a consumer group and publish window results to ``sink``."""

    def __init__(
        self,
        settings: AggregatorSettings,
        catalog: Catalog,
        sink: WindowSink,
        checkpoints: CheckpointStore,
        *,
        references: ReferenceCache | None = None,
        stats: AggregatorStats | None = None,
        clock: Callable[[], float] = time.time,
        consumer: Any = None,
        quality_sink: QualitySink | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        """``tracer_provider``: makes a span per accepted batch, a child of the producer's ``traceparent``."""
        self.settings = settings
        self._tracer = tracer_provider.get_tracer("modelmon.aggregator") if tracer_provider else None
        self.catalog = catalog
        self.sink = sink
        self.checkpoints = checkpoints
        # Scores a window's columns in parallel (NumPy releases the GIL while sorting and counting).
        self._pool = ThreadPoolExecutor(
            max_workers=settings.compute_threads or os.cpu_count() or 1, thread_name_prefix="modelmon-compute"
        )
        self.references = references or ReferenceCache(self._pool)
        self.stats = stats or AggregatorStats()
        self._clock = clock
        self._consumer = consumer or self._make_consumer()
        self._states: dict[int, PartitionWindows] = {}
        self._dirty = False
        self._last_commit = 0.0
        self._pending: set[int] = set()
        # Spills belong to this process (snapshots are what the next owner reads): its own folder.
        spill = (
            FileSpill(settings.join_state_dir / "spill" / uuid.uuid4().hex)
            if settings.join_state_dir
            else None
        )
        self.labels = LabelTracker(
            quality_sink, self.stats, settings.join_max_pending, self._reference_segments, spill
        )
        self._label_offsets: dict[int, int] = {}  # labels partition -> next offset to consume
        # What may be committed on the labels topic: up to the last snapshot when there are snapshots.
        self._label_committable: dict[int, int] = {}
        self._join_from: dict[int, int] = {}  # predictions at or after this offset go to the join
        self._snapshots = JoinSnapshots(settings.join_state_dir) if settings.join_state_dir else None
        self._last_snapshot = 0.0
        self.assigned = threading.Event()  # set once partitions were first assigned

    def _reference_segments(self, model: ModelSpec, version: str) -> dict[str, tuple[str, ...]]:
        reference = self.references.get(model, version)
        return reference.segment_values if reference is not None else {}

    def _make_consumer(self) -> Any:
        from kafka import KafkaConsumer

        s = self.settings
        return KafkaConsumer(
            **s.kafka.client_config(),
            group_id=s.group_id,
            enable_auto_commit=False,
            auto_offset_reset=s.auto_offset_reset,
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
            max_poll_records=s.max_poll_records,
            max_partition_fetch_bytes=32 * 1_048_576,
            fetch_max_bytes=64 * 1_048_576,
        )

    # --- consumer group -------------------------------------------------------------------
    def _window_for(self, identity: str) -> WindowSpec:
        model = self.catalog.get(identity)
        return model.window if model else WindowSpec()

    def _on_assigned(self, assigned: Any) -> None:
        # Runs on kafka-python's IO thread, where blocking consumer calls are not allowed: only note
        # the partitions; the poll thread restores them (see _restore_assigned).
        self._pending.update(
            tp.partition
            for tp in assigned
            if tp.topic == self.settings.topic and tp.partition not in self._states
        )

    def _restore_assigned(self, polled: dict[Any, Any]) -> None:
        """Resume newly assigned partitions from their checkpoints; drop records fetched before that."""
        from kafka import TopicPartition

        for partition in sorted(self._pending):
            tp = TopicPartition(self.settings.topic, partition)
            fetched = polled.pop(tp, None)
            checkpoint = self.checkpoints.load(partition)
            state = PartitionWindows(
                partition,
                self._window_for,
                idle_advance_seconds=self.settings.idle_advance_seconds,
                checkpoint=checkpoint,
            )
            start = checkpoint.safe_offset if checkpoint else (fetched[0].offset if fetched else None)
            self._join_from[partition] = checkpoint.replay_until if checkpoint else 0
            snapshot = self._load_snapshot(partition)
            if snapshot is not None:
                # Predictions after the snapshot go to the join again: read from there if earlier.
                self.labels.restore(partition, snapshot.models)
                self._join_from[partition] = snapshot.predictions_until
                start = (
                    snapshot.predictions_until if start is None else min(start, snapshot.predictions_until)
                )
                self._resume_labels(partition, snapshot.labels_until, polled)
            if start is not None:
                self._consumer.seek(tp, start)
            log.info(
                "partition %d: resuming from %s (join snapshot: %s)",
                partition,
                checkpoint,
                snapshot is not None,
            )
            self._states[partition] = state
        self._pending.clear()
        with self.stats.lock:
            self.stats.partitions[self.settings.topic] = len(self._states)
        if self._states:
            self.assigned.set()

    def _load_snapshot(self, partition: int) -> PartitionSnapshot | None:
        """The partition's join snapshot; a broken one is logged and counted, and skipped."""
        if self._snapshots is None:
            return None
        try:
            return self._snapshots.load(partition, self.catalog)
        except Exception:  # a corrupt or incompatible snapshot must not crash-loop the aggregator
            log.exception("join snapshot of partition %d unreadable: starting its join empty", partition)
            with self.stats.lock:
                self.stats.sink_failures["JoinSnapshots"] += 1
            return None

    def _resume_labels(self, partition: int, offset: int | None, polled: dict[Any, Any]) -> None:
        """Read a partition's labels again from what its join snapshot covers."""
        from kafka import TopicPartition

        tp = TopicPartition(self.settings.labels_topic, partition)
        if offset is not None and tp in self._consumer.assignment():
            polled.pop(tp, None)  # fetched from elsewhere: read again from the snapshot's end
            self._consumer.seek(tp, offset)
            self._label_offsets[partition] = self._label_committable[partition] = offset

    def _snapshot(self, partitions: list[int]) -> None:
        """Save the label side of ``partitions``; the labels topic may then be committed up to it."""
        if self._snapshots is None:
            return
        for partition in partitions:
            state = self._states.get(partition)
            if state is None or state.next_offset is None:
                continue
            labels_until = self._label_offsets.get(partition)
            try:
                self._snapshots.save(
                    partition, self.labels.models_of(partition), state.next_offset, labels_until
                )
            except OSError as exc:  # the previous snapshot stays; labels are not committed past it
                log.warning("join snapshot of partition %d failed: %s", partition, exc)
                continue
            if labels_until is not None:
                self._label_committable[partition] = labels_until
        self._last_snapshot = self._clock()

    def _on_revoked(self, revoked: Any) -> None:
        # On the IO thread, while the poll thread waits in poll(): the state is ours to touch, but
        # only non-blocking calls on this consumer are allowed (so the offset commit is async).
        ours = [tp for tp in revoked if tp.topic == self.settings.topic]
        self._pending.difference_update(tp.partition for tp in ours)
        partitions = [tp.partition for tp in ours if tp.partition in self._states]
        self._hand_over(partitions, sync=False)
        label_partitions = [tp.partition for tp in revoked if tp.topic == self.settings.labels_topic]
        self._commit_labels(label_partitions, sync=False)
        for partition in label_partitions:
            self._label_offsets.pop(partition, None)
            self._label_committable.pop(partition, None)

    def _hand_over(self, partitions: list[int], *, sync: bool = True) -> None:
        """Publish what is closed, checkpoint the rest and let the partitions go."""
        if not partitions:
            return
        self._close_windows(self._clock(), partitions)
        self.labels.flush()  # what labels changed reaches the sink before the models go
        self._snapshot(partitions)
        self._commit(partitions, sync=sync)
        for partition in partitions:
            del self._states[partition]
            self.labels.drop(partition)
        with self.stats.lock:
            self.stats.partitions[self.settings.topic] = len(self._states)
        log.info("handed over partitions %s", partitions)

    # --- the loop -----------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set, then hand every partition over cleanly."""
        from kafka import ConsumerRebalanceListener

        aggregator = self

        class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
            def on_partitions_revoked(self, revoked: Any) -> None:
                aggregator._on_revoked(revoked)

            def on_partitions_assigned(self, assigned: Any) -> None:
                aggregator._on_assigned(assigned)

        self._consumer.subscribe([self.settings.topic, self.settings.labels_topic], listener=_Listener())
        try:
            while not stop.is_set():
                self.poll_once()
            self._hand_over(list(self._states))
        finally:
            self._consumer.close(autocommit=False)
            self.checkpoints.close()
            self._pool.shutdown(wait=False)

    def poll_once(self) -> None:
        polled = dict(self._consumer.poll(timeout_ms=self.settings.poll_timeout_ms))
        if self._pending:
            self._restore_assigned(polled)
        now = self._clock()
        now_us = int(now * 1_000_000)
        for tp, messages in polled.items():
            if tp.topic == self.settings.labels_topic:
                for message in messages:
                    self._process_labels(message)
                continue
            state = self._states.get(tp.partition)
            if state is None:
                continue
            for message in messages:
                self._process(state, message, now_us)
        try:
            self.labels.flush()
        except Exception:  # a bug in the quality side must not stop drift
            log.exception("publishing realized quality failed")
        for state in self._states.values():
            state.advance_idle(now_us)
        self._close_windows(now, list(self._states))
        if self._dirty and now - self._last_commit >= self.settings.commit_interval_seconds:
            self.labels.expire()
            if now - self._last_snapshot >= self.settings.join_snapshot_seconds:
                self._snapshot(list(self._states))
            self._commit(list(self._states))
            self._commit_labels(list(self._label_offsets))
        self._update_gauges(polled)

    def _process(self, state: PartitionWindows, message: Any, now_us: int) -> None:
        topic = self.settings.topic
        decoded: DecodedBatch | Rejection = decode_predictions(message.key, message.value, message.headers)
        if isinstance(decoded, DecodedBatch) and self.catalog.get(decoded.model) is None:
            decoded = Rejection(RejectReason.UNKNOWN_MODEL, f"model {decoded.model!r} is not in the catalog")
        self._dirty = True
        if isinstance(decoded, Rejection):
            if not state.skip(message.offset):
                with self.stats.lock:
                    self.stats.messages[topic] += 1
                    self.stats.messages_rejected[(topic, decoded.reason.value)] += 1
                log.warning(
                    "partition %d offset %d rejected (%s): %s",
                    state.partition,
                    message.offset,
                    decoded.reason.value,
                    decoded.detail,
                )
            return
        if self._tracer is None:
            self._accept(state, message, decoded, now_us)
            return
        with self._tracer.start_as_current_span(
            "modelmon.aggregate",
            context=traceparent_context(decoded.traceparent),  # the agent's batch span, if it sent one
            kind=SpanKind.CONSUMER,
            attributes={
                "modelmon.model": decoded.model,
                "modelmon.rows": len(decoded.frame),
                "messaging.kafka.partition": state.partition,
                "messaging.kafka.offset": message.offset,
            },
        ):
            self._accept(state, message, decoded, now_us)

    def _accept(self, state: PartitionWindows, message: Any, decoded: DecodedBatch, now_us: int) -> None:
        """Add an accepted batch to its windows, to the label join, and to the latency histogram."""
        topic = self.settings.topic
        replay = message.offset < state.replay_until
        outcome = state.add(message.offset, decoded, now_us)
        model = self.catalog.get(decoded.model)
        if model is not None and message.offset >= self._join_from.get(state.partition, 0):
            try:
                mask = payload_mask(decoded.frame)
                payload = (
                    decoded
                    if mask is None
                    else replace(
                        decoded,
                        frame=decoded.frame.loc[mask].reset_index(drop=True),
                        event_us=decoded.event_us[mask],
                    )
                )
                self.labels.on_predictions(model, payload, state.partition)
            except Exception:  # a bug in the label side must not stop drift
                log.exception("holding predictions of %s for their labels failed", model.identity)
        if replay:
            return
        if model is not None:
            observe_latency(self.stats, model.namespace, model.name, decoded.frame)
        with self.stats.lock:
            self.stats.messages[topic] += 1
            if outcome.late:
                self.stats.records_rejected[(topic, "late")] += outcome.late
            if decoded.rejected_rows:
                self.stats.records_rejected[(topic, "null_required")] += decoded.rejected_rows

    def _process_labels(self, message: Any) -> None:
        topic = self.settings.labels_topic
        self._label_offsets[message.partition] = message.offset + 1
        self._dirty = True
        decoded = decode_labels(message.key, message.value, message.headers)
        model = self.catalog.get(decoded.model) if isinstance(decoded, DecodedBatch) else None
        if isinstance(decoded, DecodedBatch) and model is None:
            decoded = Rejection(RejectReason.UNKNOWN_MODEL, f"model {decoded.model!r} is not in the catalog")
        elif model is not None and model.quality is None:
            decoded = Rejection(RejectReason.NO_QUALITY, f"{model.identity} has no quality section")
        with self.stats.lock:
            self.stats.messages[topic] += 1
            if isinstance(decoded, Rejection):
                self.stats.messages_rejected[(topic, decoded.reason.value)] += 1
            elif decoded.rejected_rows:
                self.stats.records_rejected[(topic, "null_required")] += decoded.rejected_rows
        if isinstance(decoded, Rejection):
            log.warning(
                "labels offset %d rejected (%s): %s", message.offset, decoded.reason.value, decoded.detail
            )
            return
        assert model is not None
        try:
            self.labels.on_labels(model, decoded, message.partition)
        except Exception:  # one bad batch must not stop the loop; its rows are counted
            log.exception("joining labels of %s failed", model.identity)
            with self.stats.lock:
                self.stats.records_rejected[(topic, "compute_error")] += len(decoded.frame)

    def _commit_labels(self, partitions: list[int], *, sync: bool = True) -> None:
        """Commit the labels topic's positions: a label consumed twice after a crash is a counted duplicate."""
        from kafka import TopicPartition
        from kafka.structs import OffsetAndMetadata

        committable = self._label_committable if self._snapshots else self._label_offsets
        offsets = {
            TopicPartition(self.settings.labels_topic, p): OffsetAndMetadata(committable[p], "", -1)
            for p in partitions
            if p in committable
        }
        if not offsets:
            return
        try:
            if sync:
                self._consumer.commit(offsets)
            else:
                self._consumer.commit_async(offsets)
        except Exception as exc:
            log.warning("labels offset commit failed: %s", exc)

    def _close_windows(self, now: float, partitions: list[int]) -> None:
        for partition in partitions:
            for closed in self._states[partition].pop_closed():
                model = self.catalog.get(closed.key.model)
                if model is not None:
                    self._publish(model, closed)

    def _publish(self, model: ModelSpec, closed: ClosedWindow) -> None:
        """Compute a closed window (and its segments) and hand the results to the sink."""
        try:
            reference = self.references.get(model, closed.key.version)
            result = compute_window(model, closed.key, closed.end_us, closed.frame, reference, self._pool)
            result = replace(result, fresh_records=closed.fresh_records)
            segments = compute_segments(model, closed.key, closed.end_us, closed.frame, reference, self._pool)
            if reference is None:
                self.references.observe(model, closed.key.version, payload_rows(closed.frame))
        except Exception:  # a bug in one window must not stop the others
            log.exception("computing window %s failed", closed.key)
            with self.stats.lock:
                self.stats.records_rejected[(self.settings.topic, "compute_error")] += len(closed.frame)
            return
        self.sink.publish(model, result, closed.frame)
        for part, segment_result in segments:
            fresh = int(np.count_nonzero(closed.fresh[part.rows]))  # each row once, across sliding windows
            self.sink.publish(model, replace(segment_result, fresh_records=fresh), part.frame)
            if part.overflow and fresh:
                with self.stats.lock:
                    key = (model.namespace, model.name, closed.key.version, part.column)
                    self.stats.segment_overflow[key] += fresh
        self._dirty = True

    def _commit(self, partitions: list[int], *, sync: bool = True) -> None:
        from kafka import TopicPartition
        from kafka.structs import OffsetAndMetadata

        checkpoints = [c for c in (self._states[p].checkpoint() for p in partitions) if c is not None]
        if not checkpoints:
            return
        self.checkpoints.save(checkpoints)  # first: the checkpoint is what the next owner resumes from
        offsets = {
            TopicPartition(self.settings.topic, c.partition): OffsetAndMetadata(c.safe_offset, "", -1)
            for c in checkpoints
        }
        try:
            if sync:
                self._consumer.commit(offsets)
            else:
                self._consumer.commit_async(offsets)
        except (
            Exception
        ) as exc:  # the checkpoint already holds the position; a failed commit only shows as lag
            log.warning("offset commit failed: %s", exc)
        with self.stats.lock:
            self.stats.commits[self.settings.topic] += 1
        self._dirty = False
        self._last_commit = self._clock()

    def _update_gauges(self, polled: dict[Any, Any]) -> None:
        lag: dict[tuple[str, int], int] = {}
        for tp in polled:
            highwater = self._consumer.highwater(tp)
            if highwater is not None and (
                tp.partition in self._states or tp.topic == self.settings.labels_topic
            ):
                lag[(tp.topic, tp.partition)] = max(0, highwater - self._consumer.position(tp))
        with self.stats.lock:
            self.stats.open_windows = sum(s.open_windows for s in self._states.values())
            self.stats.lag.update(lag)
            for key in [
                k
                for k in self.stats.lag
                if (k[0] == self.settings.topic and k[1] not in self._states)
                or (k[0] == self.settings.labels_topic and k[1] not in self._label_offsets)
            ]:
                del self.stats.lag[key]
