"""Evidently 0.7.23 as a test oracle, imported once with its import-time deprecation warnings muted.

Evidently is a test dependency only; the suite runs with ``filterwarnings = error``, and Evidently's
import touches deprecated APIs of numpy, litestar and others that are not ours to fix.
"""

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from evidently.legacy.calculations.stattests.registry import (
        _get_default_stattest,
        get_registered_stattest,
    )
    from evidently.legacy.core import ColumnType

__all__ = ["ColumnType", "_get_default_stattest", "get_registered_stattest"]
