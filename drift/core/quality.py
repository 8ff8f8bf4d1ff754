"""Realized quality metrics of joined predictions and labels, equal to scikit-learn's.

Classification metrics come from one confusion matrix over the catalog's classes (as scikit-learn
with ``labels=classes`` and ``zero_division=0``): accuracy, precision, recall and F1 per class,
macro and micro. ROC AUC and log loss use the class probabilities and scikit-learn itself. Rows
whose prediction or label is missing, or whose label is not one of the classes, are excluded and
counted; rows with a missing probability are excluded from ROC AUC and log loss only, and counted.
Regression: MAE, RMSE, MAPE and R², as scikit-learn computes them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from agent.catalog.model import QualitySpec, Task

__all__ = ["ClassScores", "QualityMetrics", "class_codes", "quality_metrics"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int  # rows whose label is this class


@dataclass(frozen=True, slots=True)
class QualityMetrics:
    """Metrics of one window's labelled predictions.

    Attributes:
        rows: labelled predictions scored.
        excluded: rows left out (missing prediction or label, or a label that is not a class).
        values: metric name to value: ``accuracy``, ``precision_macro``, ``recall_macro``,
            ``f1_macro``, ``precision_micro``, ``recall_micro``, ``f1_micro``, ``roc_auc``,
            ``log_loss`` (classification); ``mae``, ``rmse``, ``mape``, ``r2`` (regression). A
            metric that is undefined for the window (ROC AUC with one class present) is absent.
        per_class: classification: per class, its precision, recall, F1 and support.
        confusion: classification: counts, rows the true class, columns the predicted class.
        missing_scores: rows without a usable probability (left out of ROC AUC and log loss).
    """

    rows: int
    excluded: int
    values: dict[str, float]
    per_class: dict[str, ClassScores] = field(default_factory=dict)
    confusion: tuple[tuple[int, ...], ...] = ()
    missing_scores: int = 0


def class_codes(values: pd.Series, classes: tuple[str, ...]) -> FloatArray:
    """Class index of each value compared as a string; -1 for a value that is not a class, NaN if null."""
    text = values.astype(object)
    codes = pd.Categorical(text.where(text.isna(), text.astype(str)), categories=list(classes)).codes
    result = codes.astype(np.float64)
    result[values.isna().to_numpy()] = np.nan
    return result


def _ratio(numerator: FloatArray | float, denominator: FloatArray | float) -> FloatArray:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's ``zero_division=0``)."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def _f1(precision: FloatArray, recall: FloatArray) -> FloatArray:
    return _ratio(2 * precision * recall, precision + recall)


def _classification(
    quality: QualitySpec, prediction: FloatArray, label: FloatArray, scores: dict[str, FloatArray]
) -> QualityMetrics:
    classes = quality.classes
    k = len(classes)
    usable = ~np.isnan(prediction) & ~np.isnan(label) & (label >= 0)
    excluded = int(np.count_nonzero(~usable))
    predicted, actual = prediction[usable].astype(np.int64), label[usable].astype(np.int64)
    known = predicted >= 0  # a predicted value outside the classes is wrong for every class
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (actual[known], predicted[known]), 1)
    tp = np.diag(confusion).astype(np.float64)
    support = np.bincount(actual, minlength=k).astype(np.float64)
    predicted_count = confusion.sum(axis=0).astype(np.float64)
    precision, recall = _ratio(tp, predicted_count), _ratio(tp, support)
    f1 = _f1(precision, recall)
    rows = int(actual.size)
    values: dict[str, float] = {}
    if rows:
        micro_precision = float(_ratio(tp.sum(), predicted_count.sum()))
        micro_recall = float(_ratio(tp.sum(), support.sum()))
        values |= {
            "accuracy": float(np.count_nonzero(predicted == actual)) / rows,
            "precision_macro": float(precision.mean()),
            "recall_macro": float(recall.mean()),
            "f1_macro": float(f1.mean()),
            "precision_micro": micro_precision,
            "recall_micro": micro_recall,
            "f1_micro": float(_f1(np.array(micro_precision), np.array(micro_recall))),
        }
    missing, probabilistic = _probabilistic(quality, actual, {c: s[usable] for c, s in scores.items()})
    values |= probabilistic
    per_class = {
        cls: ClassScores(float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
        for i, cls in enumerate(classes)
    }
    return QualityMetrics(
        rows, excluded, values, per_class, tuple(tuple(int(v) for v in row) for row in confusion), missing
    )


def _probabilistic(
    quality: QualitySpec, actual: npt.NDArray[np.int64], scores: dict[str, FloatArray]
) -> tuple[int, dict[str, float]]:
    """ROC AUC and log loss from the class probabilities, by scikit-learn; (missing rows, values)."""
    from sklearn.metrics import log_loss, roc_auc_score

    classes = quality.classes
    positive = quality.positive_class
    if positive is not None and positive in scores:
        matrix = scores[positive].reshape(-1, 1)
    elif scores and set(scores) == set(classes):
        matrix = np.column_stack([scores[c] for c in classes])
    else:
        return 0, {}
    finite = np.isfinite(matrix).all(axis=1)
    missing = int(np.count_nonzero(~finite))
    y, p = actual[finite], matrix[finite]
    values: dict[str, float] = {}
    if y.size == 0:
        return missing, values
    present = np.unique(y)
    with warnings.catch_warnings():
        # scikit-learn warns when probabilities do not sum to one; the metric is still defined.
        warnings.simplefilter("ignore", UserWarning)
        values["log_loss"] = float(
            log_loss(y, p[:, 0] if p.shape[1] == 1 else p, labels=list(range(len(classes))))
        )
        if p.shape[1] == 1 and present.size == 2:
            values["roc_auc"] = float(roc_auc_score(y, p[:, 0]))
        elif p.shape[1] > 1 and present.size == len(classes):
            values["roc_auc"] = float(
                roc_auc_score(y, p, multi_class="ovr", labels=list(range(len(classes))))
            )
    return missing, values


def _regression(prediction: FloatArray, label: FloatArray) -> QualityMetrics:
    usable = np.isfinite(prediction) & np.isfinite(label)
    excluded = int(np.count_nonzero(~usable))
    y_pred, y_true = prediction[usable], label[usable]
    rows = int(y_true.size)
    if rows == 0:
        return QualityMetrics(0, excluded, {})
    error = y_true - y_pred
    epsilon = np.finfo(np.float64).eps  # scikit-learn's floor for |y| in MAPE
    residual = float(np.sum(error**2))
    total = float(np.sum((y_true - np.mean(y_true)) ** 2))
    # scikit-learn's force_finite: for a constant truth, a perfect fit is 1 and anything else 0.
    r2 = 1.0 - residual / total if total != 0 else float(residual == 0)
    values = {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mape": float(np.mean(np.abs(error) / np.maximum(np.abs(y_true), epsilon))),
        "r2": r2,
    }
    return QualityMetrics(rows, excluded, values)


def quality_metrics(
    quality: QualitySpec,
    prediction: FloatArray,
    label: FloatArray,
    scores: dict[str, FloatArray] | None = None,
) -> QualityMetrics:
    """Metrics of labelled predictions: class indexes (classification) or values (regression)."""
    if quality.task is Task.REGRESSION:
        return _regression(prediction, label)
    return _classification(quality, prediction, label, scores or {})
