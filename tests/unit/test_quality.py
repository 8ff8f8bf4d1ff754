"""Realized quality metrics equal scikit-learn's, on a grid of awkward windows."""

import numpy as np
import pytest
from sklearn import metrics

from agent.catalog.model import QualitySpec, Task
from drift.core.quality import quality_metrics

BINARY = QualitySpec(Task.CLASSIFICATION, "y", ("0", "1"), scores={"1": "p"})
MULTI = QualitySpec(
    Task.CLASSIFICATION, "y", ("a", "b", "c"), prediction="cls", scores={"a": "pa", "b": "pb", "c": "pc"}
)
REGRESSION = QualitySpec(Task.REGRESSION, "y", prediction="value")
TOL = 1e-12


def _binary_case(name, rng, n=300):
    y = rng.integers(0, 2, n)
    p = np.clip(0.5 * y + rng.random(n) * 0.5, 0, 1)
    if name == "single_class":
        y[:] = 1
    elif name == "all_wrong":
        p = 1.0 - y
    elif name == "nan_scores":
        p[:7] = np.nan
    elif name == "no_positive_predictions":
        p[:] = 0.1
    return y.astype(float), p


@pytest.mark.parametrize(
    "name", ["plain", "single_class", "all_wrong", "nan_scores", "no_positive_predictions"]
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_metrics_equal_scikit_learn(name, seed):
    y, p = _binary_case(name, np.random.default_rng(seed))
    predicted = np.where(p >= 0.5, 1.0, 0.0)
    predicted[np.isnan(p)] = np.nan
    got = quality_metrics(BINARY, predicted, y, {"1": p})
    usable = ~np.isnan(predicted)
    yt, yp = y[usable].astype(int), predicted[usable].astype(int)
    assert got.rows == usable.sum() and got.excluded == (~usable).sum()
    labels = [0, 1]
    expected = {
        "accuracy": metrics.accuracy_score(yt, yp),
        "precision_macro": metrics.precision_score(yt, yp, labels=labels, average="macro", zero_division=0),
        "recall_macro": metrics.recall_score(yt, yp, labels=labels, average="macro", zero_division=0),
        "f1_macro": metrics.f1_score(yt, yp, labels=labels, average="macro", zero_division=0),
        "precision_micro": metrics.precision_score(yt, yp, labels=labels, average="micro", zero_division=0),
        "recall_micro": metrics.recall_score(yt, yp, labels=labels, average="micro", zero_division=0),
        "f1_micro": metrics.f1_score(yt, yp, labels=labels, average="micro", zero_division=0),
    }
    finite = np.isfinite(p[usable])
    expected["log_loss"] = metrics.log_loss(yt[finite], p[usable][finite], labels=labels)
    if len(np.unique(yt[finite])) == 2:
        expected["roc_auc"] = metrics.roc_auc_score(yt[finite], p[usable][finite])
    assert set(got.values) == set(expected)
    for key, value in expected.items():
        assert got.values[key] == pytest.approx(value, abs=TOL), key
    per_class = metrics.precision_recall_fscore_support(yt, yp, labels=labels, zero_division=0)
    for i, cls in enumerate(BINARY.classes):
        scores = got.per_class[cls]
        assert (scores.precision, scores.recall, scores.f1) == pytest.approx(
            (per_class[0][i], per_class[1][i], per_class[2][i]), abs=TOL
        )
        assert scores.support == per_class[3][i]
    assert np.array_equal(np.array(got.confusion), metrics.confusion_matrix(yt, yp, labels=labels))


@pytest.mark.parametrize("missing_class", [None, 2])
@pytest.mark.parametrize("seed", [0, 1])
def test_multiclass_metrics_equal_scikit_learn_with_classes_missing_from_the_window(seed, missing_class):
    rng = np.random.default_rng(seed)
    n = 400
    y = rng.integers(0, 3, n)
    if missing_class is not None:
        y[y == missing_class] = 0
    raw = rng.random((n, 3)) + np.eye(3)[y] * 0.8
    probabilities = raw / raw.sum(axis=1, keepdims=True)
    predicted = probabilities.argmax(axis=1).astype(float)
    predicted[:5] = -1  # a predicted class outside the catalog: wrong for every class
    scores = {c: probabilities[:, i] for i, c in enumerate(MULTI.classes)}
    got = quality_metrics(MULTI, predicted, y.astype(float), scores)
    labels = [0, 1, 2]
    for average in ("macro", "micro"):
        p, r, f, _ = metrics.precision_recall_fscore_support(
            y, predicted.astype(int), labels=labels, average=average, zero_division=0
        )
        assert got.values[f"precision_{average}"] == pytest.approx(p, abs=TOL)
        assert got.values[f"recall_{average}"] == pytest.approx(r, abs=TOL)
        assert got.values[f"f1_{average}"] == pytest.approx(f, abs=TOL)
    assert got.values["accuracy"] == pytest.approx(metrics.accuracy_score(y, predicted.astype(int)), abs=TOL)
    assert got.values["log_loss"] == pytest.approx(metrics.log_loss(y, probabilities, labels=labels), abs=TOL)
    if missing_class is None:
        expected_auc = metrics.roc_auc_score(y, probabilities, multi_class="ovr", labels=labels)
        assert got.values["roc_auc"] == pytest.approx(expected_auc, abs=TOL)
    else:
        assert "roc_auc" not in got.values  # undefined when a class never occurs


def test_missing_predictions_and_unknown_labels_are_excluded_and_counted():
    predicted = np.array([0.0, 1.0, np.nan, 1.0, 0.0])
    label = np.array([0.0, 1.0, 1.0, -1.0, np.nan])
    got = quality_metrics(BINARY, predicted, label, {})
    assert (got.rows, got.excluded) == (2, 3)
    assert got.values["accuracy"] == 1.0
    assert "roc_auc" not in got.values and "log_loss" not in got.values  # no probabilities given


@pytest.mark.parametrize("case", ["plain", "constant_truth", "perfect_constant", "zeros_in_truth"])
def test_regression_metrics_equal_scikit_learn(case):
    rng = np.random.default_rng(3)
    y = rng.normal(100, 20, 500)
    pred = y + rng.normal(0, 5, 500)
    if case == "constant_truth":
        y[:] = 7.0
    elif case == "perfect_constant":
        y[:] = 7.0
        pred = y.copy()
    elif case == "zeros_in_truth":
        y[:10] = 0.0
    pred[3] = np.nan  # excluded and counted
    got = quality_metrics(REGRESSION, pred, y)
    usable = np.isfinite(pred)
    yt, yp = y[usable], pred[usable]
    assert (got.rows, got.excluded) == (499, 1)
    expected = {
        "mae": metrics.mean_absolute_error(yt, yp),
        "rmse": metrics.root_mean_squared_error(yt, yp),
        "mape": metrics.mean_absolute_percentage_error(yt, yp),
        "r2": metrics.r2_score(yt, yp),
    }
    for key, value in expected.items():
        assert got.values[key] == pytest.approx(value, rel=TOL, abs=TOL), key


def test_an_empty_window_has_no_metrics():
    empty = np.empty(0)
    assert quality_metrics(BINARY, empty, empty, {"1": empty}).values == {}
    assert quality_metrics(REGRESSION, empty, empty).values == {}
