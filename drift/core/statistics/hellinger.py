"""Hellinger distance (``hellinger``), as Evidently computes it.

Categorical: over the shares of each value. Numeric: over density histograms whose Sturges edges
span the distinct values of both samples.
"""

from __future__ import annotations

import math

import numpy as np

from drift.core.statistics.base import BOTH, ColumnKind, ColumnProfile, DriftRule, Statistic, StatisticResult
from drift.core.statistics.binning import sturges_edges, union_keys

__all__ = ["HELLINGER"]


def _compute(reference: ColumnProfile, current: ColumnProfile) -> StatisticResult:
    keys = union_keys(reference, current)
    if reference.kind is ColumnKind.CATEGORICAL:
        overlap = float(
            np.sum(
                np.sqrt(
                    (reference.counts_for(keys) / reference.size) * (current.counts_for(keys) / current.size)
                )
            )
        )
    else:
        edges = sturges_edges(float(keys[0]), float(keys[-1]), len(keys))
        widths = np.diff(edges)
        ref_counts = reference.histogram(edges)
        cur_counts = current.histogram(edges)
        ref_density = ref_counts / widths / ref_counts.sum()
        cur_density = cur_counts / widths / cur_counts.sum()
        bin_width = (edges.max() - edges.min()) / (len(edges) - 1)
        overlap = float(np.sum(np.sqrt(ref_density * cur_density) * bin_width))
    return StatisticResult(math.sqrt(1 - float(np.clip(overlap, 0, 1))))


HELLINGER = Statistic("hellinger", BOTH, 0.1, DriftRule.AT_OR_ABOVE, _compute)
