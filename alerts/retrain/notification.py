"""Alertmanager's webhook notification (payload version 4), parsed and validated.

Alertmanager posts one notification per alert group. Its shape (``notify/webhook`` in Alertmanager)::

    {"version": "4", "groupKey": "...", "truncatedAlerts": 0, "status": "firing" | "resolved",
     "receiver": "...", "groupLabels": {...}, "commonLabels": {...}, "commonAnnotations": {...},
     "externalURL": "...",
     "alerts": [{"status": "firing" | "resolved", "labels": {...}, "annotations": {...},
                 "startsAt": "RFC 3339", "endsAt": "RFC 3339", "generatorURL": "...",
                 "fingerprint": "hex"}]}

Anything else is a :class:`PayloadError` (HTTP 400) that says which field is wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alerts.retrain.errors import PayloadError

__all__ = ["Alert", "Notification", "parse_notification"]

_FINGERPRINT = re.compile(r"^[0-9a-f]{1,64}$")
_STATUSES = ("firing", "resolved")


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert of a notification. ``starts_at`` is Unix time; with ``fingerprint`` it names the incident."""

    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: float
    ends_at: float | None
    generator_url: str
    fingerprint: str

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def incident(self) -> tuple[str, float]:
        """The same alert series, firing since the same time: Alertmanager's repeats share it."""
        return self.fingerprint, self.starts_at

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "labels": self.labels,
            "annotations": self.annotations,
            "startsAt": self.starts_at,
            "endsAt": self.ends_at,
            "generatorURL": self.generator_url,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True, slots=True)
class Notification:
    group_key: str
    status: str
    receiver: str
    external_url: str
    alerts: tuple[Alert, ...]
    truncated_alerts: int = 0


def _strings(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise PayloadError(f"{where} must be an object of strings")
    return dict(value)


def _time(value: Any, where: str, *, optional: bool = False) -> float | None:
    if optional and (value in (None, "") or str(value).startswith("0001-01-01")):
        return None  # Alertmanager's zero time: no end yet
    if not isinstance(value, str):
        raise PayloadError(f"{where} must be an RFC 3339 time")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise PayloadError(f"{where} is not an RFC 3339 time: {value[:40]!r}") from exc


def _alert(raw: Any, index: int) -> Alert:
    where = f"alerts[{index}]"
    if not isinstance(raw, dict):
        raise PayloadError(f"{where} must be an object")
    status = raw.get("status")
    if status not in _STATUSES:
        raise PayloadError(f"{where}.status must be 'firing' or 'resolved'")
    fingerprint = raw.get("fingerprint")
    if not isinstance(fingerprint, str) or not _FINGERPRINT.match(fingerprint):
        raise PayloadError(f"{where}.fingerprint must be Alertmanager's hex fingerprint")
    labels = _strings(raw.get("labels"), f"{where}.labels")
    if not labels.get("alertname"):
        raise PayloadError(f"{where}.labels must have an alertname")
    starts = _time(raw.get("startsAt"), f"{where}.startsAt")
    assert starts is not None
    generator = raw.get("generatorURL", "")
    return Alert(
        status=status,
        labels=labels,
        annotations=_strings(raw.get("annotations"), f"{where}.annotations"),
        starts_at=starts,
        ends_at=_time(raw.get("endsAt"), f"{where}.endsAt", optional=True),
        generator_url=generator if isinstance(generator, str) else "",
        fingerprint=fingerprint,
    )


def parse_notification(body: bytes) -> Notification:
    """Parse a webhook body; raises :class:`PayloadError` on anything that is not a v4 notification."""
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"the body is not JSON: {exc}") from exc
    except RecursionError:
        raise PayloadError("the body nests too deeply") from None
    if not isinstance(raw, dict):
        raise PayloadError("the body must be a JSON object")
    if raw.get("version") != "4":
        raise PayloadError(f"unsupported notification version {raw.get('version')!r} (expected '4')")
    group_key = raw.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        raise PayloadError("groupKey must be a non-empty string")
    status = raw.get("status")
    if status not in _STATUSES:
        raise PayloadError("status must be 'firing' or 'resolved'")
    alerts = raw.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("alerts must be a list")
    truncated = raw.get("truncatedAlerts", 0)
    return Notification(
        group_key=group_key,
        status=status,
        receiver=str(raw.get("receiver", "")),
        external_url=str(raw.get("externalURL", "")),
        alerts=tuple(_alert(a, i) for i, a in enumerate(alerts)),
        truncated_alerts=truncated if isinstance(truncated, int) else 0,
    )
