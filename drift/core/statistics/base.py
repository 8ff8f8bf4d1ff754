"""What a drift statistic is: a score of a current column profile against a reference profile.

Both sides are :class:`ColumnProfile`: the reference's is built once per model version and kept,
the window's is built once per window and shared by every statistic run on it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["ColumnKind", "ColumnProfile", "DriftRule", "Statistic", "StatisticResult"]

FloatArray = npt.NDArray[np.float64]
AnyArray = npt.NDArray[np.generic]


class ColumnKind(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


@dataclass(frozen=True, slots=True, eq=False)
class ColumnProfile:
    """One column's finite, non-null values, summarised for every statistic.

    Attributes:
        kind: numeric or categorical.
        sorted_values: numeric with every value distinct: all values, ascending (the same array as
            ``uniques``); None when values repeat (``values`` rebuilds them from ``uniques`` and
            ``counts`` when a test needs them, so a 1M-row integer column keeps kilobytes, not 8 MB);
            categorical: empty.
        uniques: distinct values, ascending (float64 for numeric, str objects for categorical).
        counts: occurrences of each of ``uniques``.
        size: number of values.
        mean, std, var: numeric only: mean, population std (ddof=0), sample variance (ddof=1).
    """

    kind: ColumnKind
    sorted_values: FloatArray | None
    uniques: AnyArray
    counts: npt.NDArray[np.int64]
    size: int
    mean: float = float("nan")
    std: float = float("nan")
    var: float = float("nan")

    @property
    def nunique(self) -> int:
        return len(self.uniques)

    @property
    def values(self) -> FloatArray:
        """Numeric: all values, ascending (rebuilt when they repeat); categorical: empty."""
        if self.sorted_values is not None:
            return self.sorted_values
        return np.repeat(self.uniques.astype(np.float64), self.counts)

    def histogram(self, edges: FloatArray) -> npt.NDArray[np.int64]:
        """``numpy.histogram(values, edges)[0]``: last bin closed, others half-open."""
        if self.sorted_values is not None:
            left = np.searchsorted(self.sorted_values, edges[:-1], side="left")
            right_end = np.searchsorted(self.sorted_values, edges[-1], side="right")
            return np.diff(np.append(left, right_end))
        # The same bins from distinct values and running counts.
        running = np.concatenate(([0], np.cumsum(self.counts)))
        left = running[np.searchsorted(self.uniques, edges[:-1], side="left")]
        right_end = running[np.searchsorted(self.uniques, edges[-1], side="right")]
        return np.diff(np.append(left, right_end))

    @classmethod
    def numeric(cls, values: npt.ArrayLike) -> ColumnProfile:
        """Profile numeric values; NaN and infinities are dropped (as Evidently does)."""
        ordered = np.sort(np.asarray(values, dtype=np.float64))
        # Sorted, -inf comes first and +inf then NaN last: the finite values are a slice (no copy).
        low = int(np.searchsorted(ordered, -np.inf, side="right"))
        high = int(np.searchsorted(ordered, np.inf, side="left"))
        finite = ordered[low:high] if (low, high) != (0, ordered.size) else ordered
        size = int(finite.size)
        # Distinct values of a sorted array: where it changes (linear, unlike numpy.unique's sort).
        changes = finite[1:] != finite[:-1]
        if changes.all():
            # Continuous data is all distinct: share the sorted array and count with a read-only
            # view of ones, not two more arrays of the column's length (a 1M-row reference keeps
            # 8 MB a column, not 24 MB).
            uniques, counts, kept = finite, np.broadcast_to(np.int64(1), (size,)), finite
        else:
            starts = np.flatnonzero(np.concatenate(([True], changes)))
            uniques, counts, kept = finite[starts], np.diff(np.append(starts, size)), None
        del changes
        return cls(
            ColumnKind.NUMERIC,
            kept,
            uniques,
            np.asarray(counts, dtype=np.int64),
            size,
            mean=float(finite.mean()) if size else float("nan"),
            std=float(np.std(finite)) if size else float("nan"),
            var=float(np.var(finite, ddof=1)) if size > 1 else float("nan"),
        )

    @classmethod
    def categorical(cls, values: npt.ArrayLike) -> ColumnProfile:
        """Profile categories (compared as strings); nulls are dropped."""
        # Count first (hashing the values as they are), then name the few distinct values as strings.
        counted = pd.Series(values).value_counts(dropna=True, sort=False)
        counted = counted[counted > 0]  # a categorical's unused categories
        counted.index = counted.index.astype(str)
        if counted.index.has_duplicates:  # e.g. 1 and "1": the same category once compared as strings
            counted = counted.groupby(level=0).sum()
        counted = counted.sort_index()
        return cls(
            ColumnKind.CATEGORICAL,
            np.empty(0),
            counted.index.to_numpy(dtype=object),
            np.asarray(counted.to_numpy(), dtype=np.int64),
            int(counted.sum()),
        )

    def counts_for(self, keys: AnyArray) -> npt.NDArray[np.int64]:
        """Occurrences of each of ``keys`` (sorted like ``uniques``), zero where absent."""
        if self.nunique == 0:
            return np.zeros(len(keys), dtype=np.int64)
        index = np.searchsorted(self.uniques, keys)
        index = np.clip(index, 0, self.nunique - 1)
        found = self.uniques[index] == keys
        return np.where(found, self.counts[index], 0).astype(np.int64)


@dataclass(frozen=True, slots=True)
class StatisticResult:
    """A statistic's score (a distance, or the p-value for tests) and its p-value, if it has one."""

    score: float
    p_value: float | None = None


class DriftRule(StrEnum):
    """How a score compares with the threshold to mean drift (each as Evidently decides it)."""

    P_BELOW = "p<threshold"
    P_AT_OR_BELOW = "p<=threshold"
    AT_OR_ABOVE = "score>=threshold"
    ABOVE = "score>threshold"

    def drifted(self, score: float, threshold: float) -> bool:
        if self is DriftRule.P_BELOW:
            return score < threshold
        if self is DriftRule.P_AT_OR_BELOW:
            return score <= threshold
        if self is DriftRule.AT_OR_ABOVE:
            return score >= threshold
        return score > threshold


@dataclass(frozen=True, slots=True)
class Statistic:
    """A named drift statistic.

    Attributes:
        name: the catalog's and Evidently's name for it.
        kinds: column kinds it applies to.
        default_threshold: Evidently's default threshold.
        rule: how the score and the threshold decide drift.
        compute: ``compute(reference, current)``; both profiles are non-empty.
        is_test: the score is a p-value (small means drift).
    """

    name: str
    kinds: frozenset[ColumnKind]
    default_threshold: float
    rule: DriftRule
    compute: Callable[[ColumnProfile, ColumnProfile], StatisticResult]
    is_test: bool = False

    def applies_to(self, kind: ColumnKind) -> bool:
        return kind in self.kinds

    def run(self, reference: ColumnProfile, current: ColumnProfile) -> StatisticResult:
        """``compute`` with floating-point warnings silenced: a zero expected count or an infinite
        statistic is a defined result (p = 0, score inf), as in Evidently, not an incident."""
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return self.compute(reference, current)


NUMERIC: frozenset[ColumnKind] = frozenset({ColumnKind.NUMERIC})
CATEGORICAL: frozenset[ColumnKind] = frozenset({ColumnKind.CATEGORICAL})
BOTH: frozenset[ColumnKind] = NUMERIC | CATEGORICAL
