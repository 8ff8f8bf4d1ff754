"""Helpers of the benchmarks (not a benchmark: `make bench` runs only the top-level scripts)."""
