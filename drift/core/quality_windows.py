"""Realized quality per window of prediction event time, updated as late labels arrive.

A window's labels trickle in long after it closed for drift, so its quality is recomputed each
time labels for it are joined, until the lateness bound passes. Windows are tumbling windows of the
model's ``window.size`` (aligned to the epoch) by the *prediction's* event time, per version. For
each, the joined rows (predicted value or class, label, probabilities) are kept — about 25 bytes a
labelled prediction — together with the number of predictions the window had, for label coverage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from agent.catalog.model import ModelSpec, QualitySpec
from drift.core.join import Joined
from drift.core.quality import QualityMetrics, quality_metrics
from drift.core.results import WindowKey

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
        self._windows: dict[tuple[str, int], _Window] = {}

    def __len__(self) -> int:
        return len(self._windows)

    def _starts(self, event_us: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return (event_us // self.size_us) * self.size_us

    def count_predictions(self, versions: npt.NDArray[np.object_], event_us: npt.NDArray[np.int64]) -> None:
        """Count a batch of predictions into their windows (the denominator of label coverage)."""
        starts = self._starts(event_us)
        for version in np.unique(versions):
            window_starts, counts = np.unique(starts[versions == version], return_counts=True)
            for start, count in zip(window_starts, counts, strict=True):
                window = self._windows.setdefault((str(version), int(start)), _Window())
                window.predictions += int(count)

    def add(self, joined: Joined, versions: list[str]) -> list[QualityResult]:
        """Add joined rows (versions: the join's version names); returns the windows they changed."""
        if not len(joined):
            return []
        starts = self._starts(joined.prediction_us)
        touched = []
        for code in np.unique(joined.version):
            for start in np.unique(starts[joined.version == code]):
                rows = (joined.version == code) & (starts == start)
                key = (versions[int(code)], int(start))
                window = self._windows.setdefault(key, _Window())
                window.parts.append((joined.prediction[rows], joined.label[rows]))
                window.scores.append({cls: values[rows] for cls, values in joined.scores.items()})
                touched.append(key)
        return [self.result(version, start) for version, start in touched]

    def result(self, version: str, start_us: int) -> QualityResult:
        window = self._windows[(version, start_us)]
        prediction = np.concatenate([p for p, _ in window.parts]) if window.parts else np.empty(0)
        label = np.concatenate([y for _, y in window.parts]) if window.parts else np.empty(0)
        classes = window.scores[0].keys() if window.scores else ()
        scores = {cls: np.concatenate([s[cls] for s in window.scores]) for cls in classes}
        metrics = quality_metrics(self.quality, prediction, label, scores)
        return QualityResult(
            WindowKey(self.model.identity, version, start_us),
            start_us + self.size_us,
            window.predictions,
            len(label),
            metrics,
        )

    def snapshot(self) -> tuple[list[tuple[str, int, int]], dict[str, npt.NDArray[np.generic]]]:
        """(version, start, predictions) per window, and the joined rows with their window, to persist."""
        counts = [(version, start, w.predictions) for (version, start), w in self._windows.items()]
        columns: dict[str, list[npt.NDArray[np.generic]]] = {
            "version": [],
            "start_us": [],
            "prediction": [],
            "label": [],
        }
        for (version, start), window in self._windows.items():
            for (prediction, label), scores in zip(window.parts, window.scores, strict=True):
                columns["version"].append(np.full(len(label), version, dtype=object))
                columns["start_us"].append(np.full(len(label), start, dtype=np.int64))
                columns["prediction"].append(prediction)
                columns["label"].append(label)
                for cls, values in scores.items():
                    columns.setdefault(f"score:{cls}", []).append(values)
        rows = {name: np.concatenate(parts) for name, parts in columns.items() if parts}
        return counts, rows

    def restore(self, counts: list[tuple[str, int, int]], rows: dict[str, npt.NDArray[np.generic]]) -> None:
        for version, start, predictions in counts:
            self._windows.setdefault((str(version), int(start)), _Window()).predictions = int(predictions)
        if not rows or not len(rows.get("label", ())):
            return
        versions, starts = rows["version"].astype(str), rows["start_us"].astype(np.int64)
        for version, start in {(str(v), int(t)) for v, t in zip(versions, starts, strict=True)}:
            mask = (versions == version) & (starts == start)
            window = self._windows.setdefault((version, start), _Window())
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
        for key in [k for k in self._windows if k[1] + self.size_us + bound <= watermark_us]:
            del self._windows[key]
