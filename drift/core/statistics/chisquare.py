"""Chi-square test of the current counts against the reference's shares (``chisquare``)."""

from __future__ import annotations

from scipy import stats

from drift.core.statistics.base import BOTH, ColumnProfile, DriftRule, Statistic, StatisticResult
from drift.core.statistics.binning import union_keys

__all__ = ["CHI_SQUARE"]


def _compute(reference: ColumnProfile, current: ColumnProfile) -> StatisticResult:
    keys = union_keys(reference, current)
    expected = reference.counts_for(keys) * (current.size / reference.size)
    observed = current.counts_for(keys)
    p_value = float(stats.chisquare(observed, expected)[1])
    return StatisticResult(p_value, p_value)


# Evidently allows it on categorical columns and picks it for numeric ones with few values.
CHI_SQUARE = Statistic("chisquare", BOTH, 0.05, DriftRule.P_BELOW, _compute, is_test=True)
