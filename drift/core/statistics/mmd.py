"""Empirical maximum mean discrepancy with an RBF kernel and a permutation p-value (``empirical_mmd``).

As Evidently: the kernel's sigma is the median heuristic on the reference, the statistic is the
unbiased MMD², and the p-value is the share of 100 permutations at least as large. Differences on
purpose: the permutations come from a seeded generator (Evidently uses NumPy's global one, so its
p-value changes from run to run), and each side is subsampled to ``MAX_SAMPLE`` values, since the
kernel matrix is quadratic in size (Evidently's needs 80 GB at 100k rows). With both samples
ascending and at most ``MAX_SAMPLE`` long, and ``numpy.random.seed(seed)`` before Evidently's call,
the two agree exactly.
"""

from __future__ import annotations

import numpy as np

from drift.core.statistics.base import (
    NUMERIC,
    ColumnProfile,
    DriftRule,
    FloatArray,
    Statistic,
    StatisticResult,
)

__all__ = ["EMPIRICAL_MMD", "MAX_SAMPLE", "mmd_test"]

MAX_SAMPLE = 1_000
PERMUTATIONS = 100


def _squared_distances(x: FloatArray, y: FloatArray) -> FloatArray:
    return np.asarray((y**2).T - 2 * np.dot(x, y.T) + x**2, dtype=np.float64)


def _median_sigma(squared: FloatArray) -> float:
    sigma = float((0.5 * np.percentile(squared.ravel(), 50, method="nearest")) ** 0.5)
    return sigma if sigma != 0 else float((0.5 * 1) ** 0.5)


def _mmd(kernel: FloatArray, n_y: int) -> float:
    n_x = kernel.shape[0] - n_y
    kxx = kernel[:-n_y, :-n_y]
    kyy = kernel[-n_y:, -n_y:]
    kxy = kernel[-n_y:, :-n_y]
    # Multiplying by the reciprocal (not dividing) keeps Evidently's rounding: with few distinct
    # values, permuted statistics tie with the observed one and the last bit decides the p-value.
    a = 1 / (n_x * (n_x - 1))
    b = 1 / (n_y * (n_y - 1))
    return float(a * kxx.sum() + b * kyy.sum() - 2.0 * kxy.mean())


def mmd_test(x_values: FloatArray, y_values: FloatArray, rng: np.random.RandomState) -> tuple[float, float]:
    """(p-value, MMD²) of two 1-D samples, each of at least two values."""
    x = x_values.reshape(-1, 1)
    y = y_values.reshape(-1, 1)
    sigma = _median_sigma(_squared_distances(x, x))
    gamma = 1.0 / (2.0 * sigma**2)
    kxx = np.exp(-gamma * _squared_distances(x, x))
    kxy = np.exp(-gamma * _squared_distances(x, y))
    kyy = np.exp(-gamma * _squared_distances(y, y))
    kernel = np.block([[kxx, kxy], [kxy.T, kyy]])
    np.fill_diagonal(kernel, 0.0)
    observed = _mmd(kernel, y.shape[0])
    permuted = np.empty(PERMUTATIONS)
    for i in range(PERMUTATIONS):
        index = rng.permutation(kernel.shape[0])
        permuted[i] = _mmd(kernel[index][:, index], y.shape[0])
    return float((observed <= permuted).mean()), observed


def _subsample(values: FloatArray, rng: np.random.RandomState) -> FloatArray:
    if values.size <= MAX_SAMPLE:
        return values
    return np.sort(rng.choice(values, MAX_SAMPLE, replace=False))


def _compute(reference: ColumnProfile, current: ColumnProfile) -> StatisticResult:
    if reference.size < 2 or current.size < 2:
        return StatisticResult(float("nan"), None)
    rng = np.random.RandomState(0)
    p_value, _ = mmd_test(_subsample(reference.values, rng), _subsample(current.values, rng), rng)
    return StatisticResult(p_value, p_value)


EMPIRICAL_MMD = Statistic("empirical_mmd", NUMERIC, 0.1, DriftRule.P_BELOW, _compute, is_test=True)
