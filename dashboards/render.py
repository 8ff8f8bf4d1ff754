"""Write the dashboards: Grafana JSON, ConfigMaps for the Grafana sidecar, GrafanaDashboard resources.

Same catalog, same bytes: keys are sorted, uids derive from model identities, nothing carries a
time. Layout of ``out``::

    json/<uid>.json                    file provisioning, or import by hand
    configmaps/<uid>.yaml              labelled grafana_dashboard: "1" (kube-prometheus-stack's sidecar)
    grafanadashboards/<uid>.yaml       grafana-operator v5 (grafana.integreatly.org/v1beta1)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from grafanalib._gen import DashboardEncoder

from agent.catalog.model import Catalog
from dashboards.fleet import fleet_dashboard
from dashboards.model_dashboard import model_dashboard
from dashboards.pipeline import pipeline_dashboard

__all__ = ["build_dashboards", "dashboard_json", "generate"]

FOLDER = "modelmon"


def build_dashboards(catalog: Catalog) -> dict[str, dict[str, Any]]:
    """uid → the dashboard's JSON model, for the fleet, the pipeline and every model of ``catalog``."""
    dashboards = [fleet_dashboard(), pipeline_dashboard()]
    dashboards += [model_dashboard(model) for model in sorted(catalog, key=lambda m: m.identity)]
    models = {}
    for dashboard in dashboards:
        data = json.loads(json.dumps(dashboard.to_json_data(), cls=DashboardEncoder))
        models[data["uid"]] = data
    return models


def dashboard_json(model: dict[str, Any]) -> str:
    return json.dumps(model, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _configmap(uid: str, text: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"dashboard-{uid}".lower(),
            "labels": {"grafana_dashboard": "1", "app.kubernetes.io/part-of": "modelmon"},
            "annotations": {"grafana_folder": FOLDER},
        },
        "data": {f"{uid}.json": text},
    }


def _grafana_dashboard(uid: str, text: str) -> dict[str, Any]:
    return {
        "apiVersion": "grafana.integreatly.org/v1beta1",
        "kind": "GrafanaDashboard",
        "metadata": {"name": f"dashboard-{uid}".lower(), "labels": {"app.kubernetes.io/part-of": "modelmon"}},
        "spec": {
            "instanceSelector": {"matchLabels": {"dashboards": "grafana"}},
            "folder": FOLDER,
            "resyncPeriod": "10m",
            "json": text,
        },
    }


def generate(catalog: Catalog, out: Path) -> list[Path]:
    """Write every dashboard in the three forms under ``out``; returns the files written."""
    written = []
    for uid, model in build_dashboards(catalog).items():
        text = dashboard_json(model)
        for folder, content in (
            ("json", text),
            ("configmaps", yaml.safe_dump(_configmap(uid, text), sort_keys=True, width=120)),
            ("grafanadashboards", yaml.safe_dump(_grafana_dashboard(uid, text), sort_keys=True, width=120)),
        ):
            path = out / folder / f"{uid}.{'json' if folder == 'json' else 'yaml'}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            written.append(path)
    return written
