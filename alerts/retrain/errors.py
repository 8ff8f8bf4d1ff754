"""The retraining service's exceptions: one tree, rooted at :class:`RetrainError`."""

from __future__ import annotations

__all__ = ["AuthError", "DeliveryError", "PayloadError", "RetrainError", "TargetConfigError"]


class RetrainError(Exception):
    """Base of every error the retraining service raises."""


class AuthError(RetrainError):
    """A webhook call that is not authenticated: missing or wrong token, bad signature, stale timestamp.

    ``status`` is the HTTP status to answer with (401).
    """

    def __init__(self, message: str, status: int = 401, reason: str = "unauthorized") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason  # the label of the service's rejection counter


class PayloadError(RetrainError):
    """A webhook body that is not a valid Alertmanager notification; ``status`` is 400, 413 or 415."""

    def __init__(self, message: str, status: int = 400, reason: str = "malformed") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class TargetConfigError(RetrainError):
    """A model's retraining target is configured wrongly (missing option, unreadable secret, bad template)."""


class DeliveryError(RetrainError):
    """A delivery attempt failed. ``retryable`` is False when trying again cannot help (a 4xx but 408/429)."""

    def __init__(self, message: str, *, retryable: bool = True, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
