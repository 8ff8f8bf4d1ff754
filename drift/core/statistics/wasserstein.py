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
    """SciPy's ``_cdf_distance`` (power 1: Wasserstein, 2: the energy distance's core) on sorted samples."""
    all_values = np.concatenate((u_sorted, v_sorted))
    all_values.sort(kind="mergesort")
    deltas = np.diff(all_values)
    u_cdf = u_sorted.searchsorted(all_values[:-1], "right") / u_sorted.size
    v_cdf = v_sorted.searchsorted(all_values[:-1], "right") / v_sorted.size
    if power == 1:
        return float(np.sum(np.multiply(np.abs(u_cdf - v_cdf), deltas)))
    return float(np.sqrt(np.sum(np.multiply(np.square(u_cdf - v_cdf), deltas))))


def wasserstein_distance_sorted(u_sorted: FloatArray, v_sorted: FloatArray) -> float:
    """First Wasserstein distance of two ascending samples; equals ``scipy.stats.wasserstein_distance``."""
    return cdf_distance_sorted(u_sorted, v_sorted, 1)


def _compute(reference: ColumnProfile, current: ColumnProfile) -> StatisticResult:
    norm = max(reference.std, _MIN_NORM)
    return StatisticResult(wasserstein_distance_sorted(reference.values, current.values) / norm)


WASSERSTEIN = Statistic("wasserstein", NUMERIC, 0.1, DriftRule.AT_OR_ABOVE, _compute)
