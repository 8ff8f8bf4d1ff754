"""The fixed-bucket histograms: buckets add up to the count, a value on a bound is in its bucket."""

import numpy as np

from agent.metric_catalog import LATENCY_BUCKETS
from drift.adapters.stats import Histogram


def test_buckets_are_cumulative_and_add_up_to_the_count():
    rng = np.random.default_rng(0)
    histogram = Histogram(LATENCY_BUCKETS)
    values = rng.gamma(2.0, 0.05, 10_000)
    histogram.observe(values[:4000])
    histogram.observe(np.concatenate([values[4000:], [np.nan, np.inf]]))  # non-finite: not counted
    buckets = histogram.cumulative()
    assert [le for le, _ in buckets] == [repr(float(b)) for b in LATENCY_BUCKETS] + ["+Inf"]
    counts = [count for _, count in buckets]
    assert counts == sorted(counts) and counts[-1] == histogram.count == 10_000
    for bound, (_, count) in zip(LATENCY_BUCKETS, buckets, strict=False):
        assert count == int(np.count_nonzero(values <= bound))  # Prometheus ``le``
    assert histogram.total == np.float64(np.sum(values)) or abs(histogram.total - np.sum(values)) < 1e-9


def test_a_value_on_a_bound_belongs_to_that_bound():
    histogram = Histogram((0.1, 1.0))
    histogram.observe(np.array([0.1, 1.0, 1.5]))
    assert histogram.cumulative() == [("0.1", 1), ("1.0", 2), ("+Inf", 3)]
