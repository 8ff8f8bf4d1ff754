"""Z-test for the difference of two proportions (``z``), for binary columns.

The first of the sorted distinct values is the "0" outcome, every other value the "1", as in
Evidently.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from drift.core.statistics.base import BOTH, ColumnProfile, DriftRule, Statistic, StatisticResult
from drift.core.statistics.binning import union_keys

__all__ = ["Z_TEST"]


def _compute(reference: ColumnProfile, current: ColumnProfile) -> StatisticResult:
    if reference.nunique == 1 and current.nunique == 1 and reference.uniques[0] == current.uniques[0]:
        return StatisticResult(1.0, 1.0)
    first = union_keys(reference, current)[:1]
    n1, n2 = reference.size, current.size
    p1 = float(n1 - reference.counts_for(first)[0]) / n1
    p2 = float(n2 - current.counts_for(first)[0]) / n2
    pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    p_value = float(2 * (1 - stats.norm.cdf(np.abs(z))))
    return StatisticResult(p_value, p_value)


Z_TEST = Statistic("z", BOTH, 0.05, DriftRule.P_BELOW, _compute, is_test=True)
