"""How alert rules are generated: links, thresholds that are not in the catalog, and where alerts go."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.catalog.links import RUNBOOKS

__all__ = ["AlertSettings"]


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Settings of ``modelmon alerts generate``; thresholds of a model's data come from the catalog.

    Attributes:
        grafana_url: Grafana's base URL; alerts link to ``<grafana_url>/d/<uid>``, the dashboards
            ``modelmon dashboards generate`` writes from the same catalog.
        runbook_url: the runbooks page; each alert links to its own section of it.
        retrain_url: the retraining service's base URL, as Alertmanager reaches it.
        retrain_token_file: where Alertmanager reads the bearer token for the retraining service.
        namespace: the namespace of the fleet's PrometheusRule and of the AlertmanagerConfig.
        rule_labels: labels put on PrometheusRule resources, so the Prometheus Operator's
            ``ruleSelector`` picks them (e.g. ``release: kube-prometheus-stack``).
        drift_clear_ratio: hysteresis: a firing drift alert clears only when the drifted share falls
            below ``dataset_drift_share × drift_clear_ratio``.
        lag_records: the aggregator is behind when a topic's consumer lag stays above this.
        spool_warning_ratio, spool_critical_ratio: share of an agent's disk spool in use that warns,
            and that pages (past the whole spool, records are dropped).
        gpu_memory_ratio: share of a GPU's memory in use that counts as pressure.
        scrape_interval_seconds: the longer of Prometheus's scrape and evaluation intervals; a
            window's end reaches an alert this much later, so freshness checks allow two of them.
        namespace_label: the label holding a model's namespace on the aggregator's series:
            ``namespace``, or ``exported_namespace`` for OpenShift user-workload monitoring (which
            renames it; see ``alerts.uwm``). Then the rules on agents' series go to a group of their
            own, in the model's namespace.
    """

    grafana_url: str = "http://localhost:3000"
    runbook_url: str = RUNBOOKS
    retrain_url: str = "http://modelmon-retrain.modelmon.svc:8080"
    retrain_token_file: str = "/etc/alertmanager/secrets/modelmon-retrain/token"  # noqa: S105 - a path
    namespace: str = "modelmon"
    rule_labels: dict[str, str] = field(default_factory=dict)
    drift_clear_ratio: float = 0.8
    lag_records: int = 10_000
    spool_warning_ratio: float = 0.5
    spool_critical_ratio: float = 0.9
    gpu_memory_ratio: float = 0.9
    scrape_interval_seconds: float = 60.0
    namespace_label: str = "namespace"

    def __post_init__(self) -> None:
        if not 0 < self.drift_clear_ratio <= 1:
            raise ValueError("drift_clear_ratio must be in (0, 1]")
        if not 0 < self.spool_warning_ratio < self.spool_critical_ratio <= 1:
            raise ValueError("need 0 < spool_warning_ratio < spool_critical_ratio <= 1")
        if not 0 < self.gpu_memory_ratio <= 1:
            raise ValueError("gpu_memory_ratio must be in (0, 1]")
        if self.namespace_label not in ("namespace", "exported_namespace"):
            raise ValueError("namespace_label must be namespace or exported_namespace")

    def runbook(self, alert: str) -> str:
        return f"{self.runbook_url}#{alert.lower()}"

    def dashboard(self, uid: str) -> str:
        return f"{self.grafana_url.rstrip('/')}/d/{uid}"
