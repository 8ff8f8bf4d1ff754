"""k-sample Anderson–Darling test (``anderson``): SciPy's ``anderson_ksamp`` significance level.

SciPy caps the p-value to [0.001, 0.25] and warns about it; the cap is kept (Evidently's numbers),
the warning is not.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

from drift.core.statistics.base import NUMERIC, ColumnProfile, DriftRule, Statistic, StatisticResult

__all__ = ["ANDERSON_DARLING"]


def _compute(reference: ColumnProfile, current: ColumnProfile) -> StatisticResult:
    if len(np.union1d(reference.uniques, current.uniques)) < 2:
        return StatisticResult(1.0, 1.0)  # one value on both sides: no evidence of drift (SciPy raises)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p_value = float(stats.anderson_ksamp([reference.values, current.values])[2])
    return StatisticResult(p_value, p_value)


ANDERSON_DARLING = Statistic("anderson", NUMERIC, 0.1, DriftRule.P_BELOW, _compute, is_test=True)
