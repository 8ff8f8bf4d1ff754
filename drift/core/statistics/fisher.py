"""Fisher's exact test (``fisher_exact``) on the 2x2 table of a binary column in both samples.

Evidently requires both samples to be of equal length; this one does not. A column with more than
two distinct values has no Fisher test: the score is NaN.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from drift.core.statistics.base import BOTH, ColumnProfile, DriftRule, Statistic, StatisticResult
from drift.core.statistics.binning import union_keys

__all__ = ["FISHER_EXACT"]


def _compute(reference: ColumnProfile, current: ColumnProfile) -> StatisticResult:
    keys = union_keys(reference, current)
    if len(keys) > 2:
        return StatisticResult(float("nan"), None)
    first = keys[:1]
    ref_first, cur_first = int(reference.counts_for(first)[0]), int(current.counts_for(first)[0])
    table = np.array([[cur_first, current.size - cur_first], [ref_first, reference.size - ref_first]])
    p_value = float(stats.fisher_exact(table)[1])
    return StatisticResult(p_value, p_value)


FISHER_EXACT = Statistic("fisher_exact", BOTH, 0.1, DriftRule.P_BELOW, _compute, is_test=True)
