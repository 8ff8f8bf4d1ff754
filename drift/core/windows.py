"""Windows of one Kafka partition: event-time tumbling and sliding windows, count windows, and a
replayable checkpoint.

State is kept per partition so that aggregators in one consumer group split the models between
them. Each model on the partition has its own watermark: the largest event time seen for it
(advanced by the wall clock once the model has been idle for a while), so one model's backfill
never makes another's records late.

Event-time windows are built from *panes* ``slide`` wide (a tumbling window is one pane): each
record is stored once, in its pane, and a window ``[end - size, end)`` is the panes it covers. A
window closes when its model's watermark reaches ``end + allowed_lateness``. As in Flink, lateness
is judged per window: a record joins every window of its pane that is still open, and is counted
late only when all of them have closed.

Count windows hold every ``records`` predictions of a model version in arrival (offset) order, and
close as soon as they are full; a batch that fills one window starts the next with its remaining rows.

Hand-over without loss or double counting: a :class:`Checkpoint` records the watermarks, the first
offset still needed by an open window (``safe_offset``), the next offset not yet consumed
(``replay_until``) and, for count windows, where each open window began. The next owner seeks to
``safe_offset`` and replays: a record below ``replay_until`` is re-added when it still belongs to an
open window, and skipped silently otherwise (it was counted or rejected before). While replaying,
no window closes and the clock does not move the watermark, so the rebuilt state equals the one
handed over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from agent.catalog.model import WindowKind, WindowSpec
from drift.core.decode import DecodedBatch
from drift.core.results import WindowKey

__all__ = ["AddOutcome", "Checkpoint", "ClosedWindow", "CountPosition", "PartitionWindows"]

_MICROS = 1_000_000


@dataclass(frozen=True, slots=True)
class CountPosition:
    """Where an open count window begins: at message ``offset``, after its first ``skip_rows`` rows
    of the version (which ended the previous window)."""

    offset: int
    skip_rows: int


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where a partition's next owner resumes; see the module docstring."""

    partition: int
    safe_offset: int
    replay_until: int
    watermarks_us: dict[str, int]  # by model identity
    # Open count windows by (model, version); a count-windowed version absent here has none open.
    count_positions: dict[tuple[str, str], CountPosition] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AddOutcome:
    """What happened to a batch's rows: added to windows, rejected as late, or skipped in replay."""

    accepted: int
    late: int
    replay_skipped: int


@dataclass(frozen=True, slots=True)
class ClosedWindow:
    """A complete window. ``fresh`` marks its rows that were in no window published before (sliding
    windows share rows; counting only fresh ones counts each prediction once)."""

    key: WindowKey
    end_us: int
    frame: pd.DataFrame
    fresh: npt.NDArray[np.bool_]

    @property
    def fresh_records(self) -> int:
        return int(np.count_nonzero(self.fresh))


class _Pane:
    """The rows of one model version whose event times fall in ``[start, start + slide)``."""

    __slots__ = ("frames", "min_offset", "published", "records")

    def __init__(self, offset: int) -> None:
        self.frames: list[pd.DataFrame] = []
        self.min_offset = offset
        self.records = 0
        self.published = 0  # rows already in a published window


class _CountBuffer:
    """The open count window of one model version."""

    __slots__ = ("event_us", "frames", "records", "starts")

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []
        self.event_us: list[npt.NDArray[np.int64]] = []
        # Per frame: its message's offset and how many of that message's rows of the version precede it.
        self.starts: list[CountPosition] = []
        self.records = 0

    def append(self, frame: pd.DataFrame, event_us: npt.NDArray[np.int64], start: CountPosition) -> None:
        self.frames.append(frame)
        self.event_us.append(event_us)
        self.starts.append(start)
        self.records += len(frame)

    @property
    def position(self) -> CountPosition:
        return self.starts[0]

    def tail(self, begin: int) -> _CountBuffer:
        """A buffer of this one's rows from ``begin`` on, each still tied to its message."""
        rest = _CountBuffer()
        for frame, events, start in zip(self.frames, self.event_us, self.starts, strict=True):
            if begin < len(frame):
                first = max(begin, 0)
                rest.append(
                    frame.iloc[first:], events[first:], CountPosition(start.offset, start.skip_rows + first)
                )
            begin -= len(frame)
        return rest


class _ModelClock:
    __slots__ = ("closed_until_us", "last_arrival_us", "max_event_us", "watermark_us")

    def __init__(self, watermark_us: int, closed_until_us: int | None = None) -> None:
        self.watermark_us = watermark_us
        self.max_event_us = watermark_us
        self.last_arrival_us: int | None = None
        # Windows ending at or before this were published (None: nothing yet).
        self.closed_until_us = closed_until_us


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    return pd.concat(frames, ignore_index=True)


