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

__all__ = ["WASSERSTEIN", "cdf_distance_sorted", "wasserstein_distance_sorted"]

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


def wasserstein_distance_sorted(u_sorted: FloatArray, v_sorted: FloatArray) -> float:
    """First Wasserstein distance of two ascending samples; equals ``scipy.stats.wasserstein_distance``."""
    return cdf_distance_sorted(u_sorted, v_sorted, 1)


def _compute(reference: ColumnProfile, current: ColumnProfile) -> StatisticResult:
    norm = max(reference.std, _MIN_NORM)
    return StatisticResult(wasserstein_distance_sorted(reference.values, current.values) / norm)


WASSERSTEIN = Statistic("wasserstein", NUMERIC, 0.1, DriftRule.AT_OR_ABOVE, _compute)
