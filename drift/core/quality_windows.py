"""Realized quality per window of prediction event time, updated as late labels arrive.

A window's labels trickle in long after it closed for drift, so its quality is recomputed each
time labels for it are joined, until the lateness bound passes. Windows are tumbling windows of the
model's ``window.size`` (aligned to the epoch) by the *prediction's* event time, per version and per
segment value (capped as for drift: the reference's most frequent values, or without one the first
``max_cardinality`` values seen; the rest in ``__other__``). For
each, the joined rows (predicted value or class, label, probabilities) are kept — about 25 bytes a
labelled prediction — together with the number of predictions the window had, for label coverage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from agent.catalog.model import ModelSpec, QualitySpec
from drift.core.join import Joined
from drift.core.quality import QualityMetrics, quality_metrics
from drift.core.results import WindowKey
from drift.core.segments import OTHER, segment_label

__all__ = ["LABEL_DELAY_BUCKETS", "QualityResult", "QualityWindows"]

_MICROS = 1_000_000
# Label delay histogram bounds (seconds): a minute to four weeks, for fraud to churn.
LABEL_DELAY_BUCKETS = (
    60.0,
    300.0,
    900.0,
    3600.0,
    4 * 3600.0,
    86_400.0,
    3 * 86_400.0,
    7 * 86_400.0,
    28 * 86_400.0,
)


@dataclass(frozen=True, slots=True)
class QualityResult:
    """The realized quality of one window so far.

    Attributes:
        key: the window (model, version, start of prediction event time).
        end_us: its end.
        predictions: predictions the window had.
        labelled: those joined with a label so far.
        metrics: computed over the labelled ones.
    """

    key: WindowKey
    end_us: int
    predictions: int
    labelled: int
    metrics: QualityMetrics

    @property
    def coverage(self) -> float:
        """Share of the window's predictions that have a label (1 when more labels than counted)."""
        return min(1.0, self.labelled / self.predictions) if self.predictions else 0.0


class _Window:
    __slots__ = ("parts", "predictions", "scores")

    def __init__(self) -> None:
        self.predictions = 0
        self.parts: list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = []
        self.scores: list[dict[str, npt.NDArray[np.float64]]] = []


