"""The registry of drift statistics, by the names the catalog (and Evidently) use."""

from __future__ import annotations

from drift.core.errors import StatisticError
from drift.core.statistics.anderson import ANDERSON_DARLING
from drift.core.statistics.base import ColumnKind, ColumnProfile, DriftRule, Statistic, StatisticResult
from drift.core.statistics.chisquare import CHI_SQUARE
from drift.core.statistics.cramer_von_mises import CRAMER_VON_MISES
from drift.core.statistics.energy import ENERGY_DISTANCE
from drift.core.statistics.fisher import FISHER_EXACT
from drift.core.statistics.hellinger import HELLINGER
from drift.core.statistics.jensenshannon import JENSEN_SHANNON
from drift.core.statistics.kl import KL_DIVERGENCE
from drift.core.statistics.ks import KOLMOGOROV_SMIRNOV
from drift.core.statistics.mmd import EMPIRICAL_MMD
from drift.core.statistics.psi import PSI
from drift.core.statistics.selection import default_statistic
from drift.core.statistics.ttest import T_TEST
from drift.core.statistics.wasserstein import WASSERSTEIN, wasserstein_distance_sorted
from drift.core.statistics.ztest import Z_TEST

__all__ = [
    "AUTO",
    "STATISTICS",
    "ColumnKind",
    "ColumnProfile",
    "DriftRule",
    "Statistic",
    "StatisticResult",
    "default_statistic",
    "get_statistic",
    "wasserstein_distance_sorted",
]

AUTO = "auto"  # Evidently's default selection, per column

STATISTICS: dict[str, Statistic] = {
    s.name: s
    for s in (
        KOLMOGOROV_SMIRNOV,
        CHI_SQUARE,
        Z_TEST,
        WASSERSTEIN,
        JENSEN_SHANNON,
        PSI,
        KL_DIVERGENCE,
        HELLINGER,
        ANDERSON_DARLING,
        CRAMER_VON_MISES,
        ENERGY_DISTANCE,
        EMPIRICAL_MMD,
        T_TEST,
        FISHER_EXACT,
    )
}


def get_statistic(name: str) -> Statistic:
    try:
        return STATISTICS[name]
    except KeyError:
        raise StatisticError(f"unknown drift statistic {name!r}; known: {sorted(STATISTICS)}") from None
