"""Segments: a model's window split by the values of a segment column, under a cardinality cap.

Which values get their own segment is decided by the reference, so it is stable from window to
window and bounded: the ``max_cardinality`` most frequent values of the column in the reference
data (ties broken by value). Values outside them — rarer ones, new ones — share the ``__other__``
segment, whose records are counted as overflow. Without a reference (or a reference built before the
segment was configured) the cap picks the window's most frequent values instead. Missing values are
the value ``__missing__``. Each segment is compared with its own slice of the reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from agent.catalog.model import ModelSpec
from agent.wire.format import FEATURE_PREFIX

__all__ = [
    "MISSING",
    "OTHER",
    "SegmentSlice",
    "most_frequent",
    "segment_keys",
    "segment_label",
    "split_segments",
]

OTHER = "__other__"
MISSING = "__missing__"

StrArray = npt.NDArray[np.str_]


@dataclass(frozen=True, slots=True)
class SegmentSlice:
    """The rows of one segment of a window.

    Attributes:
        label: ``column=value``, as in ``WindowKey.segment`` and the ``segment`` metric label.
        column: the segment column.
        value: its value, or ``__other__``.
        frame: the window's rows of that value.
        rows: which of the window's rows these are (a boolean mask).
        overflow: True for ``__other__``: its rows are there because of the cap.
    """

    label: str
    column: str
    value: str
    frame: pd.DataFrame
    rows: npt.NDArray[np.bool_]
    overflow: bool = False


def segment_label(column: str, value: str) -> str:
    return f"{column}={value}"


def segment_keys(values: pd.Series) -> StrArray:
    """The values as strings, missing ones as ``__missing__`` (booleans read ``True``/``False``)."""
    keys = values.astype(object).where(values.notna(), MISSING).astype(str)
    return np.asarray(keys.to_numpy(dtype=str))


def most_frequent(keys: StrArray, cap: int) -> tuple[str, ...]:
    """The ``cap`` most frequent keys, by count then by value (deterministic under ties)."""
    if keys.size == 0:
        return ()
    uniques, counts = np.unique(keys, return_counts=True)
    order = np.lexsort((uniques, -counts))  # np.unique sorted by value; lexsort keeps that for ties
    return tuple(str(v) for v in uniques[order[:cap]])


def split_segments(
    model: ModelSpec, frame: pd.DataFrame, kept_values: dict[str, tuple[str, ...]]
) -> list[SegmentSlice]:
    """Split a window's rows (wire column names) by each of the model's segment columns.

    ``kept_values`` are the reference's values per segment column; a column absent from it is
    capped by the window's own most frequent values. A segment column missing from the window
    yields no segments.
    """
    slices: list[SegmentSlice] = []
    for segment in model.segments:
        name = FEATURE_PREFIX + segment.column
        if name not in frame.columns or len(frame) == 0:
            continue
        keys = segment_keys(frame[name])
        kept = kept_values.get(segment.column)
        if kept is None:
            kept = most_frequent(keys, segment.max_cardinality)
        for value in kept:
            mask = keys == value
            if mask.any():
                part = frame.loc[mask].reset_index(drop=True)
                slices.append(
                    SegmentSlice(segment_label(segment.column, value), segment.column, value, part, mask)
                )
        other = ~np.isin(keys, np.asarray(kept, dtype=str))
        if other.any():
            part = frame.loc[other].reset_index(drop=True)
            label = segment_label(segment.column, OTHER)
            slices.append(SegmentSlice(label, segment.column, OTHER, part, other, overflow=True))
    return slices
