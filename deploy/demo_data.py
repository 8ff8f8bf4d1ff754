"""Synthetic traffic of the demo model ``demo/credit-risk``, with drift that can be switched on."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["REGIONS", "demo_batch", "demo_features", "demo_labels", "demo_reference", "demo_scores"]

REGIONS = np.array(["north", "south", "east", "west"])


def demo_features(rng: np.random.Generator, rows: int, *, drifted: bool) -> dict[str, np.ndarray]:
    """Features of ``rows`` applicants. Drift raises income and age, so the score moves too."""
    return {
        "income": rng.lognormal(10.5, 0.4, rows) * (1.6 if drifted else 1.0),
        "age": np.clip(rng.normal(48 if drifted else 40, 12, rows), 18, 90).astype(np.int64),
        "debt_ratio": rng.beta(2, 5, rows),
        "credit_lines": rng.poisson(4, rows).astype(np.int64),
        "region": REGIONS[rng.integers(0, len(REGIONS), rows)],
    }


def demo_scores(features: dict[str, np.ndarray], calibration: tuple[float, float] = (1.0, 0.0)) -> np.ndarray:
    """The demo model itself: a logistic score of default risk. Version 1 is the fixed score; a
    retrained version recalibrates it, ``sigmoid(slope × logit + intercept)`` (Platt scaling)."""
    income, age = np.asarray(features["income"], float), np.asarray(features["age"], float)
    debt_ratio = np.asarray(features["debt_ratio"], float)
    credit_lines = np.asarray(features["credit_lines"], float)
    logit = -2.0 + 3.0 * debt_ratio - 0.00002 * (income - 36_000) + 0.02 * (age - 40) + 0.1 * credit_lines
    slope, intercept = calibration
    return np.asarray(1.0 / (1.0 + np.exp(-(slope * logit + intercept))))


def demo_batch(
    rng: np.random.Generator, rows: int, *, drifted: bool
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Features and outputs of ``rows`` predictions."""
    features = demo_features(rng, rows, drifted=drifted)
    return features, {"score": demo_scores(features)}


def demo_reference(rows: int = 20_000, seed: int = 7) -> pd.DataFrame:
    """The training data the demo model's reference profile is built from, with its labels."""
    rng = np.random.default_rng(seed)
    features, outputs = demo_batch(rng, rows, drifted=False)
    return pd.DataFrame(features | outputs | {"defaulted": demo_labels(rng, outputs["score"], drifted=False)})


def demo_labels(rng: np.random.Generator, scores: np.ndarray, *, drifted: bool) -> np.ndarray:
    """Whether each customer defaulted. The model is calibrated until the drift, which also changes
    the world: defaults become far more likely than its scores say, so its accuracy drops."""
    logit = np.log(scores / (1.0 - scores))
    truth = 1.0 / (1.0 + np.exp(-(logit + (2.0 if drifted else 0.0))))
    return (rng.random(scores.size) < truth).astype(np.int64)
