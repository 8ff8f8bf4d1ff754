"""Jensen–Shannon distance (``jensenshannon``) between Evidently-binned shares."""

from __future__ import annotations

from scipy.spatial import distance

from drift.core.statistics.base import BOTH, ColumnProfile, DriftRule, Statistic, StatisticResult
from drift.core.statistics.binning import binned_shares

__all__ = ["JENSEN_SHANNON"]


def _compute(reference: ColumnProfile, current: ColumnProfile) -> StatisticResult:
    ref_shares, cur_shares = binned_shares(reference, current, fill_zeroes=False)
    return StatisticResult(float(distance.jensenshannon(ref_shares, cur_shares, None)))


JENSEN_SHANNON = Statistic("jensenshannon", BOTH, 0.1, DriftRule.AT_OR_ABOVE, _compute)
