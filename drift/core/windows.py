"""Event-time tumbling windows of one Kafka partition, with a replayable checkpoint.

State is kept per partition so that aggregators in one consumer group split the models between
them. Each model on the partition has its own watermark: the largest event time seen for it
(advanced by the wall clock once the model has been idle for a while), so one model's backfill
never makes another's records late. A window ``[start, end)`` closes when its model's watermark
reaches ``end + allowed_lateness``; a record that arrives for a closed window is late.

Hand-over without loss or double counting: a :class:`Checkpoint` records the watermarks, the first
offset still needed by an open window (``safe_offset``) and the next offset not yet consumed
(``replay_until``). The next owner seeks to ``safe_offset`` and replays: a record below
``replay_until`` is re-added when its window is still open under the checkpoint's watermark, and
skipped silently otherwise (it was counted or rejected before). While replaying, no window closes
and the clock does not move the watermark, so the rebuilt state equals the one handed over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from agent.catalog.model import WindowSpec
from drift.core.decode import DecodedBatch
from drift.core.results import WindowKey

__all__ = ["AddOutcome", "Checkpoint", "ClosedWindow", "PartitionWindows"]

_MICROS = 1_000_000


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where a partition's next owner resumes; see the module docstring."""

    partition: int
    safe_offset: int
    replay_until: int
    watermarks_us: dict[str, int]  # by model identity


@dataclass(frozen=True, slots=True)
class AddOutcome:
    """What happened to a batch's rows: added to windows, rejected as late, or skipped in replay."""

    accepted: int
    late: int
    replay_skipped: int


@dataclass(frozen=True, slots=True)
class ClosedWindow:
    key: WindowKey
    end_us: int
    frame: pd.DataFrame


class _Buffer:
    __slots__ = ("end_us", "frames", "min_offset", "records")

    def __init__(self, end_us: int, offset: int) -> None:
        self.end_us = end_us
        self.frames: list[pd.DataFrame] = []
        self.min_offset = offset
        self.records = 0


class _ModelClock:
    __slots__ = ("last_arrival_us", "max_event_us", "watermark_us")

    def __init__(self, watermark_us: int) -> None:
        self.watermark_us = watermark_us
        self.max_event_us = watermark_us
        self.last_arrival_us: int | None = None


class PartitionWindows:
    """The open windows of every model on one partition."""

    def __init__(
        self,
        partition: int,
        window_for: Callable[[str], WindowSpec],
        *,
        idle_advance_seconds: float = 30.0,
        checkpoint: Checkpoint | None = None,
    ) -> None:
        self.partition = partition
        self._window_for = window_for
        self._idle_us = int(idle_advance_seconds * _MICROS)
        self._buffers: dict[WindowKey, _Buffer] = {}
        self._clocks: dict[str, _ModelClock] = {
            model: _ModelClock(mark)
            for model, mark in (checkpoint.watermarks_us if checkpoint else {}).items()
        }
        self.replay_until = checkpoint.replay_until if checkpoint else 0
        # None until the first message: a fresh partition's position is only known from its records.
        self.next_offset: int | None = checkpoint.safe_offset if checkpoint else None

    @property
    def replaying(self) -> bool:
        return self.next_offset is not None and self.next_offset < self.replay_until

    def _consumed(self, offset: int) -> None:
        self.next_offset = offset + 1 if self.next_offset is None else max(self.next_offset, offset + 1)

    def watermark_us(self, model: str) -> int | None:
        clock = self._clocks.get(model)
        return clock.watermark_us if clock else None

    @property
    def open_windows(self) -> int:
        return len(self._buffers)

    def _lateness_us(self, spec: WindowSpec) -> int:
        return int(spec.allowed_lateness_seconds * _MICROS)

    def skip(self, offset: int) -> bool:
        """Account for a message that was rejected whole. True when it is a replay (already counted)."""
        replay = offset < self.replay_until
        self._consumed(offset)
        return replay

    def add(self, offset: int, batch: DecodedBatch, now_us: int) -> AddOutcome:
        """Put a decoded batch's rows into their windows. Rows of closed windows are late."""
        replay = offset < self.replay_until
        self._consumed(offset)
        spec = self._window_for(batch.model)
        size_us = max(1, int(spec.size_seconds * _MICROS))
        lateness_us = self._lateness_us(spec)
        event_us = batch.event_us
        starts = (event_us // size_us) * size_us
        clock = self._clocks.get(batch.model)
        if clock is None:
            open_mask = np.ones(event_us.shape, dtype=bool)
        else:
            open_mask = starts + size_us + lateness_us > clock.watermark_us
        rejected = int(event_us.size - np.count_nonzero(open_mask))
        versions = batch.frame["model_version"].astype(str).to_numpy()
        accepted = 0
        for start in np.unique(starts[open_mask]):
            in_start = open_mask & (starts == start)
            for version in np.unique(versions[in_start]):
                mask = in_start & (versions == version)
                key = WindowKey(batch.model, str(version), int(start))
                buffer = self._buffers.get(key)
                if buffer is None:
                    buffer = self._buffers[key] = _Buffer(int(start) + size_us, offset)
                buffer.frames.append(batch.frame.loc[mask])
                buffer.min_offset = min(buffer.min_offset, offset)
                count = int(np.count_nonzero(mask))
                buffer.records += count
                accepted += count
        if event_us.size:
            batch_max = int(event_us.max())
            if clock is None:
                clock = self._clocks[batch.model] = _ModelClock(batch_max)
            clock.max_event_us = max(clock.max_event_us, batch_max)
            clock.watermark_us = max(clock.watermark_us, batch_max)
            if not replay:
                clock.last_arrival_us = now_us
        return AddOutcome(accepted, 0 if replay else rejected, rejected if replay else 0)

    def advance_idle(self, now_us: int) -> None:
        """Move each idle model's watermark with the wall clock once it has been idle long enough."""
        if self.replaying:
            return
        for clock in self._clocks.values():
            if clock.last_arrival_us is None:
                continue
            idle = now_us - clock.last_arrival_us
            if idle >= self._idle_us:
                clock.watermark_us = max(clock.watermark_us, clock.max_event_us + idle)

    def pop_closed(self) -> list[ClosedWindow]:
        """Remove and return the windows the watermark has passed (none while replaying)."""
        if self.replaying:
            return []
        closed: list[ClosedWindow] = []
        for key in sorted(self._buffers):
            buffer = self._buffers[key]
            watermark = self._clocks[key.model].watermark_us
            if buffer.end_us + self._lateness_us(self._window_for(key.model)) <= watermark:
                del self._buffers[key]
                frame = (
                    pd.concat(buffer.frames, ignore_index=True)
                    if len(buffer.frames) > 1
                    else (buffer.frames[0].reset_index(drop=True))
                )
                closed.append(ClosedWindow(key, buffer.end_us, frame))
        return closed

    def checkpoint(self) -> Checkpoint | None:
        """The resume point (every open window's records are at or after ``safe_offset``).

        None before the first message: there is nothing to resume yet.
        """
        if self.next_offset is None:
            return None
        safe = min((b.min_offset for b in self._buffers.values()), default=self.next_offset)
        return Checkpoint(
            partition=self.partition,
            safe_offset=min(safe, self.next_offset),
            replay_until=max(self.next_offset, self.replay_until),
            watermarks_us={model: clock.watermark_us for model, clock in self._clocks.items()},
        )
