"""What a drift statistic is: a score of a current sample against a precomputed reference."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["NumericReference", "NumericStatistic", "StatisticResult"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class NumericReference:
    """What every numeric statistic needs of a reference column, computed once per model version.

    Attributes:
        sorted_values: the finite reference values, ascending.
        std: population standard deviation (``ddof=0``) of those values.
    """

    sorted_values: FloatArray
    std: float

    @classmethod
    def from_values(cls, values: FloatArray) -> NumericReference:
        finite = np.sort(values[np.isfinite(values)])
        return cls(finite, float(np.std(finite)) if finite.size else float("nan"))


@dataclass(frozen=True, slots=True)
class StatisticResult:
    """A statistic's score and, where the statistic has one, its p-value."""

    score: float
    p_value: float | None = None


@dataclass(frozen=True, slots=True)
class NumericStatistic:
    """A named statistic over numeric columns; ``compute`` is pure and vectorized.

    ``compute(reference, current_sorted)`` gets the reference profile and the window's finite values
    in ascending order, both non-empty.
    """

    name: str
    compute: Callable[[NumericReference, FloatArray], StatisticResult]
