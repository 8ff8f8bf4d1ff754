"""Evidently's binning, computed from profiles: sorted values make each histogram a searchsorted.

Evidently (``get_binned_data``) bins a numeric column with more than 20 distinct reference values
into Sturges bins over reference and current together, and otherwise compares the shares of each
distinct value; empty bins may be filled with a tiny share so that logarithms stay finite.
"""

from __future__ import annotations

import numpy as np

from drift.core.statistics.base import AnyArray, ColumnKind, ColumnProfile, FloatArray

__all__ = ["binned_shares", "sturges_edges", "union_keys"]

_MANY_VALUES = 20


def sturges_edges(low: float, high: float, size: int) -> FloatArray:
    """``numpy.histogram_bin_edges(x, bins="sturges")`` for data of this range and size."""
    spread = high - low
    width = spread / (np.log2(size) + 1.0)
    bins = int(np.ceil(spread / width)) if width else 1
    return np.histogram_bin_edges(np.array([low, high], dtype=np.float64), bins=bins)


def union_keys(reference: ColumnProfile, current: ColumnProfile) -> AnyArray:
    """The distinct values of both sides, ascending."""
    return np.union1d(reference.uniques, current.uniques)


def _fill_zeroes(shares: FloatArray) -> FloatArray:
    positive = shares[shares != 0]
    smallest = positive.min()
    fill = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return np.where(shares == 0, fill, shares)


def binned_shares(
    reference: ColumnProfile, current: ColumnProfile, *, fill_zeroes: bool = True
) -> tuple[FloatArray, FloatArray]:
    """Shares of reference and current in the same bins, exactly as Evidently's ``get_binned_data``."""
    if reference.kind is ColumnKind.NUMERIC and reference.nunique > _MANY_VALUES:
        low = min(reference.uniques[0], current.uniques[0])
        high = max(reference.uniques[-1], current.uniques[-1])
        edges = sturges_edges(low, high, reference.size + current.size)
        ref_shares = reference.histogram(edges) / reference.size
        cur_shares = current.histogram(edges) / current.size
    else:
        keys = union_keys(reference, current)
        ref_shares = reference.counts_for(keys) / reference.size
        cur_shares = current.counts_for(keys) / current.size
    if fill_zeroes:
        return _fill_zeroes(ref_shares), _fill_zeroes(cur_shares)
    return ref_shares.astype(np.float64), cur_shares.astype(np.float64)
