"""Two-sample Kolmogorov–Smirnov test (``ks``): SciPy's ``ks_2samp`` p-value."""

from __future__ import annotations

from scipy import stats

from drift.core.statistics.base import NUMERIC, ColumnProfile, DriftRule, Statistic, StatisticResult

__all__ = ["KOLMOGOROV_SMIRNOV"]


def _compute(reference: ColumnProfile, current: ColumnProfile) -> StatisticResult:
    p_value = float(stats.ks_2samp(reference.values, current.values)[1])
    return StatisticResult(p_value, p_value)


KOLMOGOROV_SMIRNOV = Statistic("ks", NUMERIC, 0.05, DriftRule.P_AT_OR_BELOW, _compute, is_test=True)
