"""Two-sample Cramér–von Mises test (``cramer_von_mises``): SciPy's ``cramervonmises_2samp`` p-value.

Evidently carries its own copy of the same algorithm; they agree to 1e-9 except in the exact
branch (both samples of 20 values or fewer), where they differ in the 8th decimal.
"""

from __future__ import annotations

from scipy import stats

from drift.core.statistics.base import NUMERIC, ColumnProfile, DriftRule, Statistic, StatisticResult

__all__ = ["CRAMER_VON_MISES"]


def _compute(reference: ColumnProfile, current: ColumnProfile) -> StatisticResult:
    if reference.size < 2 or current.size < 2:
        return StatisticResult(float("nan"), None)
    p_value = float(stats.cramervonmises_2samp(reference.values, current.values).pvalue)
    return StatisticResult(p_value, p_value)


CRAMER_VON_MISES = Statistic(
    "cramer_von_mises", NUMERIC, 0.1, DriftRule.P_AT_OR_BELOW, _compute, is_test=True
)
