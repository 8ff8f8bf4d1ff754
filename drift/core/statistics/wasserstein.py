"""Normed Wasserstein distance, as Evidently computes it (``wasserstein``).

Evidently divides SciPy's first Wasserstein distance by ``max(std(reference), 0.001)`` so that the
score is in units of the reference's spread. The distance here is SciPy's CDF algorithm, computed
against a reference sorted once, so a window sorts only its own values.
"""

from __future__ import annotations

import numpy as np

from drift.core.statistics.base import FloatArray, NumericReference, NumericStatistic, StatisticResult

__all__ = ["WASSERSTEIN", "normed_wasserstein", "wasserstein_distance_sorted"]

_MIN_NORM = 0.001  # Evidently's floor for a (near) constant reference


def wasserstein_distance_sorted(u_sorted: FloatArray, v_sorted: FloatArray) -> float:
    """First Wasserstein distance between two samples given ascending; equals ``scipy.stats``'s."""
    all_values = np.concatenate((u_sorted, v_sorted))
    all_values.sort(kind="mergesort")
    deltas = np.diff(all_values)
    u_cdf = u_sorted.searchsorted(all_values[:-1], "right") / u_sorted.size
    v_cdf = v_sorted.searchsorted(all_values[:-1], "right") / v_sorted.size
    return float(np.sum(np.multiply(np.abs(u_cdf - v_cdf), deltas)))


def normed_wasserstein(reference: NumericReference, current_sorted: FloatArray) -> StatisticResult:
    """Evidently's ``wasserstein`` stattest score (no p-value). Samples must be non-empty and finite."""
    norm = max(reference.std, _MIN_NORM)
    return StatisticResult(wasserstein_distance_sorted(reference.sorted_values, current_sorted) / norm)


WASSERSTEIN = NumericStatistic("wasserstein", normed_wasserstein)
