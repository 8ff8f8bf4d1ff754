"""Every statistic equals Evidently 0.7.23's on the same column, to 1e-9, with the same drift decision.

Evidently drops NaN and infinities before a test; the samples here are given to it that way, as
its DataDriftPreset does (``get_one_column_drift``).
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from agent.catalog.statistics import KNOWN_STATISTICS
from drift.core.statistics import STATISTICS, ColumnKind, ColumnProfile, default_statistic
from drift.core.statistics.mmd import MAX_SAMPLE
from drift.core.statistics.wasserstein import cdf_distance, wasserstein_distance_sorted
from tests.oracle import ColumnType, _get_default_stattest, get_registered_stattest

NUMERIC_SAMPLES = {
    "normal": lambda r, n: r.normal(0, 1, n),
    "shifted": lambda r, n: r.normal(0.6, 1, n),
    "scaled": lambda r, n: r.normal(0, 2.5, n),
    "heavy_tailed": lambda r, n: r.standard_t(2, n),
    "bimodal": lambda r, n: np.concatenate([r.normal(-2, 0.5, n // 2), r.normal(2, 0.5, n - n // 2)]),
    "integers": lambda r, n: r.integers(0, 5, n).astype(float),
    "binary_numbers": lambda r, n: r.integers(0, 2, n).astype(float),
    "constant": lambda r, n: np.full(n, 3.0),
    "with_nan_inf": lambda r, n: np.where(
        r.random(n) < 0.1, np.nan, np.where(r.random(n) < 0.02, np.inf, r.normal(0, 1, n))
    ),
}
CATEGORICAL_SAMPLES = {
    "binary": lambda r, n: r.choice(["no", "yes"], n, p=[0.7, 0.3]),
    "binary_shifted": lambda r, n: r.choice(["no", "yes"], n, p=[0.4, 0.6]),
    "many": lambda r, n: r.choice([f"c{i}" for i in range(40)], n),
    "rare": lambda r, n: r.choice(["a", "b", "c", "rare1", "rare2"], n, p=[0.5, 0.3, 0.19, 0.007, 0.003]),
    "unseen": lambda r, n: r.choice(["a", "b", "new"], n),
}
SIZES = [30, 1_000, 100_000]


def _evidently(name: str, reference: pd.Series, current: pd.Series, column_type: ColumnType):
    """Evidently's result, or None where Evidently raises (ours must still give a defined result)."""
    test = get_registered_stattest(name, column_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return test(reference, current, column_type, None)
        except (ValueError, ZeroDivisionError):
            return None


def _clean(values: np.ndarray) -> pd.Series:
    return pd.Series(values).replace([np.inf, -np.inf], np.nan).dropna()


def _cases():
    for size in SIZES:
        current_size = max(30, size // 3)
        for ref_name in NUMERIC_SAMPLES:
            for cur_name in ("normal", "shifted", "integers", ref_name):
                yield pytest.param(
                    "numeric", ref_name, cur_name, size, current_size, id=f"num-{ref_name}-{cur_name}-{size}"
                )
        for ref_name in CATEGORICAL_SAMPLES:
            for cur_name in ("binary", "many", "rare", "unseen", ref_name):
                yield pytest.param(
                    "categorical",
                    ref_name,
                    cur_name,
                    size,
                    current_size,
                    id=f"cat-{ref_name}-{cur_name}-{size}",
                )


def _samples(kind: str, ref_name: str, cur_name: str, size: int, current_size: int):
    rng = np.random.default_rng(zlib.crc32(f"{ref_name}/{cur_name}/{size}".encode()))  # not hash(): salted
    table = NUMERIC_SAMPLES if kind == "numeric" else CATEGORICAL_SAMPLES
    return table[ref_name](rng, size), table[cur_name](rng, current_size)


@pytest.mark.parametrize(("kind", "ref_name", "cur_name", "size", "current_size"), list(_cases()))
def test_every_statistic_equals_evidentlys(kind, ref_name, cur_name, size, current_size):
    reference, current = _samples(kind, ref_name, cur_name, size, current_size)
    if kind == "numeric":
        ref_series, cur_series = _clean(reference), _clean(current)
        ref, cur = ColumnProfile.numeric(reference), ColumnProfile.numeric(current)
        column_type, our_kind = ColumnType.Numerical, ColumnKind.NUMERIC
    else:
        ref_series, cur_series = pd.Series(reference), pd.Series(current)
        ref, cur = ColumnProfile.categorical(reference), ColumnProfile.categorical(current)
        column_type, our_kind = ColumnType.Categorical, ColumnKind.CATEGORICAL
    checked = 0
    for name, statistic in STATISTICS.items():
        if not statistic.applies_to(our_kind):
            continue
        expected_type = column_type
        if name in ("chisquare", "z", "fisher_exact") and kind == "numeric":
            expected_type = ColumnType.Categorical  # Evidently registers these for categories only
        if name == "z" and len(set(ref_series) | set(cur_series)) > 2:
            continue  # a two-proportion test: binary columns only
        if name == "fisher_exact":
            if len(set(ref_series) | set(cur_series)) > 2:
                continue
            # Evidently's Fisher needs equal lengths: compare on equal-length samples.
            n = min(len(ref_series), len(cur_series))
            ours = statistic.run(_profile(kind, ref_series[:n]), _profile(kind, cur_series[:n]))
            theirs = _evidently(
                name,
                ref_series[:n].reset_index(drop=True),
                cur_series[:n].reset_index(drop=True),
                expected_type,
            )
        elif name == "empirical_mmd":
            if len(ref_series) > MAX_SAMPLE or len(cur_series) > MAX_SAMPLE:
                continue  # ours subsamples beyond MAX_SAMPLE; Evidently's kernel matrix would need GBs
            ours = statistic.run(ref, cur)
            np.random.seed(0)  # Evidently permutes with NumPy's global generator; ours with RandomState(0)
            theirs = _evidently(name, pd.Series(ref.values), pd.Series(cur.values), expected_type)
        elif name == "cramer_von_mises" and max(len(ref_series), len(cur_series)) <= 20:
            continue
        else:
            ours = statistic.run(ref, cur)
            theirs = _evidently(name, ref_series, cur_series, expected_type)
        if theirs is None:  # Evidently crashes here; ours is defined and says no drift
            assert not statistic.rule.drifted(ours.score, statistic.default_threshold), name
            continue
        assert ours.score == pytest.approx(float(theirs.drift_score), abs=1e-9, rel=0, nan_ok=True), name
        assert statistic.rule.drifted(ours.score, statistic.default_threshold) == bool(theirs.drifted), name
        checked += 1
    assert checked >= 5


def _profile(kind: str, series: pd.Series) -> ColumnProfile:
    return (
        ColumnProfile.numeric(series.to_numpy()) if kind == "numeric" else ColumnProfile.categorical(series)
    )


@pytest.mark.parametrize(("kind", "ref_name", "cur_name", "size", "current_size"), list(_cases()))
def test_default_selection_picks_evidentlys_statistic(kind, ref_name, cur_name, size, current_size):
    reference, current = _samples(kind, ref_name, cur_name, size, current_size)
    if kind == "numeric":
        ref_series, cur_series = _clean(reference), _clean(current)
        ours = default_statistic(ColumnProfile.numeric(reference), ColumnProfile.numeric(current))
        theirs = _get_default_stattest(ref_series, cur_series, ColumnType.Numerical)
    else:
        ours = default_statistic(ColumnProfile.categorical(reference), ColumnProfile.categorical(current))
        theirs = _get_default_stattest(pd.Series(reference), pd.Series(current), ColumnType.Categorical)
    assert ours.name == theirs.name


def test_registry_matches_the_catalog_and_evidentlys_defaults():
    assert set(STATISTICS) == set(KNOWN_STATISTICS)
    for name, statistic in STATISTICS.items():
        kind = (
            ColumnType.Numerical
            if ColumnKind.NUMERIC in statistic.kinds and name not in ("chisquare", "z", "fisher_exact")
            else ColumnType.Categorical
        )
        theirs = get_registered_stattest(name, kind)
        expected = theirs.default_threshold
        assert statistic.default_threshold == expected, name


# --- properties (hypothesis) --------------------------------------------------------------------

finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(st.lists(finite, min_size=2, max_size=60), st.lists(finite, min_size=2, max_size=60))
def test_wasserstein_is_symmetric_and_equals_scipy(u, v):
    u_sorted, v_sorted = np.sort(np.array(u)), np.sort(np.array(v))
    d = wasserstein_distance_sorted(u_sorted, v_sorted)
    assert d == pytest.approx(stats.wasserstein_distance(u, v), abs=1e-9 * max(1.0, abs(d)))
    assert d == pytest.approx(wasserstein_distance_sorted(v_sorted, u_sorted), abs=1e-9 * max(1.0, d))


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(-5, 5).map(float) | finite, min_size=2, max_size=60),
    st.lists(st.integers(-5, 5).map(float) | finite, min_size=2, max_size=60),
)
def test_cdf_distances_from_counts_equal_scipy_when_values_repeat(u, v):
    reference, current = ColumnProfile.numeric(u), ColumnProfile.numeric(v)
    assert cdf_distance(reference, current, 1) == pytest.approx(stats.wasserstein_distance(u, v), abs=1e-9)
    energy = stats.energy_distance(u, v) / np.sqrt(2)
    assert cdf_distance(reference, current, 2) == pytest.approx(energy, abs=1e-9)
    np.testing.assert_array_equal(reference.values, np.sort(u))  # rebuilt from counts when they repeat