class QualityWindows:
    """Per version and window of one model: prediction counts and joined rows."""

    def __init__(self, model: ModelSpec) -> None:
        if model.quality is None:
            raise ValueError(f"{model.identity} has no quality section")
        self.model = model
        self.quality: QualitySpec = model.quality
        self.size_us = max(1, round(model.window.size_seconds * _MICROS))
        self._windows: dict[tuple[str, str, int], _Window] = {}  # (version, segment, start)
        self._changed: set[tuple[str, str, int]] = set()

    def __len__(self) -> int:
        return len(self._windows)

    def _starts(self, event_us: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return (event_us // self.size_us) * self.size_us

    def _groups(
        self,
        versions: npt.NDArray[np.object_],
        codes: dict[str, npt.NDArray[np.int32]],
        names: dict[str, list[str]],
        kept: Callable[[str], dict[str, tuple[str, ...]]],
    ) -> list[tuple[str, str, npt.NDArray[np.bool_]]]:
        """(version, segment label, rows) of the whole version and each capped segment value."""
        groups = []
        for version in np.unique(versions):
            in_version = versions == version
            groups.append((str(version), "", in_version))
            reference_values = kept(str(version))
            for segment in self.model.segments:
                column = segment.column
                if column not in codes:
                    continue
                values = np.asarray(names[column], dtype=object)[codes[column]]
                allowed = reference_values.get(column)
                if allowed is not None:  # the reference decides, as for drift
                    capped = np.where(np.isin(values, allowed), values, OTHER)
                else:  # first come, first kept: stable from window to window
                    capped = np.where(codes[column] < segment.max_cardinality, values, OTHER)
                for value in np.unique(capped[in_version]):
                    groups.append(
                        (str(version), segment_label(column, str(value)), in_version & (capped == value))
                    )
        return groups

    def count_predictions(
        self,
        versions: npt.NDArray[np.object_],
        event_us: npt.NDArray[np.int64],
        codes: dict[str, npt.NDArray[np.int32]] | None = None,
        names: dict[str, list[str]] | None = None,
        kept: Callable[[str], dict[str, tuple[str, ...]]] = lambda version: {},
    ) -> None:
        """Count a batch of predictions into their windows (the denominator of label coverage)."""
        starts = self._starts(event_us)
        for version, segment, rows in self._groups(
            np.asarray(versions, dtype=object), codes or {}, names or {}, kept
        ):
            window_starts, counts = np.unique(starts[rows], return_counts=True)
            for start, count in zip(window_starts, counts, strict=True):
                window = self._windows.setdefault((version, segment, int(start)), _Window())
                window.predictions += int(count)

    def add(
        self,
        joined: Joined,
        versions: list[str],
        names: dict[str, list[str]] | None = None,
        kept: Callable[[str], dict[str, tuple[str, ...]]] = lambda version: {},
        *,
        compute: bool = True,
    ) -> list[QualityResult]:
        """Add joined rows (versions and segment names: the join's); returns the windows they changed.

        With ``compute=False`` nothing is computed yet: the changed windows are remembered for
        :meth:`pop_changed`, so many small label batches cost one computation per window.
        """
        if not len(joined):
            return []
        starts = self._starts(joined.prediction_us)
        version_names = np.asarray(versions, dtype=object)[joined.version]
        touched = []
        for version, segment, in_group in self._groups(version_names, joined.segments, names or {}, kept):
            for start in np.unique(starts[in_group]):
                rows = in_group & (starts == start)
                key = (version, segment, int(start))
                window = self._windows.setdefault(key, _Window())
                window.parts.append((joined.prediction[rows], joined.label[rows]))
                window.scores.append({cls: values[rows] for cls, values in joined.scores.items()})
                touched.append(key)
        if not compute:
            self._changed.update(touched)
            return []
        return [self.result(*key) for key in touched]

    def pop_changed(self) -> list[QualityResult]:
        """The results of the windows changed since the last call (those still kept)."""
        changed, self._changed = self._changed, set()
        return [self.result(*key) for key in sorted(changed) if key in self._windows]

    def result(self, version: str, segment: str, start_us: int) -> QualityResult:
        window = self._windows[(version, segment, start_us)]
        prediction = np.concatenate([p for p, _ in window.parts]) if window.parts else np.empty(0)
        label = np.concatenate([y for _, y in window.parts]) if window.parts else np.empty(0)
        classes = window.scores[0].keys() if window.scores else ()
        scores = {cls: np.concatenate([s[cls] for s in window.scores]) for cls in classes}
        if len(window.parts) > 1:  # keep one part: the next update concatenates two arrays, not many
            window.parts, window.scores = [(prediction, label)], [scores]
        metrics = quality_metrics(self.quality, prediction, label, scores)
        return QualityResult(
            WindowKey(self.model.identity, version, start_us, segment),
            start_us + self.size_us,
            window.predictions,
            len(label),
            metrics,
        )

    def snapshot(self) -> tuple[list[tuple[str, str, int, int]], dict[str, npt.NDArray[np.generic]]]:
        """(version, segment, start, predictions) per window, and the joined rows with their window."""
        counts = [
            (version, segment, start, w.predictions) for (version, segment, start), w in self._windows.items()
        ]
        columns: dict[str, list[npt.NDArray[np.generic]]] = {
            "version": [],
            "segment": [],
            "start_us": [],
            "prediction": [],
            "label": [],
        }
        for (version, segment, start), window in self._windows.items():
            for (prediction, label), scores in zip(window.parts, window.scores, strict=True):
                columns["version"].append(np.full(len(label), version, dtype=object))
                columns["segment"].append(np.full(len(label), segment, dtype=object))
                columns["start_us"].append(np.full(len(label), start, dtype=np.int64))
                columns["prediction"].append(prediction)
                columns["label"].append(label)
                for cls, values in scores.items():
                    columns.setdefault(f"score:{cls}", []).append(values)
        rows = {name: np.concatenate(parts) for name, parts in columns.items() if parts}
        return counts, rows

    def restore(
        self, counts: list[tuple[str, str, int, int]], rows: dict[str, npt.NDArray[np.generic]]
    ) -> None:
        for version, segment, start, predictions in counts:
            self._windows.setdefault((str(version), str(segment), int(start)), _Window()).predictions = int(
                predictions
            )
        if not rows or not len(rows.get("label", ())):
            return
        versions, starts = rows["version"].astype(str), rows["start_us"].astype(np.int64)
        segments = rows["segment"].astype(str)
        keys = {(str(v), str(g), int(t)) for v, g, t in zip(versions, segments, starts, strict=True)}
        for version, segment, start in keys:
            mask = (versions == version) & (segments == segment) & (starts == start)
            window = self._windows.setdefault((version, segment, start), _Window())
            window.parts.append(
                (rows["prediction"][mask].astype(np.float64), rows["label"][mask].astype(np.float64))
            )
            window.scores.append(
                {
                    n.removeprefix("score:"): v[mask].astype(np.float64)
                    for n, v in rows.items()
                    if n.startswith("score:")
                }
            )

    def expire(self, watermark_us: int) -> None:
        """Forget windows no label can reach any more (they ended a lateness bound ago)."""
        bound = round(self.quality.label_lateness_seconds * _MICROS)
        for key in [k for k in self._windows if k[2] + self.size_us + bound <= watermark_us]:
            del self._windows[key]
