"""An alerting rule together with the cases that prove it: what every rule builder returns.

Annotations are written once, as :class:`Text` with ``{label}`` and ``{value}`` placeholders, and
rendered twice: as a Go template for Prometheus, and expanded for the expected alerts of the
generated ``promtool test rules`` cases. So the tests check the templates Prometheus will expand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AlertRule", "Case", "Check", "Series", "Text", "duration"]

_PLACEHOLDER = re.compile(r"\{(value|[a-z_]+)\}")


@dataclass(frozen=True, slots=True)
class Text:
    """An annotation: ``{namespace}``-style label placeholders and ``{value}`` (printed ``%.3g``)."""

    template: str

    def go(self) -> str:
        def placeholder(match: re.Match[str]) -> str:
            name = match.group(1)
            return '{{ printf "%.3g" $value }}' if name == "value" else f"{{{{ $labels.{name} }}}}"

        return _PLACEHOLDER.sub(placeholder, self.template)

    def expand(self, labels: dict[str, str], value: float) -> str:
        def placeholder(match: re.Match[str]) -> str:
            name = match.group(1)
            return _go_g3(value) if name == "value" else labels.get(name, "")

        return _PLACEHOLDER.sub(placeholder, self.template)


def _go_g3(value: float) -> str:
    """Go's ``%.3g``: as Python's, except that Go writes at least two exponent digits (so does Python)."""
    return f"{value:.3g}"


@dataclass(frozen=True, slots=True)
class Series:
    """An input series of a promtool test: ``metric{labels}`` and values in promtool's expanding notation."""

    metric: str
    labels: dict[str, str]
    values: str

    def selector(self) -> str:
        inner = ", ".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()))
        return f"{self.metric}{{{inner}}}"


@dataclass(frozen=True, slots=True)
class Check:
    """At ``at_seconds``, the rule fires for these alert label sets (each with its ``$value``), or not at all.

    ``alerts`` holds (labels the alert takes from its series, the severity, the expression's value).
    """

    at_seconds: int
    alerts: tuple[tuple[dict[str, str], str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Case:
    """One promtool test: input series sampled every ``interval_seconds`` and checks along the way."""

    name: str
    series: tuple[Series, ...]
    checks: tuple[Check, ...]
    interval_seconds: int = 60


@dataclass(frozen=True, slots=True)
class AlertRule:
    """A Prometheus alerting rule.

    Several rules may share a name (one per severity, as burn-rate alerts do); the cases of a name
    are attached to its first rule and check the alerts of all of them.
    """

    alert: str
    expr: str
    severity: str
    summary: Text
    description: Text
    for_seconds: float = 0.0
    labels: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # runbook_url, dashboard_url: no placeholders
    cases: tuple[Case, ...] = ()

    def all_labels(self) -> dict[str, str]:
        return {"severity": self.severity, **self.labels}

    def annotations(self, labels: dict[str, str] | None = None, value: float | None = None) -> dict[str, str]:
        """The Go templates, or (given the alert's labels and value) what Prometheus expands them to."""
        if labels is None or value is None:
            texts = {"summary": self.summary.go(), "description": self.description.go()}
        else:
            texts = {
                "summary": self.summary.expand(labels, value),
                "description": self.description.expand(labels, value),
            }
        return texts | self.links

    def to_prometheus(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"alert": self.alert, "expr": self.expr}
        if self.for_seconds:
            rule["for"] = duration(self.for_seconds)
        rule["labels"] = self.all_labels()
        rule["annotations"] = self.annotations()
        return rule


def duration(seconds: float) -> str:
    """A Prometheus duration: ``90s`` → ``1m30s``, ``3600`` → ``1h``; whole milliseconds kept."""
    millis = round(seconds * 1000)
    if millis <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
