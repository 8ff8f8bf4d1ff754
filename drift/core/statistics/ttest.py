"""Student's t-test of equal means (``t_test``; TrustyAI's MeanShift), from the reference's moments."""

from __future__ import annotations

import math

from scipy import stats

from drift.core.statistics.base import NUMERIC, ColumnProfile, DriftRule, Statistic, StatisticResult

__all__ = ["T_TEST"]


def _compute(reference: ColumnProfile, current: ColumnProfile) -> StatisticResult:
    if reference.size < 2 or current.size < 2:
        return StatisticResult(float("nan"), None)
    result = stats.ttest_ind_from_stats(
        reference.mean,
        math.sqrt(reference.var),
        reference.size,
        current.mean,
        math.sqrt(current.var),
        current.size,
    )
    p_value = float(result.pvalue)
    return StatisticResult(p_value, p_value)


T_TEST = Statistic("t_test", NUMERIC, 0.05, DriftRule.P_BELOW, _compute, is_test=True)
