"""Sampling by request id: deterministic, and the chosen share is the configured fraction."""

import pytest

from agent.sampling import Sampler


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.25, 0.5, 1.0])
def test_the_captured_share_is_the_fraction_and_the_choice_is_stable(fraction):
    ids = [f"req-{i}" for i in range(100_000)]
    sampler = Sampler(fraction)
    chosen = [sampler(i) for i in ids]
    share = sum(chosen) / len(ids)
    assert abs(share - fraction) < 0.01  # binomial sd at 100k ids is at most 0.0016
    assert chosen == [Sampler(fraction)(i) for i in ids]  # the same ids on every pod and retry


def test_nested_fractions_choose_subsets_and_bad_fractions_are_refused():
    ids = [f"id{i}" for i in range(10_000)]
    small, large = Sampler(0.1), Sampler(0.3)
    assert all(large(i) for i in ids if small(i))  # raising the fraction only adds ids
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError):
            Sampler(bad)
