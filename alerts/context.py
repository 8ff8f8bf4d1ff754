"""What every rule builder of one model needs: its matchers, links, test labels and timing."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from agent import metric_catalog as mc
from agent.catalog.links import model_dashboard_uid
from agent.catalog.model import ModelSpec
from agent.metric_catalog import selector
from alerts.settings import AlertSettings

__all__ = ["RETRAIN", "ModelContext", "samples"]

# The label Alertmanager routes to the retraining service on; the service acts on alerts carrying it.
RETRAIN: Final = {"modelmon_action": "retrain"}


@dataclass(frozen=True, slots=True)
class ModelContext:
    model: ModelSpec
    settings: AlertSettings

    def match(self, **extra: str) -> dict[str, str]:
        """Matchers of this model's series (``segment=""``-style extras added)."""
        return {"namespace": self.model.namespace, "model": self.model.name, **extra}

    @property
    def version(self) -> str:
        """A version for the test series: the catalog's first, unless it is the ``*`` wildcard."""
        first = self.model.versions[0] if self.model.versions else "*"
        return "v1" if first == "*" else first

    def ids(self, **extra: str) -> dict[str, str]:
        """Labels of a test series of this model's version."""
        return {"namespace": self.model.namespace, "model": self.model.name, "version": self.version, **extra}

    def links(self, alert: str) -> dict[str, str]:
        return {
            "runbook_url": self.settings.runbook(alert),
            "dashboard_url": self.settings.dashboard(model_dashboard_uid(self.model)),
        }

    @property
    def fresh_seconds(self) -> float:
        """A version's last window is recent while its end is younger than this: two steps, the
        lateness, the idle close (a quiet version's windows close by the idle timer) and two scrapes."""
        window = self.model.window
        slack = 2 * self.settings.scrape_interval_seconds
        return 2 * window.step_seconds + window.allowed_lateness_seconds + window.idle_close_seconds + slack

    def fresh(self) -> str:
        """PromQL keeping only the versions whose windows still close (not a retired version)."""
        end = selector(mc.WINDOW_END, self.match(segment=""))
        return f"(time() - {end} < {self.fresh_seconds:g})"

    def labels_fresh(self) -> str:
        """The same for labelled windows: labels may arrive ``label_lateness`` after their predictions."""
        lateness = self.model.quality.label_lateness_seconds if self.model.quality else 0.0
        end = selector(mc.QUALITY_WINDOW_END, self.match(segment=""))
        return f"(time() - {end} < {lateness + self.fresh_seconds:g})"

    @property
    def sustain_seconds(self) -> float:
        """How long a window condition must hold: ``consecutive_windows`` windows (the catalog's hysteresis)."""
        return self.model.drift.consecutive_windows * self.model.window.step_seconds


def samples(seconds: float, interval: int) -> int:
    """Samples, one per ``interval``, that cover ``seconds``."""
    return max(1, math.ceil(seconds / interval))
