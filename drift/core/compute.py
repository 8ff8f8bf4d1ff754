"""Compute a closed window's results: record counts, errors, latency quantiles and column drift."""

from __future__ import annotations

import numpy as np
import pandas as pd

from agent.catalog.model import ColumnSpec, ModelSpec
from agent.wire.format import FEATURE_PREFIX, OUTPUT_PREFIX
from drift.core.reference import ReferenceProfile
from drift.core.results import ColumnDrift, DriftStatus, LatencySummary, WindowKey, WindowResult
from drift.core.statistics import NumericStatistic, get_statistic

__all__ = ["LATENCY_QUANTILES", "compute_window", "summarize_latency"]

LATENCY_QUANTILES = (0.5, 0.9, 0.95, 0.99)
_NAN = float("nan")


def summarize_latency(latencies: pd.Series | np.ndarray) -> LatencySummary | None:
    """Quantiles as ``numpy.quantile`` (linear interpolation) of the finite latencies; None if none."""
    values = np.asarray(latencies, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    p50, p90, p95, p99 = np.quantile(values, LATENCY_QUANTILES)
    return LatencySummary(
        count=int(values.size),
        total=float(values.sum()),
        p50=float(p50),
        p90=float(p90),
        p95=float(p95),
        p99=float(p99),
        max=float(values.max()),
    )


def _column_drift(
    column: ColumnSpec,
    role: str,
    frame: pd.DataFrame,
    model: ModelSpec,
    reference: ReferenceProfile | None,
    statistic: NumericStatistic,
) -> ColumnDrift:
    threshold = model.drift_threshold_for(column)

    def result(
        status: DriftStatus, count: int = 0, score: float = _NAN, p: float | None = None
    ) -> ColumnDrift:
        drifted = status is DriftStatus.OK and score >= threshold
        return ColumnDrift(column.name, role, statistic.name, status, score, threshold, drifted, count, p)

    wire_name = (FEATURE_PREFIX if role == "input" else OUTPUT_PREFIX) + column.name
    if not column.type.is_numeric:
        return result(DriftStatus.UNSUPPORTED_TYPE)
    if wire_name not in frame.columns:
        return result(DriftStatus.MISSING_COLUMN)
    profile = reference.numeric.get(column.name) if reference else None
    if profile is None:
        return result(DriftStatus.NO_REFERENCE)
    values = pd.to_numeric(frame[wire_name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.sort(values[np.isfinite(values)])
    if values.size < model.drift.min_window_records or profile.sorted_values.size == 0:
        return result(DriftStatus.INSUFFICIENT_DATA, int(values.size))
    outcome = statistic.compute(profile, values)
    return result(DriftStatus.OK, int(values.size), outcome.score, outcome.p_value)


def compute_window(
    model: ModelSpec,
    key: WindowKey,
    end_us: int,
    frame: pd.DataFrame,
    reference: ReferenceProfile | None,
) -> WindowResult:
    """Results of one closed window of ``model``; ``frame`` holds the window's decoded rows."""
    statistic = get_statistic(model.drift.statistic)
    error_records = 0
    if "status_code" in frame.columns:
        error_records = int((frame["status_code"].to_numpy(dtype=np.float64, na_value=np.nan) >= 400).sum())
    latency = summarize_latency(frame["latency_seconds"]) if "latency_seconds" in frame.columns else None
    columns = tuple(
        [_column_drift(c, "input", frame, model, reference, statistic) for c in model.features]
        + [_column_drift(c, "output", frame, model, reference, statistic) for c in model.outputs]
    )
    computed = [c for c in columns if c.status is DriftStatus.OK]
    share = sum(c.drifted for c in computed) / len(computed) if computed else None
    return WindowResult(
        key=key,
        end_us=end_us,
        records=len(frame),
        error_records=error_records,
        latency=latency,
        columns=columns,
        drift_share=share,
        dataset_drifted=share is not None and share >= model.drift.dataset_drift_share,
    )
