"""CBPE's estimates track the realized metrics, and its band holds them, without the labels."""

import json

import numpy as np
import pytest
from sklearn import metrics
from sklearn.isotonic import IsotonicRegression

from agent.catalog.model import QualitySpec, Task
from drift.core.cbpe import (
    METRICS,
    Calibration,
    PerformanceEstimate,
    _metrics,
    calibration_from_dict,
    calibration_to_dict,
    estimate_performance,
    fit_calibration,
)

BINARY = QualitySpec(Task.CLASSIFICATION, "y", ("0", "1"), scores={"1": "p"})
MULTI = QualitySpec(Task.CLASSIFICATION, "y", ("a", "b", "c"), scores={"a": "pa", "b": "pb", "c": "pc"})
REFERENCE_ROWS = 5000
WINDOW_ROWS = 500
WINDOWS = 200
COVERAGE = 0.95


def uniform(rng, n):
    """Calibrated scores: p uniform, the label positive with probability p."""
    p = rng.random(n)
    return p, (rng.random(n) < p).astype(float)


def towards_half(rng, n):
    """Covariate shift: scores bunch around 0.5, still calibrated."""
    p = rng.beta(5, 5, n)
    return p, (rng.random(n) < p).astype(float)


def squared(rng, n):
    """Miscalibrated: the model reports p, the truth is p².

    The scores are skewed: for a distribution symmetric around the 0.5 threshold the uncalibrated
    accuracy estimate happens to be unbiased.
    """
    p = rng.beta(2, 1.2, n)
    return p, (rng.random(n) < p**2).astype(float)


def dirichlet(rng, n):
    p = rng.dirichlet([1.0, 1.0, 1.0], n)
    y = (rng.random((n, 1)) > np.cumsum(p, axis=1)).sum(axis=1)
    return p, np.minimum(y, 2).astype(float)


def as_scores(quality, p):
    if p.ndim == 1:
        return {"1": p}
    return {cls: p[:, i] for i, cls in enumerate(quality.classes)}


def realized(quality, p, y):
    """scikit-learn's metrics of a labelled window (ROC AUC absent when a class is missing)."""
    labels = list(range(len(quality.classes)))
    y = y.astype(int)
    if p.ndim == 1:
        predicted = (p >= quality.threshold).astype(int)
        auc = metrics.roc_auc_score(y, p) if np.unique(y).size == 2 else None
    else:
        predicted = p.argmax(axis=1)
        auc = (
            metrics.roc_auc_score(y, p, multi_class="ovr", labels=labels) if np.unique(y).size == 3 else None
        )
    values = {
        "accuracy": metrics.accuracy_score(y, predicted),
        "f1_macro": metrics.f1_score(y, predicted, labels=labels, average="macro", zero_division=0),
        "precision_macro": metrics.precision_score(
            y, predicted, labels=labels, average="macro", zero_division=0
        ),
        "recall_macro": metrics.recall_score(y, predicted, labels=labels, average="macro", zero_division=0),
    }
    if auc is not None:
        values["roc_auc"] = auc
    return values


def by_metric(estimates):
    return {e.metric: e for e in estimates}


def windows(quality, calibration, generate, rng, count=WINDOWS):
    """Per metric: (estimate, realized) over ``count`` windows."""
    pairs = {m: [] for m in METRICS}
    for _ in range(count):
        p, y = generate(rng, WINDOW_ROWS)
        estimates = by_metric(estimate_performance(quality, calibration, as_scores(quality, p)))
        for metric, value in realized(quality, p, y).items():
            pairs[metric].append((estimates[metric], value))
    return pairs


def coverage(pairs):
    return np.mean([e.lower <= r <= e.upper for e, r in pairs])


def mean_abs_error(pairs):
    return np.mean([abs(e.value - r) for e, r in pairs])


def fitted(quality, generate, rng, rows=REFERENCE_ROWS, **kwargs):
    p, y = generate(rng, rows)
    return fit_calibration(quality, as_scores(quality, p), y, **kwargs)


def test_calibrated_binary_band_holds_the_realized_metrics():
    rng = np.random.default_rng(0)
    calibration = fitted(BINARY, uniform, rng)
    pairs = windows(BINARY, calibration, uniform, rng)
    for metric in METRICS:
        assert coverage(pairs[metric]) >= COVERAGE, metric
        bias = np.mean([e.value - r for e, r in pairs[metric]])
        assert abs(bias) < 0.01, metric
    # The band is value ± 3 sampling errors: std · sqrt(chunk / n), far from the [0, 1] clip here.
    estimate = pairs["accuracy"][0][0]
    std = calibration.reference_chunk_std["accuracy"]
    assert estimate.upper - estimate.lower == pytest.approx(6 * std * np.sqrt(calibration.chunk_size / 500))
    assert 0.01 < std < 0.03  # the realized accuracy's spread over 500 rows: about sqrt(0.75·0.25/500)


