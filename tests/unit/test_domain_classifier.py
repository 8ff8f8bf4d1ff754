"""The domain classifier tells current rows from reference rows when, and only when, the data drifted."""

import math

import numpy as np
import pandas as pd
import pytest

from drift.core.domain_classifier import (
    SPREAD_INFLATION,
    DomainClassifierScore,
    domain_classifier_drift,
    null_auc_upper,
)

NUMERIC = ("a", "b", "c")


def normal(rng, rows, mean=(0.0, 0.0, 0.0)):
    cov = [[1.0, 0.5, 0.2], [0.5, 1.0, 0.3], [0.2, 0.3, 1.0]]
    return pd.DataFrame(rng.multivariate_normal(mean, cov, rows), columns=list(NUMERIC))


def correlated(rng, rows, correlation):
    cov = [[1.0, correlation], [correlation, 1.0]]
    return pd.DataFrame(rng.multivariate_normal([0.0, 0.0], cov, rows), columns=["x", "y"])


def categories(rng, rows, p, values=("red", "green", "blue")):
    return pd.DataFrame({"colour": rng.choice(list(values), size=rows, p=p), "n": rng.normal(0, 1, rows)})


def score(reference, current, numeric=NUMERIC, categorical=(), **kwargs) -> DomainClassifierScore:
    result = domain_classifier_drift(reference, current, numeric, categorical, **kwargs)
    assert result is not None
    return result


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_same_distribution_is_not_drift(seed):
    rng = np.random.default_rng(seed)
    result = score(normal(rng, 1000), normal(rng, 1000), seed=seed)
    assert not result.drifted
    assert result.auc < result.upper
    assert abs(result.auc - 0.5) < 0.05
    assert (result.reference_rows, result.current_rows) == (1000, 1000)


def test_correlation_flip_is_drift_with_unchanged_marginals():
    rng = np.random.default_rng(0)
    reference, current = correlated(rng, 2000, +0.9), correlated(rng, 2000, -0.9)
    # Each column alone looks the same on both sides: the change is only in how they move together.
    for name in ("x", "y"):
        assert abs(reference[name].mean() - current[name].mean()) < 0.1
        assert abs(reference[name].std() - current[name].std()) < 0.1
        alone = score(reference, current, numeric=(name,))
        assert not alone.drifted
    result = score(reference, current, numeric=("x", "y"))
    assert result.drifted
    assert result.auc > 0.9


def test_one_shifted_column_is_drift():
    rng = np.random.default_rng(1)
    result = score(normal(rng, 1000), normal(rng, 1000, mean=(0.0, 0.5, 0.0)))
    assert result.drifted
    assert result.auc > result.upper


def test_changed_category_frequencies_are_drift():
    rng = np.random.default_rng(2)
    reference = categories(rng, 1500, [0.5, 0.3, 0.2])
    same = score(reference, categories(rng, 1500, [0.5, 0.3, 0.2]), numeric=("n",), categorical=("colour",))
    changed = score(
        reference, categories(rng, 1500, [0.3, 0.3, 0.4]), numeric=("n",), categorical=("colour",)
    )
    assert not same.drifted
    assert changed.drifted


def test_category_unseen_in_reference_is_drift_not_an_error():
    rng = np.random.default_rng(3)
    reference = categories(rng, 1000, [0.5, 0.3, 0.2])
    current = categories(rng, 1000, [0.4, 0.2, 0.2, 0.2], values=("red", "green", "blue", "violet"))
    result = score(reference, current, numeric=(), categorical=("colour",))
    assert result.drifted
    assert result.auc > 0.55  # a fifth of current rows carry a value the reference never has


def test_more_categories_than_the_model_takes():
    rng = np.random.default_rng(4)
    ids = np.array([f"user-{i}" for i in range(2000)])
    reference = pd.DataFrame({"user": rng.choice(ids, 1000), "n": rng.normal(0, 1, 1000)})
    current = pd.DataFrame({"user": rng.choice(ids, 1000), "n": rng.normal(0, 1, 1000)})
    result = score(reference, current, numeric=("n",), categorical=("user",))
    assert not result.drifted


def test_categories_compare_as_strings_and_keep_missing_apart():
    rng = np.random.default_rng(5)
    codes = rng.choice([1, 2, 3], 1000)
    reference = pd.DataFrame({"code": codes})
    current = pd.DataFrame({"code": pd.Series(rng.choice(["1", "2", "3"], 1000), dtype="category")})
    assert not score(reference, current, numeric=(), categorical=("code",)).drifted
    # Missing is missing however a frame spells it (None, NaN in a categorical), not a category
    # named "None" or "nan" that would differ between the sides.
    with_none = reference.assign(code=reference["code"].astype(object).where(rng.random(1000) > 0.3, None))
    with_nan = current.assign(code=current["code"].where(rng.random(1000) > 0.3))
    assert with_none["code"].isna().sum() > 200 and with_nan["code"].isna().sum() > 200
    assert not score(with_none, with_nan, numeric=(), categorical=("code",)).drifted


