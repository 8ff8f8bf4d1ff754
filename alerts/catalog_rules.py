"""Every alert rule of a catalog, in rule groups: one group per model, one for the fleet."""

from __future__ import annotations

from dataclasses import dataclass

from agent.catalog.model import Catalog, ModelSpec
from alerts import burn_rate, model_rules, pod_rules
from alerts.context import ModelContext
from alerts.fleet_rules import fleet_rules
from alerts.rule import AlertRule
from alerts.settings import AlertSettings

__all__ = ["RuleGroup", "catalog_groups", "model_group"]


@dataclass(frozen=True, slots=True)
class RuleGroup:
    """A Prometheus rule group; ``file_stem`` names its files, ``namespace`` its PrometheusRule."""

    name: str
    file_stem: str
    namespace: str
    rules: tuple[AlertRule, ...]


def model_rules_of(model: ModelSpec, settings: AlertSettings) -> list[AlertRule]:
    ctx = ModelContext(model, settings)
    optional = (
        model_rules.critical_feature_drift(ctx),
        model_rules.accuracy_floor(ctx),
        model_rules.estimated_accuracy_floor(ctx),
        model_rules.error_ratio(ctx),
    )
    return [
        model_rules.dataset_drift(ctx),
        *(rule for rule in optional if rule is not None),
        *burn_rate.latency_burn_rate(ctx),
        model_rules.no_data(ctx),
        pod_rules.agent_down(ctx),
        pod_rules.model_not_ready(ctx),
        *pod_rules.spool_filling(ctx),
        pod_rules.gpu_memory_pressure(ctx),
    ]


def model_group(model: ModelSpec, settings: AlertSettings) -> RuleGroup:
    return RuleGroup(
        name=f"modelmon.{model.namespace}.{model.name}",
        file_stem=f"{model.namespace}-{model.name}",
        namespace=model.namespace,
        rules=tuple(model_rules_of(model, settings)),
    )


def catalog_groups(catalog: Catalog, settings: AlertSettings) -> list[RuleGroup]:
    """The fleet's group, then one per model in identity order (so output does not depend on YAML order)."""
    fleet = RuleGroup("modelmon.fleet", "modelmon-fleet", settings.namespace, tuple(fleet_rules(settings)))
    models = sorted(catalog, key=lambda m: m.identity)
    return [fleet, *(model_group(model, settings) for model in models)]