def test_covariate_shift_lowers_the_estimate_and_the_band_follows():
    rng = np.random.default_rng(1)
    calibration = fitted(BINARY, uniform, rng)
    before = windows(BINARY, calibration, uniform, rng, count=50)["accuracy"]
    after = windows(BINARY, calibration, towards_half, rng)["accuracy"]
    estimated_before = np.mean([e.value for e, _ in before])
    estimated_after = np.mean([e.value for e, _ in after])
    assert estimated_after < estimated_before - 0.08  # about 0.75 -> 0.62
    assert abs(estimated_after - np.mean([r for _, r in after])) < 0.02
    assert coverage(after) >= COVERAGE


def test_miscalibrated_scores_are_calibrated_on_the_reference():
    rng = np.random.default_rng(2)
    p, y = squared(rng, REFERENCE_ROWS)
    calibrated = fit_calibration(BINARY, {"1": p}, y)
    raw = fit_calibration(BINARY, {"1": p}, y, calibrate=False)
    assert calibrated.curves[0] is not None  # the calibration error says calibrating helps
    assert raw.curves == (None,)
    window_rng = np.random.default_rng(3)
    with_calibration = windows(BINARY, calibrated, squared, window_rng)
    window_rng = np.random.default_rng(3)  # the same windows
    without = windows(BINARY, raw, squared, window_rng)
    for metric in ("accuracy", "roc_auc", "f1_macro"):
        assert coverage(with_calibration[metric]) >= COVERAGE, metric
        assert mean_abs_error(with_calibration[metric]) < mean_abs_error(without[metric]), metric
    assert mean_abs_error(without["accuracy"]) > 1.5 * mean_abs_error(with_calibration["accuracy"])


def test_multiclass_band_holds_the_realized_metrics():
    rng = np.random.default_rng(4)
    calibration = fitted(MULTI, dirichlet, rng)
    assert calibration.classes == MULTI.classes
    pairs = windows(MULTI, calibration, dirichlet, rng)
    for metric in ("accuracy", "roc_auc", "f1_macro"):
        assert coverage(pairs[metric]) >= COVERAGE, metric


def test_realized_metrics_of_one_hot_weights_equal_scikit_learns():
    """The chunk spread uses the estimator with one-hot labels: it must be the realized metric."""
    rng = np.random.default_rng(5)
    p = np.round(rng.random(300), 1)  # many tied scores
    y = (rng.random(300) < p).astype(float)
    predicted = (p >= 0.5).astype(np.int64)
    got = _metrics(predicted, np.eye(2)[y.astype(int)], p.reshape(-1, 1))
    expected = realized(BINARY, p, y)
    assert got == pytest.approx(expected, abs=1e-12)
    palette = rng.dirichlet([1.0, 1.0, 1.0], 12)  # few distinct rows: tied scores in every column
    p3 = palette[rng.integers(0, 12, 300)]
    y3 = np.minimum((rng.random((300, 1)) > np.cumsum(p3, axis=1)).sum(axis=1), 2).astype(float)
    got = _metrics(p3.argmax(axis=1), np.eye(3)[y3.astype(int)], p3)
    expected = realized(MULTI, p3, y3)
    assert got == pytest.approx(expected, abs=1e-12)


def test_isotonic_curve_applies_as_scikit_learn_predicts():
    rng = np.random.default_rng(6)
    p, y = squared(rng, 2000)
    calibration = fit_calibration(BINARY, {"1": p}, y, calibrate=True)
    curve = calibration.curves[0]
    assert curve is not None
    model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(p, y)
    probe = np.concatenate([rng.random(500), [-1.0, 0.0, 1.0, 2.0]])
    np.testing.assert_allclose(curve.apply(probe), model.predict(probe), atol=1e-12)


def test_missing_scores_are_left_out():
    rng = np.random.default_rng(7)
    calibration = fitted(BINARY, uniform, rng)
    p, _ = uniform(rng, 400)
    holes = p.copy()
    holes[::7] = np.nan
    kept = holes[~np.isnan(holes)]
    with_holes = estimate_performance(BINARY, calibration, {"1": holes})
    assert with_holes == estimate_performance(BINARY, calibration, {"1": kept})
    assert all(e.rows == kept.size for e in with_holes)
    # Multiclass: a row missing any class's score is left out.
    calibration = fitted(MULTI, dirichlet, rng)
    p3, _ = dirichlet(rng, 300)
    p3[5, 1] = np.nan
    estimates = estimate_performance(MULTI, calibration, as_scores(MULTI, p3))
    assert {e.rows for e in estimates} == {299}
    assert estimates == estimate_performance(MULTI, calibration, as_scores(MULTI, np.delete(p3, 5, axis=0)))


