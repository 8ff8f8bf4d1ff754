"""What every collector returns: samples of named metrics, and the protocol collectors follow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Collector", "Sample"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One value of one metric. ``metric`` is the exported name without the ``modelmon_`` prefix
    (``container_cpu_usage_seconds_total``); ``labels`` are the metric's own (``gpu``, ``reason``…),
    the model identity and pod are added by whoever publishes the sample."""

    metric: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)


class Collector(Protocol):
    """A source of samples, called on the agent's collection interval.

    ``collect`` returns what it could read now; a value it cannot read is left out, never guessed.
    It raises only for a bug; an absent source (no GPU, no cgroup file) is an empty list.
    """

    name: str

    def collect(self) -> list[Sample]: ...
