"""modelmon alerts: Prometheus alert rules generated from the catalog, with their promtool tests and
the Alertmanager route to the retraining service (``alerts.retrain``)."""

from alerts.alertmanager import RECEIVER, alertmanager_config, alertmanager_config_resource, retrain_route
from alerts.catalog_rules import RuleGroup, catalog_groups, model_group, model_groups
from alerts.render import generate
from alerts.rule import AlertRule
from alerts.settings import AlertSettings

__all__ = [
    "RECEIVER",
    "AlertRule",
    "AlertSettings",
    "RuleGroup",
    "alertmanager_config",
    "alertmanager_config_resource",
    "catalog_groups",
    "generate",
    "model_group",
    "model_groups",
    "retrain_route",
]
