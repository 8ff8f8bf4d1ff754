"""Names of the drift statistics a catalog may ask for.

The aggregator's registry (``drift.core.statistics``) implements exactly these, plus ``auto``
(Evidently's default choice per column); a unit test keeps the two equal. The list lives here so
the catalog validates without importing the aggregator.
"""

from __future__ import annotations

__all__ = ["AUTO", "KNOWN_STATISTICS"]

AUTO = "auto"

KNOWN_STATISTICS: frozenset[str] = frozenset(
    {
        "ks",
        "chisquare",
        "z",
        "wasserstein",
        "jensenshannon",
        "psi",
        "kl_div",
        "hellinger",
        "anderson",
        "cramer_von_mises",
        "ed",
        "empirical_mmd",
        "t_test",
        "fisher_exact",
    }
)
