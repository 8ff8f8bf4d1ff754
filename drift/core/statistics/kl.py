"""Kullback–Leibler divergence of the reference from the current (``kl_div``), Evidently-binned."""

from __future__ import annotations

from scipy import stats

from drift.core.statistics.base import BOTH, ColumnProfile, DriftRule, Statistic, StatisticResult
from drift.core.statistics.binning import binned_shares

__all__ = ["KL_DIVERGENCE"]


def _compute(reference: ColumnProfile, current: ColumnProfile) -> StatisticResult:
    ref_shares, cur_shares = binned_shares(reference, current)
    return StatisticResult(float(stats.entropy(ref_shares, cur_shares)))


KL_DIVERGENCE = Statistic("kl_div", BOTH, 0.1, DriftRule.AT_OR_ABOVE, _compute)