def test_empty_and_single_row_windows():
    rng = np.random.default_rng(8)
    calibration = fitted(BINARY, uniform, rng)
    assert estimate_performance(BINARY, calibration, {"1": np.array([])}) == ()
    assert estimate_performance(BINARY, calibration, {"1": np.array([np.nan, np.nan])}) == ()
    single = estimate_performance(BINARY, calibration, {"1": np.array([0.9])})
    assert [e.metric for e in single] == list(METRICS)
    for e in single:
        assert e.rows == 1
        assert 0.0 <= e.lower <= e.value <= e.upper <= 1.0
    assert by_metric(single)["roc_auc"].value == 0.5  # one row ranks nothing
    assert by_metric(single)["accuracy"].value == pytest.approx(
        calibration.curves[0].apply(np.array([0.9]))[0]
    )


def test_reference_of_one_class():
    """Every label negative: the curve maps every score to 0, so a prediction is right iff negative."""
    rng = np.random.default_rng(9)
    p = rng.random(1000)
    calibration = fit_calibration(BINARY, {"1": p}, np.zeros(1000))
    assert calibration.curves[0] is not None
    assert set(calibration.curves[0].y) == {0.0}
    assert "roc_auc" not in calibration.reference_chunk_std  # no chunk had both classes
    window = rng.random(200)
    estimates = by_metric(estimate_performance(BINARY, calibration, {"1": window}))
    assert "roc_auc" not in estimates  # no expected positives
    assert estimates["accuracy"].value == pytest.approx(np.mean(window < 0.5))
    # Every row is expected negative; those predicted negative are found, class 1 has no support.
    assert estimates["recall_macro"].value == pytest.approx(np.mean(window < 0.5) / 2)
    # Without calibration the scores are used as they are; ROC AUC has no reference spread: [0, 1].
    raw = fit_calibration(BINARY, {"1": p}, np.zeros(1000), calibrate=False)
    auc = by_metric(estimate_performance(BINARY, raw, {"1": window}))["roc_auc"]
    assert (auc.lower, auc.upper) == (0.0, 1.0)


def test_short_reference_is_cut_into_two_chunks():
    rng = np.random.default_rng(10)
    calibration = fitted(BINARY, uniform, rng, rows=600)
    assert calibration.chunk_size == 300
    assert calibration.reference_rows == 600
    assert set(calibration.reference_chunk_std) == set(METRICS)
    tiny = fitted(BINARY, uniform, rng, rows=3)
    assert tiny.chunk_size == 1


def test_unusable_reference_rows_are_left_out():
    rng = np.random.default_rng(11)
    p, y = uniform(rng, 1200)
    p[:10] = np.nan
    y[10:20] = np.nan
    y[20:30] = -1
    calibration = fit_calibration(BINARY, {"1": p}, y)
    assert calibration.reference_rows == 1170


@pytest.mark.parametrize("quality", [BINARY, MULTI])
def test_round_trip_through_json(quality):
    rng = np.random.default_rng(12)
    generate = uniform if quality is BINARY else dirichlet
    for calibrate in (None, True, False):
        calibration = fitted(quality, generate, rng, rows=2000, calibrate=calibrate)
        text = json.dumps(calibration_to_dict(calibration), allow_nan=False)
        restored = calibration_from_dict(json.loads(text))
        assert restored == calibration
        p, _ = generate(rng, 300)
        scores = as_scores(quality, p)
        assert estimate_performance(quality, restored, scores) == estimate_performance(
            quality, calibration, scores
        )


def test_invalid_inputs():
    rng = np.random.default_rng(13)
    p, y = uniform(rng, 100)
    with pytest.raises(ValueError, match="classification"):
        fit_calibration(QualitySpec(Task.REGRESSION, "y", prediction="v"), {"1": p}, y)
    with pytest.raises(ValueError, match="probability"):
        fit_calibration(
            QualitySpec(Task.CLASSIFICATION, "y", ("a", "b", "c"), scores={"a": "pa"}), {"a": p}, y
        )
    with pytest.raises(ValueError, match="lack"):
        fit_calibration(BINARY, {"0": p}, y)
    with pytest.raises(ValueError, match="two"):
        fit_calibration(BINARY, {"1": p[:1]}, y[:1])
    calibration = fit_calibration(BINARY, {"1": p}, y)
    with pytest.raises(ValueError, match="calibration is for"):
        estimate_performance(MULTI, calibration, {"a": p, "b": p, "c": p})


def test_public_types():
    estimate = PerformanceEstimate("accuracy", 0.8, 0.7, 0.9, 10)
    assert estimate.metric in METRICS
    assert Calibration.__slots__
