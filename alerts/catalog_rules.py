"""Every alert rule of a catalog, in rule groups: one group per model, one for the fleet."""

from __future__ import annotations

from dataclasses import dataclass

from agent.catalog.model import Catalog, ModelSpec
from alerts import burn_rate, model_rules, pod_rules
from alerts.context import ModelContext
from alerts.fleet_rules import fleet_rules
from alerts.rule import AlertRule
from alerts.settings import AlertSettings
from alerts.uwm import relabel

__all__ = ["RuleGroup", "catalog_groups", "model_group", "model_groups"]


@dataclass(frozen=True, slots=True)
class RuleGroup:
    """A Prometheus rule group; ``file_stem`` names its files, ``namespace`` its PrometheusRule."""

    name: str
    file_stem: str
    namespace: str
    rules: tuple[AlertRule, ...]


def _rules(model: ModelSpec, settings: AlertSettings) -> tuple[list[AlertRule], list[AlertRule]]:
    """The rules on the aggregator's series, and those on the model's agents' series."""
    ctx = ModelContext(model, settings)
    optional = (
        model_rules.critical_feature_drift(ctx),
        model_rules.accuracy_floor(ctx),
        model_rules.estimated_accuracy_floor(ctx),
        model_rules.error_ratio(ctx),
    )
    aggregated = [
        model_rules.dataset_drift(ctx),
        *(rule for rule in optional if rule is not None),
        *burn_rate.latency_burn_rate(ctx),
        model_rules.no_data(ctx),
    ]
    agents = [pod_rules.agent_down(ctx), pod_rules.model_not_ready(ctx), *pod_rules.spool_filling(ctx)]
    return [*aggregated, pod_rules.gpu_memory_pressure(ctx)], agents  # GPU samples come via the aggregator


def model_rules_of(model: ModelSpec, settings: AlertSettings) -> list[AlertRule]:
    aggregated, agents = _rules(model, settings)
    return aggregated[:-1] + agents + aggregated[-1:]


def model_group(model: ModelSpec, settings: AlertSettings) -> RuleGroup:
    return RuleGroup(
        name=f"modelmon.{model.namespace}.{model.name}",
        file_stem=f"{model.namespace}-{model.name}",
        namespace=model.namespace,
        rules=tuple(model_rules_of(model, settings)),
    )


def model_groups(model: ModelSpec, settings: AlertSettings) -> list[RuleGroup]:
    """One group per model; two where the Prometheus renames the model's namespace (``alerts.uwm``):
    the aggregator's rules, relabelled, in modelmon's namespace, and the agents' in the model's."""
    if settings.namespace_label == "namespace":
        return [model_group(model, settings)]
    aggregated, agents = _rules(model, settings)
    stem = f"{model.namespace}-{model.name}"
    return [
        RuleGroup(
            f"modelmon.{model.namespace}.{model.name}",
            stem,
            settings.namespace,
            tuple(relabel(rule, settings.namespace_label, settings.namespace) for rule in aggregated),
        ),
        RuleGroup(
            f"modelmon.{model.namespace}.{model.name}.agents",
            f"{stem}-agents",
            model.namespace,
            tuple(agents),
        ),
    ]


def catalog_groups(catalog: Catalog, settings: AlertSettings) -> list[RuleGroup]:
    """The fleet's group, then each model's in identity order (so output does not depend on YAML order)."""
    fleet = RuleGroup("modelmon.fleet", "modelmon-fleet", settings.namespace, tuple(fleet_rules(settings)))
    models = sorted(catalog, key=lambda m: m.identity)
    return [fleet, *(group for model in models for group in model_groups(model, settings))]
