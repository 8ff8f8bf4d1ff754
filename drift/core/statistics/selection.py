"""Evidently's default choice of statistic, by column kind, reference size and distinct values."""

from __future__ import annotations

from drift.core.statistics.base import ColumnKind, ColumnProfile, Statistic
from drift.core.statistics.binning import union_keys
from drift.core.statistics.chisquare import CHI_SQUARE
from drift.core.statistics.jensenshannon import JENSEN_SHANNON
from drift.core.statistics.ks import KOLMOGOROV_SMIRNOV
from drift.core.statistics.wasserstein import WASSERSTEIN
from drift.core.statistics.ztest import Z_TEST

__all__ = ["default_statistic"]

_SMALL_REFERENCE = 1_000
_FEW_VALUES = 5


def default_statistic(reference: ColumnProfile, current: ColumnProfile) -> Statistic:
    """The statistic Evidently's DataDriftPreset would run on this column.

    Small references (≤ 1,000 values) get tests: chi-square or, for binary columns, the Z-test
    for categories and numbers with ≤ 5 distinct values, Kolmogorov–Smirnov for other numbers.
    Larger ones get distances: Jensen–Shannon for categories and numbers with ≤ 5 distinct values,
    normed Wasserstein for other numbers.
    """
    # Distinct values of both sides together; only whether they are few matters for many-valued numbers.
    many = reference.nunique > _FEW_VALUES or current.nunique > _FEW_VALUES
    distinct = _FEW_VALUES + 1 if many else len(union_keys(reference, current))
    few = reference.kind is ColumnKind.CATEGORICAL or distinct <= _FEW_VALUES
    if reference.size <= _SMALL_REFERENCE:
        if few:
            return CHI_SQUARE if distinct > 2 else Z_TEST
        return KOLMOGOROV_SMIRNOV
    return JENSEN_SHANNON if few else WASSERSTEIN
