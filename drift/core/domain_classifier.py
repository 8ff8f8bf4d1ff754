"""Multivariate drift by a domain classifier, as NannyML's DomainClassifierCalculator.

Train a classifier to tell current rows from reference rows. If nothing changed it cannot do better
than chance, so its cross-validated ROC AUC stays near 0.5; if it can tell them apart the data
drifted, including drift that only shows in how columns move together (a correlation that flips
sign leaves every column's own distribution as it was).

The score is the ROC AUC of out-of-fold probabilities (stratified k-fold, so every row is scored by
a model that never saw it) from a small histogram gradient-boosting model, which handles missing
values and categories natively.

Both sides are subsampled to the same size (at most ``max_rows``): balanced classes make the AUC's
spread smallest and the fit cheapest (a 100-row window is scored against 100 reference rows).

The band: with both sides drawn from one distribution the AUC is the Mann–Whitney statistic of
scores that do not depend on the side, centred at 0.5 with standard deviation
``sqrt((n1 + n2 + 1) / (12 n1 n2))``. That holds for scores from one fixed model; out-of-fold scores
come from k models, each fitted on rows the others are tested on, so chance patterns count twice,
and the AUC's spread measured under no drift is 1.3–1.6 times the formula's. The window drifts when
``auc > 0.5 + z * SPREAD_INFLATION * sd``.

The model runs on one thread: scikit-learn's OpenMP threads spin while waiting, and on a busy
2-core machine that made each fit 25 times slower; the aggregator already scores in parallel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

__all__ = ["DomainClassifierScore", "domain_classifier_drift", "null_auc_upper"]

# HistGradientBoosting takes at most 255 categories per feature (codes 0..254); the most frequent
# values keep their own code and the rest share one, which leaves room below that limit.
MAX_CATEGORIES = 250
# The out-of-fold AUC's spread under no drift, relative to the Mann–Whitney formula (measured 1.3–1.6).
SPREAD_INFLATION = 1.6

FloatMatrix = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class DomainClassifierScore:
    """How well a classifier tells current rows from reference rows, and whether that is drift."""

    auc: float  # cross-validated ROC AUC of telling current rows from reference rows
    upper: float  # above this AUC the window drifted: 0.5 + z · SPREAD_INFLATION · sd (no-drift sd)
    drifted: bool
    reference_rows: int  # rows used from each side after subsampling
    current_rows: int


def null_auc_upper(reference_rows: int, current_rows: int, z: float = 3.0) -> float:
    """``0.5 + z * sd``, sd the Mann–Whitney AUC's standard deviation when the sides do not differ."""
    n1, n2 = reference_rows, current_rows
    return 0.5 + z * math.sqrt((n1 + n2 + 1) / (12 * n1 * n2))


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(np.nan, index=frame.index, dtype=np.float64)  # absent: all missing


def _numeric(values: pd.Series) -> FloatMatrix:
    data = np.asarray(
        pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64
    )
    data[~np.isfinite(data)] = np.nan
    return data


def _categorical(values: pd.Series) -> FloatMatrix:
    """Codes of one column over both sides' rows: most frequent first, the tail shared, missing NaN."""
    present = values.notna().to_numpy()
    # Compare as strings, like the per-column categorical statistics (1 and "1" are one category).
    strings = values[present].astype(object).astype(str)
    counts = strings.value_counts(sort=False)
    # Order by frequency, then by value, so the codes do not depend on row order.
    counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    kept = pd.Index(counts.index[:MAX_CATEGORIES])
    index = kept.get_indexer(strings.to_numpy())
    codes = np.full(len(values), np.nan, dtype=np.float64)
    codes[present] = np.where(index >= 0, index, MAX_CATEGORIES)
    return codes


def _sample(frame: pd.DataFrame, max_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(frame) <= max_rows:
        return frame
    rows = np.sort(rng.choice(len(frame), size=max_rows, replace=False))
    return frame.iloc[rows]


def _out_of_fold(
    data: FloatMatrix,
    labels: npt.NDArray[np.int64],
    is_categorical: npt.NDArray[np.bool_],
    folds: int,
    seed: int,
) -> FloatMatrix:
    """Every row's probability of being current, from a model fitted on the other folds."""
    scores = np.empty(len(labels), dtype=np.float64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(data, labels):
        # A numeric column with no value in the training rows makes HGB's binning raise (it finds
        # no thresholds); it carries nothing to learn, so leave it out of this fold's model.
        usable = is_categorical | ~np.isnan(data[train]).all(axis=0)
        if not usable.any():
            scores[test] = labels[train].mean()  # nothing to learn from: the prior, a constant
            continue
        model = HistGradientBoostingClassifier(
            max_iter=50,
            max_leaf_nodes=15,
            learning_rate=0.1,
            early_stopping=False,
            categorical_features=is_categorical[usable],
            random_state=seed,
        )
        model.fit(data[np.ix_(train, usable)], labels[train])
        scores[test] = model.predict_proba(data[np.ix_(test, usable)])[:, 1]
    return scores


def domain_classifier_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: tuple[str, ...],
    categorical: tuple[str, ...],
    *,
    max_rows: int = 5000,
    folds: int = 5,
    z: float = 3.0,
    seed: int = 0,
) -> DomainClassifierScore | None:
    """Score ``current`` against ``reference``; None without columns or with under ``2 * folds`` rows a side.

    Both sides are subsampled to the smaller side's rows, at most ``max_rows`` (deterministically,
    from ``seed``). A column
    absent from a frame counts as all missing there; if it is present on the other side, that
    difference is itself something the classifier sees.
    """
    if not numeric and not categorical:
        return None
    rng = np.random.default_rng(seed)
    rows = min(max_rows, len(reference), len(current))
    reference = _sample(reference, rows, rng)
    current = _sample(current, rows, rng)
    n_reference, n_current = len(reference), len(current)
    if min(n_reference, n_current) < 2 * folds:
        return None

    columns: list[FloatMatrix] = []
    for name in numeric:
        columns.append(np.concatenate([_numeric(_column(reference, name)), _numeric(_column(current, name))]))
    for name in categorical:
        # One mapping over both sides, so a value gets the same code on each.
        both = pd.concat([_column(reference, name), _column(current, name)], ignore_index=True)
        columns.append(_categorical(both))
    data: FloatMatrix = np.column_stack(columns)
    is_categorical = np.zeros(len(columns), dtype=np.bool_)
    is_categorical[len(numeric) :] = True
    labels = np.concatenate([np.zeros(n_reference, dtype=np.int64), np.ones(n_current, dtype=np.int64)])

    with threadpool_limits(limits=1, user_api="openmp"):
        scores = _out_of_fold(data, labels, is_categorical, folds, seed)
    auc = float(roc_auc_score(labels, scores))
    upper = null_auc_upper(n_reference, n_current, z * SPREAD_INFLATION)
    return DomainClassifierScore(auc, upper, auc > upper, n_reference, n_current)
