"""What a closed window yields: frozen dataclasses, the only thing adapters export."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from drift.core.cbpe import PerformanceEstimate

__all__ = ["ColumnDrift", "DriftStatus", "LatencySummary", "MultivariateDrift", "WindowKey", "WindowResult"]


@dataclass(frozen=True, slots=True, order=True)
class WindowKey:
    """Identifies a window: model identity, model version, event-time start (µs since epoch), segment.

    ``segment`` is empty for the whole model's window, else ``column=value`` (or ``column=__other__``
    for the values beyond the segment's cardinality cap).
    """

    model: str
    version: str
    start_us: int
    segment: str = ""


class DriftStatus(StrEnum):
    """Whether a column's drift score could be computed, and if not, why."""

    OK = "ok"
    NO_REFERENCE = "no_reference"
    MISSING_COLUMN = "missing_column"
    INSUFFICIENT_DATA = "insufficient_data"
    UNSUPPORTED_TYPE = "unsupported_type"


@dataclass(frozen=True, slots=True)
class ColumnDrift:
    """Drift of one feature or output in one window. ``score`` is NaN unless ``status`` is OK."""

    column: str
    role: str  # "input" or "output"
    statistic: str
    status: DriftStatus
    score: float
    threshold: float
    drifted: bool
    current_count: int
    p_value: float | None = None


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Latency of the window's predictions that reported one (seconds)."""

    count: int
    total: float
    p50: float
    p90: float
    p95: float
    p99: float
    max: float


@dataclass(frozen=True, slots=True)
class MultivariateDrift:
    """Drift of the features taken together, by one method: ``pca_reconstruction`` (score: mean
    reconstruction error) or ``domain_classifier`` (score: cross-validated ROC AUC)."""

    method: str
    score: float
    lower: float
    upper: float
    drifted: bool


@dataclass(frozen=True, slots=True)
class WindowResult:
    """Everything computed when one window closed."""

    key: WindowKey
    end_us: int
    records: int
    error_records: int
    latency: LatencySummary | None
    columns: tuple[ColumnDrift, ...]
    drift_share: float | None  # of the columns whose score was computed; None when none was
    dataset_drifted: bool
    multivariate: tuple[MultivariateDrift, ...] = ()
    # Rows no earlier window held (sliding windows overlap); None: all of ``records``.
    fresh_records: int | None = None
    # Classification quality estimated from the scores before labels arrive (CBPE).
    estimates: tuple[PerformanceEstimate, ...] = ()

    @property
    def start_seconds(self) -> float:
        return self.key.start_us / 1e6

    @property
    def end_seconds(self) -> float:
        return self.end_us / 1e6

    def multivariate_by(self, method: str) -> MultivariateDrift | None:
        return next((m for m in self.multivariate if m.method == method), None)

    @property
    def error_ratio(self) -> float:
        return self.error_records / self.records if self.records else 0.0