def _us(seconds: float) -> int:
    return max(1, round(seconds * _MICROS))


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
        self._panes: dict[WindowKey, _Pane] = {}  # key start = pane start
        self._counts: dict[tuple[str, str], _CountBuffer] = {}
        self._clocks: dict[str, _ModelClock] = {}
        if checkpoint is not None:
            for model, mark in checkpoint.watermarks_us.items():
                lateness = self._lateness_us(window_for(model))
                self._clocks[model] = _ModelClock(mark, mark - lateness)
        self._resume_counts = dict(checkpoint.count_positions) if checkpoint else {}
        self._idle_models: set[str] = set()
        self._last_count_start: dict[tuple[str, str], int] = {}
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
        """Open event-time panes plus open count windows."""
        return len(self._panes) + len(self._counts)

    @staticmethod
    def _lateness_us(spec: WindowSpec) -> int:
        return int(spec.allowed_lateness_seconds * _MICROS)

    def skip(self, offset: int) -> bool:
        """Account for a message that was rejected whole. True when it is a replay (already counted)."""
        replay = offset < self.replay_until
        self._consumed(offset)
        return replay

    def add(self, offset: int, batch: DecodedBatch, now_us: int) -> AddOutcome:
        """Put a decoded batch's rows into their windows. Rows whose windows all closed are late."""
        replay = offset < self.replay_until
        self._consumed(offset)
        spec = self._window_for(batch.model)
        versions = batch.frame["model_version"].astype(str).to_numpy()
        if spec.kind is WindowKind.COUNT:
            outcome = self._add_counted(offset, batch, versions, spec, replay)
        else:
            outcome = self._add_timed(offset, batch, versions, spec, replay)
        event_us = batch.event_us
        if event_us.size:
            batch_max = int(event_us.max())
            clock = self._clocks.get(batch.model)
            if clock is None:
                clock = self._clocks[batch.model] = _ModelClock(batch_max)
            clock.max_event_us = max(clock.max_event_us, batch_max)
            clock.watermark_us = max(clock.watermark_us, batch_max)
            if not replay:
                clock.last_arrival_us = now_us
        return outcome

    def _add_timed(
        self,
        offset: int,
        batch: DecodedBatch,
        versions: npt.NDArray[np.object_],
        spec: WindowSpec,
        replay: bool,
    ) -> AddOutcome:
        size_us, step_us = _us(spec.size_seconds), _us(spec.step_seconds)
        lateness_us = self._lateness_us(spec)
        event_us = batch.event_us
        starts = (event_us // step_us) * step_us
        clock = self._clocks.get(batch.model)
        if clock is None:
            open_mask = np.ones(event_us.shape, dtype=bool)
        else:  # the pane's last window (ending at start + size) is still open
            open_mask = starts + size_us + lateness_us > clock.watermark_us
        rejected = int(event_us.size - np.count_nonzero(open_mask))
        accepted = 0
        for start in np.unique(starts[open_mask]):
            in_start = open_mask & (starts == start)
            for version in np.unique(versions[in_start]):
                mask = in_start & (versions == version)
                key = WindowKey(batch.model, str(version), int(start))
                pane = self._panes.get(key)
                if pane is None:
                    pane = self._panes[key] = _Pane(offset)
                pane.frames.append(batch.frame.loc[mask])
                pane.min_offset = min(pane.min_offset, offset)
                count = int(np.count_nonzero(mask))
                pane.records += count
                accepted += count
                if replay and clock is not None and start + step_us + lateness_us <= clock.watermark_us:
                    # The pane's first window was published before the hand-over, so these rows were
                    # counted then (unless they arrived after it closed: a rare undercount).
                    pane.published += count
        return AddOutcome(accepted, 0 if replay else rejected, rejected if replay else 0)

    def _add_counted(
        self,
        offset: int,
        batch: DecodedBatch,
        versions: npt.NDArray[np.object_],
        spec: WindowSpec,
        replay: bool,
    ) -> AddOutcome:
        accepted = skipped = 0
        for version in np.unique(versions):
            key = (batch.model, str(version))
            rows = np.flatnonzero(versions == version)
            if replay:
                # Only rows of the window that was open at the checkpoint are rebuilt.
                position = self._resume_counts.get(key)
                if position is None or offset < position.offset:
                    skipped += rows.size
                    continue
                if offset == position.offset:
                    skipped += min(position.skip_rows, rows.size)
                    rows = rows[position.skip_rows :]
            if not rows.size:
                continue
            skip = int(np.count_nonzero(versions[: rows[0]] == version))
            buffer = self._counts.setdefault(key, _CountBuffer())
            buffer.append(batch.frame.iloc[rows], batch.event_us[rows], CountPosition(offset, skip))
            accepted += rows.size
        return AddOutcome(accepted, 0, skipped)

    def advance_idle(self, now_us: int) -> None:
        """Move each idle model's watermark with the wall clock once it has been idle long enough;
        an idle model's partial count windows close at the next :meth:`pop_closed`."""
        if self.replaying:
            return
        self._idle_models = set()
        for model, clock in self._clocks.items():
            if clock.last_arrival_us is None:
                continue
            idle = now_us - clock.last_arrival_us
            if idle >= self._idle_us:
                clock.watermark_us = max(clock.watermark_us, clock.max_event_us + idle)
                self._idle_models.add(model)

    def pop_closed(self) -> list[ClosedWindow]:
        """Remove and return the windows that are complete (none while replaying)."""
        if self.replaying:
            return []
        return self._pop_timed() + self._pop_counted()

    def _pop_timed(self) -> list[ClosedWindow]:
        by_version: dict[tuple[str, str], list[int]] = {}
        for key in sorted(self._panes):
            by_version.setdefault((key.model, key.version), []).append(key.start_us)
        closed: list[ClosedWindow] = []
        for (model, version), starts in by_version.items():
            spec = self._window_for(model)
            size_us, step_us, lateness_us = (
                _us(spec.size_seconds),
                _us(spec.step_seconds),
                self._lateness_us(spec),
            )
            clock = self._clocks[model]
            until = clock.watermark_us - lateness_us
            after = clock.closed_until_us
            ends = sorted(
                {
                    end
                    for start in starts
                    for end in range(start + step_us, start + size_us + 1, step_us)
                    if end <= until and (after is None or end > after)
                }
            )
            for end in ends:
                panes = [
                    self._panes[WindowKey(model, version, s)] for s in starts if end - size_us <= s < end
                ]
                frame = _concat([f for pane in panes for f in pane.frames])
                # Rows reach a pane in order, so its unpublished rows are its last ones.
                fresh = np.concatenate([np.arange(pane.records) >= pane.published for pane in panes])
                for pane in panes:
                    pane.published = pane.records
                closed.append(ClosedWindow(WindowKey(model, version, end - size_us), end, frame, fresh))
            for start in starts:  # panes whose every window has closed
                if start + size_us <= until:
                    del self._panes[WindowKey(model, version, start)]
        for clock_model, clock in self._clocks.items():
            spec = self._window_for(clock_model)
            if spec.kind is not WindowKind.COUNT:
                clock.closed_until_us = clock.watermark_us - self._lateness_us(spec)
        return closed

    def _pop_counted(self) -> list[ClosedWindow]:
        closed: list[ClosedWindow] = []
        for (model, version), buffer in list(self._counts.items()):
            size = self._window_for(model).size_records or 1
            if buffer.records < size and model in self._idle_models:
                # A version that stopped sending: its last, partial window closes rather than
                # holding the committed offset back for ever.
                size = buffer.records
            if buffer.records < size:
                continue
            del self._counts[(model, version)]
            frame = _concat(buffer.frames)
            event_us = np.concatenate(buffer.event_us)
            for begin in range(0, len(frame) - size + 1, size):
                part = frame.iloc[begin : begin + size].reset_index(drop=True)
                events = event_us[begin : begin + size]
                # Keyed by the first row's time, made unique: many rows of a batch share a time.
                start = max(int(events[0]), self._last_count_start.get((model, version), -1) + 1)
                self._last_count_start[(model, version)] = start
                key = WindowKey(model, version, start)
                closed.append(ClosedWindow(key, int(events.max()) + 1, part, np.ones(size, dtype=bool)))
            rest = len(frame) % size
            if rest:  # the remaining rows open the next window
                self._counts[(model, version)] = buffer.tail(len(frame) - rest)
        return closed

    def checkpoint(self) -> Checkpoint | None:
        """The resume point (every open window's records are at or after ``safe_offset``).

        None before the first message: there is nothing to resume yet.
        """
        if self.next_offset is None:
            return None
        positions = {key: b.position for key, b in self._counts.items()}
        if self.replaying:  # count windows the replay has not reached yet are still open
            positions = {**self._resume_counts, **positions}
        offsets = [p.min_offset for p in self._panes.values()]
        offsets += [position.offset for position in positions.values()]
        safe = min(offsets, default=self.next_offset)
        return Checkpoint(
            partition=self.partition,
            safe_offset=min(safe, self.next_offset),
            replay_until=max(self.next_offset, self.replay_until),
            watermarks_us={model: clock.watermark_us for model, clock in self._clocks.items()},
            count_positions=positions,
        )
