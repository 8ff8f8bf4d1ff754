"""From a notification to stored triggers: which alerts count, grouped by model, handed to the outbox."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from agent.catalog.model import ModelSpec
from alerts.context import RETRAIN
from alerts.retrain.notification import Alert, Notification
from alerts.retrain.outbox import Outbox
from alerts.retrain.settings import RetrainSettings

__all__ = ["ALERT_OUTCOMES", "Accepted", "Intake"]

# What can become of an alert in a notification (the ``outcome`` label of the alerts counter).
ALERT_OUTCOMES = (
    "triggered",
    "in_flight",
    "cooldown",
    "duplicate",
    "resolved",
    "not_configured",
    "unknown_model",
)


@dataclass(frozen=True, slots=True)
class Accepted:
    outcomes: dict[str, int] = field(default_factory=dict)
    triggers: tuple[str, ...] = ()  # ids of triggers created by this notification


class Intake:
    """Acts only on firing alerts it is configured for, of models with a retraining target."""

    def __init__(self, outbox: Outbox, models: Mapping[str, ModelSpec], settings: RetrainSettings) -> None:
        self._outbox = outbox
        self._models = models
        self._settings = settings

    def _wanted(self, alert: Alert) -> bool:
        if self._settings.alertnames:
            return alert.name in self._settings.alertnames
        return all(alert.labels.get(k) == v for k, v in RETRAIN.items())

    def accept(self, notification: Notification) -> Accepted:
        outcomes: Counter[str] = Counter()
        resolved = [a for a in notification.alerts if a.status == "resolved"]
        if resolved:
            self._outbox.resolved(resolved)
            outcomes["resolved"] += len(resolved)
        by_model: dict[str, list[Alert]] = defaultdict(list)
        for alert in notification.alerts:
            if alert.status != "firing":
                continue
            if not self._wanted(alert):
                outcomes["not_configured"] += 1
                continue
            # exported_namespace: where user-workload monitoring moved the model's namespace (alerts.uwm)
            namespace = alert.labels.get("exported_namespace") or alert.labels.get("namespace", "")
            identity = f"{namespace}/{alert.labels.get('model', '')}"
            model = self._models.get(identity)
            if model is None or model.retraining is None:
                outcomes["unknown_model"] += 1
                continue
            by_model[identity].append(alert)
        created = []
        for identity, alerts in sorted(by_model.items()):
            model = self._models[identity]
            assert model.retraining is not None
            recorded = self._outbox.record(
                model.namespace,
                model.name,
                alerts,
                group_key=notification.group_key,
                cooldown_seconds=model.retraining.cooldown_seconds,
                run_timeout_seconds=self._settings.run_timeout_seconds,
            )
            outcomes[recorded.outcome] += recorded.new_alerts or len(alerts)
            if recorded.outcome == "triggered" and recorded.trigger_id:
                created.append(recorded.trigger_id)
        return Accepted(dict(outcomes), tuple(created))
