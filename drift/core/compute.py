"""Compute a closed window's results: record counts, errors, latency quantiles and column drift."""

from __future__ import annotations

import math
from concurrent.futures import Executor
from dataclasses import replace

import numpy as np
import pandas as pd

from agent.catalog.model import ColumnSpec, ModelSpec
from agent.wire.format import FEATURE_PREFIX, OUTPUT_PREFIX
from drift.core.cbpe import PerformanceEstimate, estimate_performance
from drift.core.domain_classifier import domain_classifier_drift
from drift.core.multiple_testing import corrected_drift
from drift.core.multivariate import reconstruction_error
from drift.core.reference import ReferenceProfile, column_kind, profile_column
from drift.core.results import (
    ColumnDrift,
    DriftStatus,
    LatencySummary,
    MultivariateDrift,
    WindowKey,
    WindowResult,
)
from drift.core.segments import SegmentSlice, split_segments
from drift.core.statistics import (
    AUTO,
    ColumnKind,
    ColumnProfile,
    Statistic,
    default_statistic,
    get_statistic,
)

__all__ = [
    "LATENCY_QUANTILES",
    "column_drift",
    "compute_segments",
    "compute_window",
    "payload_mask",
    "payload_rows",
    "summarize_latency",
]

LATENCY_QUANTILES = (0.5, 0.9, 0.95, 0.99)
_NAN = float("nan")


def payload_mask(frame: pd.DataFrame) -> np.ndarray | None:
    """Rows with features and outputs; None when every row has them.

    A call the sidecar could only keep as metadata (``unparsed`` set) counts in records, errors and
    latency, but its missing features must not read as drift, a segment or a prediction to label.
    """
    if "unparsed" not in frame.columns:
        return None
    mask = frame["unparsed"].isna().to_numpy()
    return None if mask.all() else mask


def payload_rows(frame: pd.DataFrame) -> pd.DataFrame:
    mask = payload_mask(frame)
    return frame if mask is None else frame.loc[mask].reset_index(drop=True)


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


def _choose(name: str, reference: ColumnProfile, current: ColumnProfile) -> Statistic:
    return default_statistic(reference, current) if name == AUTO else get_statistic(name)


def column_drift(
    column: ColumnSpec,
    role: str,
    values: pd.Series | None,
    model: ModelSpec,
    reference: ReferenceProfile | None,
) -> ColumnDrift:
    """Drift of one column of a window (``values`` None: absent from the window). Never raises."""
    name = model.drift_statistic_for(column)

    def result(status: DriftStatus, count: int = 0) -> ColumnDrift:
        threshold = model.drift_threshold_for(column)
        return ColumnDrift(
            column.name, role, name, status, _NAN, _NAN if threshold is None else threshold, False, count
        )

    kind = column_kind(column)
    if kind is None:
        return result(DriftStatus.UNSUPPORTED_TYPE)
    if values is None:
        return result(DriftStatus.MISSING_COLUMN)
    ref = reference.columns.get(column.name) if reference else None
    if ref is None or ref.kind is not kind:
        return result(DriftStatus.NO_REFERENCE)
    current = profile_column(values, kind)
    if current.size < model.drift.min_window_records or ref.size == 0:
        return result(DriftStatus.INSUFFICIENT_DATA, current.size)
    statistic = _choose(name, ref, current)
    if not statistic.applies_to(kind):
        return result(DriftStatus.UNSUPPORTED_TYPE, current.size)
    outcome = statistic.run(ref, current)
    threshold = model.drift_threshold_for(column)
    threshold = statistic.default_threshold if threshold is None else threshold
    if math.isnan(outcome.score):
        return ColumnDrift(
            column.name,
            role,
            statistic.name,
            DriftStatus.INSUFFICIENT_DATA,
            _NAN,
            threshold,
            False,
            current.size,
        )
    return ColumnDrift(
        column.name,
        role,
        statistic.name,
        DriftStatus.OK,
        outcome.score,
        threshold,
        statistic.rule.drifted(outcome.score, threshold),
        current.size,
        outcome.p_value,
    )


def _correct(columns: list[ColumnDrift], method: str) -> list[ColumnDrift]:
    """Apply the model's multiple-testing correction to the p-value tests among ``columns``."""
    tested = [i for i, c in enumerate(columns) if c.status is DriftStatus.OK and c.p_value is not None]
    if method == "none" or not tested:
        return columns
    # One family-level alpha: the thresholds of the tested columns (they share the model's setting).
    alpha = min(columns[i].threshold for i in tested)
    decisions, threshold = corrected_drift([columns[i].p_value or 0.0 for i in tested], alpha, method)
    corrected = list(columns)
    for i, drifted in zip(tested, decisions, strict=True):
        c = columns[i]
        corrected[i] = ColumnDrift(
            c.column, c.role, c.statistic, c.status, c.score, threshold, drifted, c.current_count, c.p_value
        )
    return corrected


