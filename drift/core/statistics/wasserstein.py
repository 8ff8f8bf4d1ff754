"""Normed Wasserstein distance (``wasserstein``), as Evidently computes it.

SciPy's first Wasserstein distance divided by ``max(std(reference), 0.001)``, so the score is in
units of the reference's spread; computed on both samples already sorted.
"""

from __future__ import annotations

import numpy as np

from drift.core.statistics.base import (
    NUMERIC,
    ColumnProfile,
    DriftRule,
    FloatArray,
    Statistic,
    StatisticResult,
)

__all__ = ["WASSERSTEIN", "cdf_distance", "cdf_distance_sorted", "wasserstein_distance_sorted"]

_MIN_NORM = 0.001  # Evidently's floor for a (near) constant reference


def cdf_distance_sorted(u_sorted: FloatArray, v_sorted: FloatArray, power: int) -> float:
    """SciPy's ``_cdf_distance`` (power 1: Wasserstein, 2: the energy distance's core) on sorted samples.

    SciPy finds each empirical CDF with a binary search per merged value; with both samples sorted,
    a stable merge (linear on two sorted runs) and running counts give the same CDFs wherever the
    gap to the next value is positive, and the other terms are zero either way, so the sum is the
    same, term for term.
    """
    n_u, n_v = u_sorted.size, v_sorted.size
    merged = np.concatenate((u_sorted, v_sorted))
    order = np.argsort(merged, kind="stable")
    deltas = np.diff(merged[order])
    del merged
    from_u = order[:-1] < n_u
    del order
    # In place, to keep a 1M-row window's temporaries small; every value equals SciPy's term for term.
    u_cdf = np.cumsum(from_u, dtype=np.float64)  # values of u at or below each merged value
    del from_u
    v_cdf = np.arange(1.0, n_u + n_v)
    v_cdf -= u_cdf
    v_cdf /= n_v
    u_cdf /= n_u
    u_cdf -= v_cdf
    del v_cdf
    if power == 1:
        np.abs(u_cdf, out=u_cdf)
        u_cdf *= deltas
        return float(np.sum(u_cdf))
    np.square(u_cdf, out=u_cdf)
    u_cdf *= deltas
    return float(np.sqrt(np.sum(u_cdf)))


def _cdf_distance_counted(u: ColumnProfile, v: ColumnProfile, power: int) -> float:
    """SciPy's ``_cdf_distance`` from distinct values and counts: the nonzero terms of its sum are at
    the merged distinct values (equal values are 0 apart), so only those are computed."""
    merged = np.union1d(u.uniques, v.uniques)
    deltas = np.diff(merged)
    u_running = np.concatenate(([0], np.cumsum(u.counts)))
    v_running = np.concatenate(([0], np.cumsum(v.counts)))
    u_cdf = u_running[np.searchsorted(u.uniques, merged[:-1], side="right")] / u.size
    v_cdf = v_running[np.searchsorted(v.uniques, merged[:-1], side="right")] / v.size
    if power == 1:
        return float(np.sum(np.multiply(np.abs(u_cdf - v_cdf), deltas)))
    return float(np.sqrt(np.sum(np.multiply(np.square(u_cdf - v_cdf), deltas))))


def cdf_distance(u: ColumnProfile, v: ColumnProfile, power: int) -> float:
    """The CDF distance of two numeric profiles: merged sorted values when every value is distinct,
    distinct values and counts when some repeat (no need to rebuild all values)."""
    if u.sorted_values is not None and v.sorted_values is not None:
        return cdf_distance_sorted(u.sorted_values, v.sorted_values, power)
    return _cdf_distance_counted(u, v, power)


def wasserstein_distance_sorted(u_sorted: FloatArray, v_sorted: FloatArray) -> float:
    """First Wasserstein distance of two ascending samples; equals ``scipy.stats.wasserstein_distance``."""
    return cdf_distance_sorted(u_sorted, v_sorted, 1)


def _compute(reference: ColumnProfile, current: ColumnProfile) -> StatisticResult:
    norm = max(reference.std, _MIN_NORM)
    return StatisticResult(cdf_distance(reference, current, 1) / norm)


WASSERSTEIN = Statistic("wasserstein", NUMERIC, 0.1, DriftRule.AT_OR_ABOVE, _compute)
