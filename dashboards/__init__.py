"""Grafana dashboards generated from the model catalog and the metric catalog (grafanalib): a fleet
overview, one dashboard per model, and the pipeline's health; written as JSON, ConfigMaps for the
Grafana sidecar and grafana-operator resources (``modelmon dashboards generate``)."""

from dashboards.fleet import fleet_dashboard
from dashboards.model_dashboard import model_dashboard
from dashboards.pipeline import pipeline_dashboard
from dashboards.render import build_dashboards, dashboard_json, generate

__all__ = [
    "build_dashboards",
    "dashboard_json",
    "fleet_dashboard",
    "generate",
    "model_dashboard",
    "pipeline_dashboard",
]
