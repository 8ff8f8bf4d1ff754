"""The aggregator's label side: joins per model, realized quality per window, and their counters.

Called from the aggregator's loop with decoded batches; owns one :class:`LabelJoin` and one
:class:`QualityWindows` per model that has a ``quality`` section, and publishes every changed
window's :class:`QualityResult` to a :class:`QualitySink`. With a snapshot directory the aggregator
saves and restores it per partition (:mod:`drift.adapters.join_store`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Protocol

import numpy as np

from agent.catalog.model import ModelSpec
from drift.adapters.stats import AggregatorStats, Histogram
from drift.core.decode import DecodedBatch
from drift.core.join import Joined, LabelJoin
from drift.core.quality_windows import LABEL_DELAY_BUCKETS, QualityResult, QualityWindows
from drift.core.spill import SpillStore

__all__ = ["LabelTracker", "QualitySink"]

log = logging.getLogger(__name__)


class QualitySink(Protocol):
    """Receives each window's realized quality whenever labels for it arrive."""

    def publish_quality(self, model: ModelSpec, result: QualityResult) -> None: ...


class LabelTracker:
    """Joins and quality windows of every model with a quality section."""

    def __init__(
        self,
        sink: QualitySink | None,
        stats: AggregatorStats,
        max_pending: int = 10_000_000,
        segment_values: Callable[[ModelSpec, str], dict[str, tuple[str, ...]]] = lambda model, version: {},
        spill: SpillStore | None = None,
    ) -> None:
        self.sink = sink
        self.spill = spill  # where joins past max_pending put their oldest predictions
        self.stats = stats
        self.max_pending = max_pending
        # The reference's segment values of a model version, so quality segments match drift's.
        self._segment_values = segment_values
        self._models: dict[str, tuple[LabelJoin, QualityWindows]] = {}
        self._partition_of: dict[str, int] = {}  # model identity -> its input partition

    def _state(self, model: ModelSpec) -> tuple[LabelJoin, QualityWindows]:
        state = self._models.get(model.identity)
        if state is None:
            state = self._models[model.identity] = (
                LabelJoin(model, self.max_pending, self.spill),
                QualityWindows(model),
            )
        return state

    def models_of(self, partition: int) -> dict[str, tuple[LabelJoin, QualityWindows]]:
        """The label side of the models on ``partition`` (for a snapshot)."""
        return {m: state for m, state in self._models.items() if self._partition_of.get(m) == partition}

    def restore(self, partition: int, models: dict[str, tuple[LabelJoin, QualityWindows]]) -> None:
        """Take over a partition's snapshot (replacing what this process held for those models)."""
        for identity, state in models.items():
            state[0].max_pending = self.max_pending
            state[0].use_spill(self.spill)
            self._models[identity] = state
            self._partition_of[identity] = partition
            self._update_stats(state[0].model, state[0])

    def drop(self, partition: int) -> None:
        """Forget the models of a partition handed over to another aggregator."""
        for identity in [m for m, p in self._partition_of.items() if p == partition]:
            self._models.pop(identity, None)
            del self._partition_of[identity]

    def on_predictions(self, model: ModelSpec, batch: DecodedBatch, partition: int = 0) -> None:
        """Hold a batch of predictions for their labels (models with a quality section only)."""
        if model.quality is None:
            return
        self._partition_of[model.identity] = partition
        join, windows = self._state(model)
        codes = join.segment_codes(batch.frame)  # once, for the coverage counts and the join
        windows.count_predictions(
            batch.frame["model_version"].astype(str).to_numpy(),
            batch.event_us,
            codes,
            join.segment_values,
            lambda version: self._segment_values(model, version),
        )
        self._publish(model, join, windows, join.add_predictions(batch.frame, batch.event_us, codes))

    def on_labels(self, model: ModelSpec, batch: DecodedBatch, partition: int = 0) -> None:
        self._partition_of[model.identity] = partition
        join, windows = self._state(model)
        self._publish(model, join, windows, join.add_labels(batch.frame, batch.event_us))

    def _publish(self, model: ModelSpec, join: LabelJoin, windows: QualityWindows, joined: Joined) -> None:
        if len(joined):
            with self.stats.lock:
                delay = self.stats.label_delay.setdefault(
                    (model.namespace, model.name), Histogram(LABEL_DELAY_BUCKETS)
                )
                delay.observe(joined.delay_seconds)
            kept = lambda version: self._segment_values(model, version)  # noqa: E731
            windows.add(joined, join.versions, join.segment_values, kept, compute=False)
        self._update_stats(model, join)

    def flush(self) -> None:
        """Compute and publish each window that labels changed since the last flush (once per poll)."""
        for join, windows in self._models.values():
            for result in windows.pop_changed():
                if self.sink is not None:
                    self.sink.publish_quality(join.model, result)

    def _update_stats(self, model: ModelSpec, join: LabelJoin) -> None:
        with self.stats.lock:
            self.stats.label_join[(model.namespace, model.name)] = dataclasses.asdict(join.counts)
            self.stats.label_pending[(model.namespace, model.name)] = {
                "predictions": join.pending_predictions,
                "labels": join.pending_labels,
            }

    def expire(self) -> None:
        """Give up what waited past each model's lateness bound; forget windows no label can reach."""
        for join, windows in self._models.values():
            join.expire()
            if join.watermark_us is not None:
                windows.expire(join.watermark_us)
            self._update_stats(join.model, join)

    @property
    def pending_bytes(self) -> int:
        return int(np.sum([join.nbytes for join, _ in self._models.values()]))
