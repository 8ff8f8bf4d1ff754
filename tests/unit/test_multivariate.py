"""PCA reconstruction error catches drift hidden in correlations, which per-column tests cannot see."""

import numpy as np
import pandas as pd

from agent.catalog.load import parse_catalog
from drift.core.compute import compute_window
from drift.core.multivariate import fit_pca_reconstruction, reconstruction_error
from drift.core.reference import build_reference, reference_from_table, reference_to_table
from drift.core.results import WindowKey

MODEL = parse_catalog(
    "models: [{namespace: t, name: m, features: [{name: x, type: float}, {name: y, type: float},"
    " {name: z, type: float}]}]"
).models["t/m"]


def correlated(rng, rows, sign):
    x = rng.normal(0, 1, rows)
    y = sign * x + rng.normal(0, 0.2, rows)
    return pd.DataFrame({"x": x, "y": y, "z": rng.normal(0, 1, rows)})


def window(frame):
    return frame.add_prefix("feature.")


def test_correlation_flip_is_multivariate_drift_but_not_column_drift():
    rng = np.random.default_rng(0)
    reference = build_reference(correlated(rng, 5000, +1), MODEL)
    same = compute_window(MODEL, WindowKey("t/m", "v1", 0), 1, window(correlated(rng, 1000, +1)), reference)
    flipped = compute_window(
        MODEL, WindowKey("t/m", "v1", 1), 2, window(correlated(rng, 1000, -1)), reference
    )
    assert not any(c.drifted for c in flipped.columns)  # marginals unchanged: x ~ N(0,1), y ~ N(0, ~1)
    for method in ("pca_reconstruction", "domain_classifier"):
        before, after = same.multivariate_by(method), flipped.multivariate_by(method)
        assert before is not None and not before.drifted, method
        assert after is not None and after.drifted, method
    pca = flipped.multivariate_by("pca_reconstruction")
    assert pca is not None and pca.score > 1.5 * pca.upper  # far outside the band
    classifier = flipped.multivariate_by("domain_classifier")
    assert classifier is not None and classifier.score > 0.9  # it tells the two apart almost surely


def test_undrifted_heavy_tailed_windows_rarely_leave_the_pca_band():
    from deploy.demo_data import demo_batch, demo_reference

    columns = ("income", "age", "debt_ratio", "credit_lines")
    pca = fit_pca_reconstruction(demo_reference(), columns)
    assert pca is not None
    rng = np.random.default_rng(5)
    alarms = trials = 0
    for rows in (50, 500, 5000, 20_000):
        for _ in range(50):
            features, _ = demo_batch(rng, rows, drifted=False)
            error = reconstruction_error(pca, pd.DataFrame(features))
            lower, upper = pca.band(rows)
            alarms += not lower <= error <= upper
            trials += 1
    # Fitting and measuring on the same rows made half of the 20,000-row windows (the demo's) alarm.
    assert alarms / trials <= 0.02


def test_fitted_reconstruction_survives_the_profile_file():
    rng = np.random.default_rng(1)
    reference = build_reference(correlated(rng, 2000, +1), MODEL)
    loaded = reference_from_table(reference_to_table(reference))
    frame = window(correlated(rng, 500, -1))
    a = compute_window(MODEL, WindowKey("t/m", "v1", 0), 1, frame, reference).multivariate
    b = compute_window(MODEL, WindowKey("t/m", "v1", 0), 1, frame, loaded).multivariate
    assert a == b and {m.method for m in a} == {"pca_reconstruction", "domain_classifier"}


def test_missing_and_non_finite_values_take_the_reference_mean():
    rng = np.random.default_rng(2)
    reference = build_reference(correlated(rng, 2000, +1), MODEL)
    frame = correlated(rng, 200, +1)
    frame.loc[:20, "x"] = np.nan
    frame.loc[21:30, "y"] = np.inf
    result = compute_window(
        MODEL, WindowKey("t/m", "v1", 0), 1, window(frame).drop(columns=["feature.z"]), reference
    )
    assert result.multivariate and all(np.isfinite(m.score) for m in result.multivariate)
