"""The collectors' exception tree."""

from __future__ import annotations

__all__ = ["CollectorError"]


class CollectorError(Exception):
    """A collector is misconfigured (a bad root or setting); absent sources are not errors."""
