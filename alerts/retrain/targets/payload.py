"""The request content every target shares: the trigger as JSON, and the headers that identify it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from alerts.retrain.errors import DeliveryError
from alerts.retrain.targets.http import USER_AGENT
from alerts.retrain.trigger import Trigger

__all__ = ["common_headers", "encode_json", "evidence_json", "rfc3339", "trigger_payload"]


def rfc3339(timestamp: float) -> str:
    """``2024-05-01T12:00:00.250Z``: UTC with milliseconds, the form CloudEvents' ``time`` expects."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def trigger_payload(trigger: Trigger) -> dict[str, Any]:
    """Flat top-level identity keys (TriggerBindings read ``$(body.model)``) plus the evidence bundle."""
    return {
        "trigger_id": trigger.id,
        "namespace": trigger.namespace,
        "model": trigger.model,
        "version": trigger.version,
        "reason": trigger.reason,
        "created_at": rfc3339(trigger.created_at),
        "evidence": trigger.evidence,
    }


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON; NaN and infinities, which JSON lacks, are refused rather than sent.

    Raises:
        DeliveryError: not retryable (the same evidence would fail again).
    """
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise DeliveryError(f"the trigger is not JSON-serialisable: {exc}", retryable=False) from None
    return text.encode()


def evidence_json(trigger: Trigger) -> str:
    """The evidence as one JSON string, for pipeline parameters and env vars that take strings only."""
    return encode_json(trigger.evidence).decode()


def common_headers(trigger: Trigger, content_type: str = "application/json") -> dict[str, str]:
    return {
        "Content-Type": content_type,
        "Idempotency-Key": trigger.id,
        "User-Agent": USER_AGENT,
    }
