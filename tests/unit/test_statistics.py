import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from drift.core.statistics import NumericReference, normed_wasserstein, wasserstein_distance_sorted

RNG = np.random.default_rng(11)
SAMPLES = {
    "normal": lambda n: RNG.normal(0, 1, n),
    "shifted": lambda n: RNG.normal(0.7, 1, n),
    "scaled": lambda n: RNG.normal(0, 3, n),
    "heavy_tailed": lambda n: RNG.standard_t(2, n),
    "bimodal": lambda n: np.concatenate([RNG.normal(-2, 0.5, n // 2), RNG.normal(2, 0.5, n - n // 2)]),
    "integers": lambda n: RNG.integers(0, 5, n).astype(float),
    "constant": lambda n: np.full(n, 3.0),
}


def evidently_wasserstein_norm(reference: np.ndarray, current: np.ndarray) -> float:
    """Evidently 0.7's ``wasserstein`` stattest, written out: SciPy's distance over max(std, 0.001)."""
    return stats.wasserstein_distance(reference, current) / max(np.std(reference), 0.001)


@pytest.mark.parametrize("reference_kind", sorted(SAMPLES))
@pytest.mark.parametrize("current_kind", ["normal", "shifted", "bimodal", "integers"])
@pytest.mark.parametrize("size", [30, 1_000, 100_000])
def test_normed_wasserstein_equals_scipy_based_formula(reference_kind, current_kind, size):
    reference = SAMPLES[reference_kind](size)
    current = SAMPLES[current_kind](max(30, size // 2))
    ours = normed_wasserstein(NumericReference.from_values(reference), np.sort(current)).score
    assert ours == pytest.approx(evidently_wasserstein_norm(reference, current), abs=1e-9, rel=0)


def test_shifted_feature_drifts_and_unshifted_does_not():
    reference = NumericReference.from_values(RNG.normal(0, 1, 20_000))
    same = normed_wasserstein(reference, np.sort(RNG.normal(0, 1, 2_000))).score
    shifted = normed_wasserstein(reference, np.sort(RNG.normal(0.5, 1, 2_000))).score
    assert same < 0.1 <= shifted


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60),
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60),
)
def test_distance_is_symmetric_order_free_and_zero_on_identical_samples(u, v):
    u_sorted, v_sorted = np.sort(np.array(u)), np.sort(np.array(v))
    d = wasserstein_distance_sorted(u_sorted, v_sorted)
    assert d == pytest.approx(stats.wasserstein_distance(u, v), abs=1e-9 * max(1.0, abs(d)))
    assert d == pytest.approx(wasserstein_distance_sorted(v_sorted, u_sorted), abs=1e-9 * max(1.0, d))
    assert wasserstein_distance_sorted(u_sorted, u_sorted) == 0.0
