"""Multivariate drift by PCA reconstruction error, as NannyML's data-reconstruction calculator.

Fit on half the reference: standardise the numeric columns (missing values take the reference
mean), keep the principal components that explain ``VARIANCE_KEPT`` of the variance; then note the
mean and spread of the reconstruction error on the other half, rows the fit never saw. A window's score is its rows' mean reconstruction error
(Euclidean distance between a standardised row and its projection back from the components);
it drifts outside ``mean ± 3 σ/√n``, with the mean and σ of the held-out reference rows' errors and n the
window's rows, so the band fits the window's size (a fixed band from reference chunks would alarm
on every small window). A change in how columns move
together raises the error even when every column's own distribution stays the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["PcaReconstruction", "fit_pca_reconstruction", "reconstruction_error"]

VARIANCE_KEPT = 0.65  # NannyML's default
_MIN_ROWS = 20

FloatMatrix = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PcaReconstruction:
    """A fitted reconstruction: columns, scaling, components and the reference's error band."""

    columns: tuple[str, ...]
    mean: FloatMatrix
    scale: FloatMatrix
    components: FloatMatrix  # k x d, orthonormal rows
    baseline_mean: float  # mean reconstruction error of the reference rows
    baseline_std: float  # standard deviation of the reference rows' errors

    def band(self, rows: int) -> tuple[float, float]:
        """Where a window of ``rows`` rows' mean error stays without drift."""
        half = 3 * self.baseline_std / np.sqrt(max(rows, 1))
        return self.baseline_mean - half, self.baseline_mean + half


def _matrix(
    frame: pd.DataFrame, columns: tuple[str, ...], fill: FloatMatrix, prefix: str = ""
) -> FloatMatrix:
    data: FloatMatrix = np.asarray(
        frame.reindex(columns=[prefix + c for c in columns])
        .apply(pd.to_numeric, errors="coerce")
        .to_numpy(dtype=np.float64)
    )
    data[~np.isfinite(data)] = np.nan
    missing = np.isnan(data)
    if missing.any():
        data[missing] = np.broadcast_to(fill, data.shape)[missing]
    return data


def _errors(model: PcaReconstruction, data: FloatMatrix) -> FloatMatrix:
    standard = (data - model.mean) / model.scale
    projected = standard @ model.components.T @ model.components
    return np.asarray(np.linalg.norm(standard - projected, axis=1), dtype=np.float64)


def fit_pca_reconstruction(frame: pd.DataFrame, columns: tuple[str, ...]) -> PcaReconstruction | None:
    """Fit on the reference rows; None with fewer than two columns or too few rows."""
    if len(columns) < 2 or len(frame) < _MIN_ROWS * 2:
        return None
    raw = (
        frame.reindex(columns=list(columns)).apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    )
    raw[~np.isfinite(raw)] = np.nan
    mean = np.nanmean(raw, axis=0)
    if not np.isfinite(mean).all():
        return None
    data = _matrix(frame, columns, mean)
    # Fit on one half and measure the baseline on the other: errors of the rows a PCA was fitted on
    # are biased low (it picked the components that fit them), which made undrifted windows alarm.
    order = np.random.default_rng(0).permutation(len(data))
    fit_rows, held_out = data[order[: len(data) // 2]], data[order[len(data) // 2 :]]
    mean = fit_rows.mean(axis=0)
    scale = fit_rows.std(axis=0)
    scale[scale == 0] = 1.0
    standard = (fit_rows - mean) / scale
    _, singular, vt = np.linalg.svd(standard, full_matrices=False)
    explained = np.cumsum(singular**2) / np.sum(singular**2)
    keep = int(np.searchsorted(explained, VARIANCE_KEPT) + 1)
    partial = PcaReconstruction(columns, mean, scale, vt[:keep], 0.0, 0.0)
    errors = _errors(partial, held_out)
    return PcaReconstruction(columns, mean, scale, vt[:keep], float(errors.mean()), float(errors.std()))


_CHUNK_ROWS = 65_536  # rows scored at a time, so a 1M-row window never holds its whole matrix


def reconstruction_error(model: PcaReconstruction, frame: pd.DataFrame, prefix: str = "") -> float | None:
    """Mean reconstruction error of a window's rows; None if empty.

    Columns are named as in the model, after ``prefix`` (``feature.`` for a window's wire columns).
    """
    if len(frame) == 0:
        return None
    total = 0.0
    for start in range(0, len(frame), _CHUNK_ROWS):
        chunk = _matrix(frame.iloc[start : start + _CHUNK_ROWS], model.columns, model.mean, prefix)
        total += float(_errors(model, chunk).sum())
    return total / len(frame)
