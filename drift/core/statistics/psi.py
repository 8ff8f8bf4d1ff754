"""Population stability index (``psi``) over Evidently-binned shares."""

from __future__ import annotations

import numpy as np

from drift.core.statistics.base import BOTH, ColumnProfile, DriftRule, Statistic, StatisticResult
from drift.core.statistics.binning import binned_shares

__all__ = ["PSI"]


def _compute(reference: ColumnProfile, current: ColumnProfile) -> StatisticResult:
    ref_shares, cur_shares = binned_shares(reference, current)
    return StatisticResult(float(np.sum((ref_shares - cur_shares) * np.log(ref_shares / cur_shares))))


PSI = Statistic("psi", BOTH, 0.1, DriftRule.AT_OR_ABOVE, _compute)