def _multivariate(
    model: ModelSpec, frame: pd.DataFrame, reference: ReferenceProfile
) -> tuple[MultivariateDrift, ...]:
    """The window's features scored together: PCA reconstruction error and the domain classifier."""
    pca = reference.multivariate
    sample = reference.sample if model.drift.domain_classifier else None
    if len(frame) < model.drift.min_window_records or (pca is None and sample is None):
        return ()
    found: list[MultivariateDrift] = []
    if pca is not None:
        error = reconstruction_error(pca, frame, FEATURE_PREFIX)  # in chunks: no copy of the window
        if error is not None:
            lower, upper = pca.band(len(frame))
            found.append(
                MultivariateDrift("pca_reconstruction", error, lower, upper, not lower <= error <= upper)
            )
    if sample is not None:
        # The classifier uses at most as many rows as the reference sample: pick them before copying.
        rows = frame if len(frame) <= len(sample) else frame.sample(len(sample), random_state=0)
        features = {
            c.name: (rows[FEATURE_PREFIX + c.name], column_kind(c))
            for c in model.features
            if c.name in sample.columns and FEATURE_PREFIX + c.name in rows.columns
        }
        # Columns missing from the window are reported per column; here they would only say "different".
        score = domain_classifier_drift(
            sample,
            pd.DataFrame({name: values.to_numpy() for name, (values, _) in features.items()}),
            tuple(name for name, (_, kind) in features.items() if kind is ColumnKind.NUMERIC),
            tuple(name for name, (_, kind) in features.items() if kind is ColumnKind.CATEGORICAL),
        )
        if score is not None:
            found.append(MultivariateDrift("domain_classifier", score.auc, 0.0, score.upper, score.drifted))
    return tuple(found)


def compute_segments(
    model: ModelSpec,
    key: WindowKey,
    end_us: int,
    frame: pd.DataFrame,
    reference: ReferenceProfile | None,
    executor: Executor | None = None,
) -> list[tuple[SegmentSlice, WindowResult]]:
    """Results of each segment of a closed window, each against its own slice of the reference."""
    kept = reference.segment_values if reference is not None else {}
    results = []
    for part in split_segments(model, payload_rows(frame), kept):
        segment_reference = reference.segments.get(part.label) if reference is not None else None
        result = compute_window(
            model, replace(key, segment=part.label), end_us, part.frame, segment_reference, executor
        )
        results.append((part, result))
    return results


def compute_window(
    model: ModelSpec,
    key: WindowKey,
    end_us: int,
    frame: pd.DataFrame,
    reference: ReferenceProfile | None,
    executor: Executor | None = None,
) -> WindowResult:
    """Results of one closed window of ``model``; ``frame`` holds the window's decoded rows.

    With an ``executor`` (threads), columns are scored in parallel: sorting, merging and counting
    run in NumPy without the GIL, so a window uses every core.
    """
    error_records = 0
    if "status_code" in frame.columns:
        error_records = int((frame["status_code"].to_numpy(dtype=np.float64, na_value=np.nan) >= 400).sum())
    latency = summarize_latency(frame["latency_seconds"]) if "latency_seconds" in frame.columns else None
    records = len(frame)
    frame = payload_rows(frame)  # drift, multivariate scores and estimates see calls with rows only

    def values(prefix: str, column: ColumnSpec) -> pd.Series | None:
        name = prefix + column.name
        return frame[name] if name in frame.columns else None

    jobs = [(c, "input", values(FEATURE_PREFIX, c)) for c in model.features]
    jobs += [(c, "output", values(OUTPUT_PREFIX, c)) for c in model.outputs]
    if executor is None:
        columns = [column_drift(c, role, v, model, reference) for c, role, v in jobs]
    else:
        futures = [executor.submit(column_drift, c, role, v, model, reference) for c, role, v in jobs]
        columns = [f.result() for f in futures]
    columns = _correct(columns, model.drift.multiple_testing)
    computed = [c for c in columns if c.status is DriftStatus.OK]
    share = sum(c.drifted for c in computed) / len(computed) if computed else None
    multivariate = _multivariate(model, frame, reference) if reference is not None else ()
    estimates: tuple[PerformanceEstimate, ...] = ()
    quality = model.quality
    if reference is not None and reference.calibration is not None and quality is not None and len(frame):
        scores = {
            cls: frame[OUTPUT_PREFIX + name].to_numpy(np.float64, na_value=np.nan)
            for cls, name in quality.scores.items()
            if OUTPUT_PREFIX + name in frame.columns
        }
        if len(scores) == len(quality.scores):
            estimates = estimate_performance(quality, reference.calibration, scores)
    return WindowResult(
        key=key,
        end_us=end_us,
        records=records,
        error_records=error_records,
        latency=latency,
        columns=tuple(columns),
        drift_share=share,
        dataset_drifted=share is not None and share >= model.drift.dataset_drift_share,
        multivariate=multivariate,
        estimates=estimates,
    )
