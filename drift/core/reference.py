"""Reference profiles: what drift needs of a model version's training data, computed once.

A profile is built from a DataFrame whose columns carry the model's own column names (as in the
training data); windows then reuse it, so no window repeats reference work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from agent.catalog.model import ColumnSpec, ModelSpec
from drift.core.errors import ReferenceDataError
from drift.core.statistics import NumericReference

__all__ = ["ReferenceProfile", "build_reference"]


@dataclass(frozen=True, slots=True)
class ReferenceProfile:
    """Precomputed reference columns of one model version.

    Attributes:
        model: the model identity.
        rows: rows of the reference dataset.
        numeric: per numeric column, its sorted finite values and spread.
    """

    model: str
    rows: int
    numeric: dict[str, NumericReference]


def _numeric_values(series: pd.Series, column: ColumnSpec, model: str) -> np.ndarray:
    try:
        return np.asarray(pd.to_numeric(series, errors="raise"), dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise ReferenceDataError(f"{model}: reference column {column.name!r} is not numeric: {exc}") from exc


def build_reference(frame: pd.DataFrame, model: ModelSpec) -> ReferenceProfile:
    """Profile the model's numeric columns found in ``frame``. Raises when none is found."""
    numeric: dict[str, NumericReference] = {}
    for column in model.columns:
        if column.type.is_numeric and column.name in frame.columns:
            numeric[column.name] = NumericReference.from_values(
                _numeric_values(frame[column.name], column, model.identity)
            )
    if not numeric:
        raise ReferenceDataError(
            f"{model.identity}: the reference has none of the model's numeric columns "
            f"{[c.name for c in model.columns if c.type.is_numeric]}; it has {list(frame.columns)[:20]}"
        )
    return ReferenceProfile(model.identity, len(frame), numeric)
