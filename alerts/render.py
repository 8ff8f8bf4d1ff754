"""Write the alerting configuration of a catalog. Same catalog and settings, same bytes.

Layout of ``out``::

    rules/<group>.rules.yml            Prometheus rule files (``rule_files:``)
    rules/<group>.test.yml             their ``promtool test rules`` unit tests
    prometheusrules/<group>.yaml       PrometheusRule resources (monitoring.coreos.com/v1)
    alertmanager/retrain-route.yml     the route and receiver to add to an Alertmanager config
    alertmanager/alertmanager.yml      a whole Alertmanager config holding them (runs as is)
    alertmanager/alertmanagerconfig.yaml  the same for the Prometheus Operator (v1alpha1)
    podmonitors/<namespace>.yaml       with ``namespace_label: exported_namespace`` (OpenShift
                                       user-workload monitoring): the agents' PodMonitor per model
                                       namespace, as that Prometheus ignores namespace selectors
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from agent.catalog.model import Catalog
from alerts.alertmanager import alertmanager_config, alertmanager_config_resource, retrain_route
from alerts.catalog_rules import RuleGroup, catalog_groups
from alerts.promtool_tests import promtool_tests
from alerts.settings import AlertSettings

__all__ = ["generate", "rule_file", "to_yaml"]


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings, so PromQL stays readable in the files."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)


def rule_file(group: RuleGroup) -> dict[str, Any]:
    return {"groups": [{"name": group.name, "rules": [rule.to_prometheus() for rule in group.rules]}]}


def _prometheus_rule(group: RuleGroup, settings: AlertSettings) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": f"modelmon-{group.file_stem}" if group.file_stem != "modelmon-fleet" else group.file_stem,
            "namespace": group.namespace,
            "labels": {"app.kubernetes.io/part-of": "modelmon", **settings.rule_labels},
        },
        "spec": rule_file(group),
    }


def _pod_monitor(namespace: str, settings: AlertSettings) -> dict[str, Any]:
    """The injected agents of one namespace (the injector labels their pods)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {
            "name": "modelmon-agents",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "modelmon", **settings.rule_labels},
        },
        "spec": {
            "selector": {"matchLabels": {"modelmon.io/injected": "true"}},
            "podMetricsEndpoints": [{"port": "modelmon-admin", "path": "/metrics", "interval": "30s"}],
        },
    }


def generate(catalog: Catalog, out: Path, settings: AlertSettings | None = None) -> list[Path]:
    """Write every file under ``out``; returns them in the order written."""
    settings = settings or AlertSettings()
    files: dict[str, Any] = {}
    for group in catalog_groups(catalog, settings):
        rules = f"{group.file_stem}.rules.yml"
        files[f"rules/{rules}"] = rule_file(group)
        files[f"rules/{group.file_stem}.test.yml"] = promtool_tests(group, rules)
        files[f"prometheusrules/{group.file_stem}.yaml"] = _prometheus_rule(group, settings)
    if settings.namespace_label != "namespace":
        for namespace in sorted({model.namespace for model in catalog}):
            files[f"podmonitors/{namespace}.yaml"] = _pod_monitor(namespace, settings)
    files["alertmanager/retrain-route.yml"] = retrain_route(settings)
    files["alertmanager/alertmanager.yml"] = alertmanager_config(settings)
    files["alertmanager/alertmanagerconfig.yaml"] = alertmanager_config_resource(settings)
    written = []
    for relative, data in files.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_yaml(data), encoding="utf-8")
        written.append(path)
    return written
