"""Energy distance (``ed``): SciPy's ``energy_distance`` on sorted samples, as Evidently uses it."""

from __future__ import annotations

import numpy as np

from drift.core.statistics.base import NUMERIC, ColumnProfile, DriftRule, Statistic, StatisticResult
from drift.core.statistics.wasserstein import cdf_distance

__all__ = ["ENERGY_DISTANCE"]


def _compute(reference: ColumnProfile, current: ColumnProfile) -> StatisticResult:
    return StatisticResult(float(np.sqrt(2)) * cdf_distance(reference, current, 2))


ENERGY_DISTANCE = Statistic("ed", NUMERIC, 0.1, DriftRule.ABOVE, _compute)