def test_same_inputs_same_score():
    rng = np.random.default_rng(6)
    reference, current = normal(rng, 3000), normal(rng, 3000, mean=(0.1, 0.0, 0.0))
    first = score(reference, current, max_rows=2000, seed=7)
    again = score(reference.copy(), current.copy(), max_rows=2000, seed=7)
    assert first == again
    assert (first.reference_rows, first.current_rows) == (2000, 2000)


def test_row_order_does_not_change_a_clear_decision():
    rng = np.random.default_rng(7)
    reference, current = correlated(rng, 1500, +0.9), correlated(rng, 1500, -0.9)
    ordered = score(reference, current, numeric=("x", "y"))
    shuffled = score(
        reference.sample(frac=1.0, random_state=1),
        current.sample(frac=1.0, random_state=2),
        numeric=("x", "y"),
    )
    assert ordered.drifted and shuffled.drifted
    assert shuffled.auc == pytest.approx(ordered.auc, abs=0.02)


def test_too_few_rows_or_no_columns_is_none():
    rng = np.random.default_rng(8)
    frame = normal(rng, 100)
    assert domain_classifier_drift(frame.head(9), frame, NUMERIC, (), folds=5) is None
    assert domain_classifier_drift(frame, frame.head(9), NUMERIC, (), folds=5) is None
    assert domain_classifier_drift(frame.head(10), frame.tail(10), NUMERIC, (), folds=5) is not None
    assert domain_classifier_drift(frame, frame, (), ()) is None
    assert domain_classifier_drift(frame.iloc[:0], frame, NUMERIC, ()) is None


def test_all_missing_and_constant_columns_carry_no_signal():
    rng = np.random.default_rng(9)
    reference = normal(rng, 500).assign(empty=np.nan, flat=7.0, none=None, same="x")
    current = normal(rng, 500).assign(empty=np.nan, flat=7.0, none=None, same="x")
    result = score(reference, current, numeric=(*NUMERIC, "empty", "flat"), categorical=("none", "same"))
    assert not result.drifted
    # With nothing but such columns there is nothing to learn: every row gets the same score.
    nothing = score(reference, current, numeric=("empty", "flat"), categorical=("none", "same"))
    assert nothing.auc == 0.5
    assert not nothing.drifted


def test_a_column_known_only_in_a_few_rows():
    rng = np.random.default_rng(10)
    reference, current = normal(rng, 200), normal(rng, 200)
    reference["sparse"] = np.nan
    reference.loc[reference.index[0], "sparse"] = 1.0  # most training folds see no value at all
    current["sparse"] = np.nan
    assert not score(reference, current, numeric=(*NUMERIC, "sparse")).drifted


def test_infinities_are_missing_values():
    rng = np.random.default_rng(11)
    reference, current = normal(rng, 800), normal(rng, 800)
    reference.loc[reference.index[::10], "a"] = np.inf
    current.loc[current.index[::10], "a"] = -np.inf
    current["b"] = current["b"].astype(object)
    current.loc[current.index[1], "b"] = "not a number"  # coerced to missing
    result = score(reference, current)
    assert math.isfinite(result.auc)
    assert not result.drifted  # +inf on one side, -inf on the other: both missing alike


def test_column_missing_from_current_is_all_missing_there():
    rng = np.random.default_rng(12)
    reference, current = normal(rng, 500), normal(rng, 500).drop(columns=["c"])
    reference["kind"] = rng.choice(["p", "q"], 500)
    result = score(reference, current, numeric=NUMERIC, categorical=("kind",))
    # Values on one side and none on the other: a feature that stopped arriving is drift.
    assert result.drifted
    assert result.auc > 0.99
    # Absent from both sides, a column is simply empty.
    assert not score(reference.drop(columns=["c"]), current, numeric=NUMERIC).drifted


def test_upper_is_the_mann_whitney_band():
    assert null_auc_upper(100, 400, z=3.0) == pytest.approx(0.5 + 3 * math.sqrt(501 / (12 * 100 * 400)))
    assert null_auc_upper(100, 400, z=3.0) == pytest.approx(0.59692, abs=1e-5)
    assert null_auc_upper(5000, 5000, z=2.0) == pytest.approx(0.5 + 2 * math.sqrt(10001 / 300_000_000))
    rng = np.random.default_rng(13)
    result = score(normal(rng, 100), normal(rng, 400), z=2.5)  # balanced: 100 rows a side
    assert (result.reference_rows, result.current_rows) == (100, 100)
    assert result.upper == pytest.approx(0.5 + 2.5 * SPREAD_INFLATION * math.sqrt(201 / 120_000))
    assert result.drifted == (result.auc > result.upper)
