"""What every retraining target is: a ``kind`` and a ``deliver`` that starts one pipeline run."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from alerts.retrain.trigger import Delivered, Trigger

__all__ = ["Target"]


@runtime_checkable
class Target(Protocol):
    """Turns a :class:`Trigger` into a pipeline run.

    ``deliver`` may be called again for the same trigger (a retry after a timeout whose request did
    arrive): each request carries ``Idempotency-Key: <trigger.id>`` and, where the API allows it, a name
    derived from the trigger, so that the receiver can tell.

    Raises (from ``deliver``):
        DeliveryError: with ``retryable`` False when trying again cannot help.
    """

    @property
    def kind(self) -> str: ...

    def deliver(self, trigger: Trigger) -> Delivered: ...
