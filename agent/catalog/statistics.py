"""Names of the drift statistics a catalog may ask for.

The aggregator's registry (``drift.core.statistics``) implements exactly these; a unit test keeps
the two equal. The name list lives here so the catalog validates without importing the aggregator.
"""

from __future__ import annotations

__all__ = ["KNOWN_STATISTICS"]

KNOWN_STATISTICS: frozenset[str] = frozenset({"wasserstein"})