# Jensen–Shannon is symmetric in its shares, but Evidently's binning is not: the reference's count of
# distinct values (> 20 or not) picks histogram or per-value bins, so swapping sides can change the bins.
SYMMETRIC = ("ks", "ed", "anderson", "cramer_von_mises", "t_test", "hellinger")


@settings(max_examples=40, deadline=None)
@given(st.lists(finite, min_size=35, max_size=80), st.randoms(use_true_random=False))
def test_identical_samples_show_no_drift_and_order_does_not_matter(values, random):
    ref = ColumnProfile.numeric(np.array(values))
    shuffled = list(values)
    random.shuffle(shuffled)
    cur = ColumnProfile.numeric(np.array(shuffled))
    for name, statistic in STATISTICS.items():
        if not statistic.applies_to(ColumnKind.NUMERIC) or name == "fisher_exact":
            continue
        if name in ("z",) and ref.nunique > 2:
            continue
        result = statistic.run(ref, cur)
        if np.isnan(result.score):
            continue
        assert not statistic.rule.drifted(result.score, statistic.default_threshold), name


@settings(max_examples=40, deadline=None)
@given(st.lists(finite, min_size=35, max_size=80), st.lists(finite, min_size=35, max_size=80))
def test_symmetric_statistics_are_symmetric(u, v):
    a, b = ColumnProfile.numeric(np.array(u)), ColumnProfile.numeric(np.array(v))
    for name in SYMMETRIC:
        statistic = STATISTICS[name]
        ab, ba = statistic.run(a, b).score, statistic.run(b, a).score
        assert ab == pytest.approx(ba, abs=1e-9, nan_ok=True), name
