"""The Alertmanager side: a route and a receiver that send retraining alerts to the retraining service.

Alerts that warrant retraining carry ``modelmon_action="retrain"``; the route matches that label,
groups by model (one notification per model and incident) and continues, so the same alerts still
reach whatever receivers page people.
"""

from __future__ import annotations

from typing import Any

from alerts.context import RETRAIN
from alerts.settings import AlertSettings

__all__ = ["RECEIVER", "alertmanager_config", "alertmanager_config_resource", "retrain_route"]

RECEIVER = "modelmon-retrain"
_GROUPING = {
    "group_by": ["namespace", "exported_namespace", "model"],  # exported_: user-workload monitoring
    "group_wait": "30s",
    "group_interval": "5m",
    "repeat_interval": "4h",
}


def _matchers() -> list[str]:
    return [f'{label}="{value}"' for label, value in RETRAIN.items()]


def retrain_route(settings: AlertSettings, **timing: str) -> dict[str, Any]:
    """A child route for the top-level route's ``routes``, and its receiver.

    ``timing`` overrides group_wait, group_interval or repeat_interval (the demo shortens them).
    """
    route = {"receiver": RECEIVER, "matchers": _matchers(), **_GROUPING, **timing, "continue": True}
    receiver = {
        "name": RECEIVER,
        "webhook_configs": [
            {
                "url": f"{settings.retrain_url.rstrip('/')}/alerts",
                # Resolved notices are sent so the service can count and ignore them explicitly.
                "send_resolved": True,
                "max_alerts": 0,
                "http_config": {
                    "authorization": {"type": "Bearer", "credentials_file": settings.retrain_token_file}
                },
            }
        ],
    }
    return {"route": route, "receiver": receiver}


def alertmanager_config(settings: AlertSettings, **timing: str) -> dict[str, Any]:
    """A whole Alertmanager configuration: the retraining route under a default receiver that drops."""
    part = retrain_route(settings, **timing)
    return {
        "route": {
            "receiver": "default",
            "group_by": ["alertname", "namespace", "model"],
            "routes": [part["route"]],
        },
        "receivers": [{"name": "default"}, part["receiver"]],
    }


def alertmanager_config_resource(
    settings: AlertSettings,
    secret: str = "modelmon-retrain-token",  # noqa: S107 - a Secret name
) -> dict[str, Any]:
    """The same route as an ``AlertmanagerConfig`` (Prometheus Operator, monitoring.coreos.com/v1alpha1).

    The bearer token comes from the Secret ``secret`` (key ``token``) in the resource's namespace.
    """
    name, value = next(iter(RETRAIN.items()))
    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": {
            "name": RECEIVER,
            "namespace": settings.namespace,
            "labels": {"app.kubernetes.io/part-of": "modelmon", **settings.rule_labels},
        },
        "spec": {
            "route": {
                "receiver": RECEIVER,
                "matchers": [{"name": name, "value": value, "matchType": "="}],
                "groupBy": _GROUPING["group_by"],
                "groupWait": _GROUPING["group_wait"],
                "groupInterval": _GROUPING["group_interval"],
                "repeatInterval": _GROUPING["repeat_interval"],
            },
            "receivers": [
                {
                    "name": RECEIVER,
                    "webhookConfigs": [
                        {
                            "url": f"{settings.retrain_url.rstrip('/')}/alerts",
                            "sendResolved": True,
                            "httpConfig": {
                                "authorization": {
                                    "type": "Bearer",
                                    "credentials": {"name": secret, "key": "token"},
                                }
                            },
                        }
                    ],
                }
            ],
        },
    }
