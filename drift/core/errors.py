"""The drift package's exception tree: every error it raises derives from ``DriftError``."""

from __future__ import annotations

__all__ = ["DriftError", "ReferenceDataError", "StatisticError"]


class DriftError(Exception):
    """Base of every error raised by the ``drift`` package."""


class ReferenceDataError(DriftError):
    """A reference dataset cannot be read or does not fit the model."""


class StatisticError(DriftError):
    """A statistic was asked for that does not exist."""
