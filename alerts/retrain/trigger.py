"""A retraining trigger: what the outbox stores and a target delivers."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Delivered", "Trigger", "TriggerState"]


class TriggerState(StrEnum):
    """Where a trigger is in its life.

    ``pending`` → (delivery attempts) → ``running`` (the target accepted it: a pipeline run exists)
    → ``completed`` (the run reported back) or ``timed_out`` (no report within ``run_timeout``).
    ``failed``: attempts ran out, or the target refused for good.
    """

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    TIMED_OUT = "timed_out"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Trigger:
    """One request to retrain one model, made from one or more firing alerts.

    Attributes:
        id: unique, stable across retries (a 32-hex uuid4): targets use it as their idempotency key.
        namespace, model: the model's identity.
        version: the version the alerts name, when they agree on one; else None.
        created_at: Unix time the alert was accepted.
        reason: the alert names that caused it, comma-separated, sorted.
        evidence: the JSON-ready evidence bundle (see ``alerts.retrain.evidence``).
        attempt: 1 for the first delivery attempt, 2 for the first retry, ...
    """

    id: str
    namespace: str
    model: str
    version: str | None
    created_at: float
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)
    attempt: int = 1

    @property
    def identity(self) -> str:
        return f"{self.namespace}/{self.model}"


@dataclass(frozen=True, slots=True)
class Delivered:
    """What a target answered when it accepted a trigger.

    Attributes:
        status: the HTTP status of the accepting response.
        run_id: the id the target gave the run (KFP run id, Argo workflow name, Job name), if any.
    """

    status: int
    run_id: str | None = None
