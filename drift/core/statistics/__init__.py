"""The registry of drift statistics, by the name the catalog uses."""

from __future__ import annotations

from drift.core.errors import StatisticError
from drift.core.statistics.base import NumericReference, NumericStatistic, StatisticResult
from drift.core.statistics.wasserstein import WASSERSTEIN, normed_wasserstein, wasserstein_distance_sorted

__all__ = [
    "STATISTICS",
    "NumericReference",
    "NumericStatistic",
    "StatisticResult",
    "get_statistic",
    "normed_wasserstein",
    "wasserstein_distance_sorted",
]

STATISTICS: dict[str, NumericStatistic] = {s.name: s for s in (WASSERSTEIN,)}


def get_statistic(name: str) -> NumericStatistic:
    try:
        return STATISTICS[name]
    except KeyError:
        raise StatisticError(f"unknown drift statistic {name!r}; known: {sorted(STATISTICS)}") from None
