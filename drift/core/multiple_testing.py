"""Multiple-testing control for p-value drift tests run on many columns of one window."""

from __future__ import annotations

import numpy as np

__all__ = ["CORRECTIONS", "corrected_drift", "drift_streak"]

CORRECTIONS = ("none", "bonferroni", "benjamini_hochberg")


def corrected_drift(p_values: list[float], alpha: float, method: str) -> tuple[list[bool], float]:
    """Which tests reject at family level ``alpha``, and the per-test threshold that was used.

    ``bonferroni`` tests each p-value against ``alpha / m``; ``benjamini_hochberg`` controls the false
    discovery rate: with p-values sorted, every one up to the largest ``p(k) <= k/m * alpha`` rejects.
    ``none`` tests against ``alpha`` (strictly below, as Evidently does).
    """
    m = len(p_values)
    if m == 0:
        return [], alpha
    values = np.asarray(p_values, dtype=np.float64)
    if method == "none":
        return [bool(p < alpha) for p in values], alpha
    if method == "bonferroni":
        threshold = alpha / m
        return [bool(p < threshold) for p in values], threshold
    if method == "benjamini_hochberg":
        ordered = np.sort(values)
        passing = np.nonzero(ordered <= np.arange(1, m + 1) / m * alpha)[0]
        if passing.size == 0:
            return [False] * m, 0.0
        threshold = float(ordered[passing[-1]])
        return [bool(p <= threshold) for p in values], threshold
    raise ValueError(f"unknown multiple-testing correction {method!r}; known: {CORRECTIONS}")


def drift_streak(previous: int, drifted: bool) -> int:
    """Consecutive drifted windows, for hysteresis: reset by a window without drift."""
    return previous + 1 if drifted else 0
