"""The demo's retraining loop: the alerting stack, the demo's pipeline, and their progress lines.

Needs Prometheus and Alertmanager installed; without them the demo runs without the loop and says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from agent.catalog.model import Catalog, ModelSpec
from deploy.alerting_stack import AlertingStack, StackTiming
from deploy.alertmanager import alertmanager_binary
from deploy.demo_retrain import DemoTrainer, Deployment, RecentLabels
from deploy.prometheus import prometheus_binary

if TYPE_CHECKING:
    from deploy.demo import DemoOptions, DemoReport

__all__ = ["RetrainingLoop", "start_retraining_loop"]

_ALERT = "ModelmonDatasetDrift"


@dataclass
class RetrainingLoop:
    stack: AlertingStack | None = None
    trainer: DemoTrainer | None = None
    report: Any = None

    def status_line(self, model: ModelSpec) -> str:
        """Which versions' drift alert fires, and the retraining triggers with their states."""
        if self.stack is None or self.stack.prometheus is None or self.stack.service is None:
            return ""
        report = self.report
        try:
            firing = self.stack.prometheus.query(
                f'ALERTS{{alertname="{_ALERT}", alertstate="firing", namespace="{model.namespace}", model="{model.name}"}}'
            )
        except OSError:
            return ""
        report.firing = {sample["metric"].get("version", "") for sample in firing}
        report.alert_fired = report.alert_fired or bool(report.firing)
        if report.rolled_out and report.alert_fired and not report.firing:
            report.alert_resolved_after_rollout = True
        triggers = self.stack.service.outbox.triggers(limit=5)
        alerts = (
            f"{_ALERT} firing for {', '.join(sorted(report.firing))}"
            if report.firing
            else "no drift alert firing"
        )
        listed = ", ".join(f"{t['id'][:8]} {t['state']}" for t in triggers) or "none yet"
        return f"\n           alerts: {alerts} | retraining triggers: {listed}"

    def stop(self) -> None:
        if self.trainer is not None:
            self.trainer.stop()
        if self.stack is not None:
            self.stack.stop()


def start_retraining_loop(
    options: DemoOptions,
    catalog: Catalog,
    model: ModelSpec,
    deployment: Deployment,
    recent: RecentLabels,
    scrape: list[str],
    report: DemoReport,
    start: float,
) -> RetrainingLoop:
    if not options.prometheus or model.retraining is None:
        return RetrainingLoop(report=report)
    if prometheus_binary() is None or alertmanager_binary() is None:
        print(
            "  retraining  needs Prometheus and Alertmanager (apt-get install prometheus prometheus-alertmanager)"
        )
        return RetrainingLoop(report=report)

    def event(what: str, trigger_id: str) -> None:
        if trigger_id not in report.triggers:
            report.triggers.append(trigger_id)
        if what.startswith("rolled out"):
            report.rolled_out = "v2"
        print(f"  [{time.time() - start:5.0f}s] pipeline    {what} (trigger {trigger_id[:8]})", flush=True)

    # A demo starts a new world (a fresh broker, new traffic): an earlier run's triggers would hold
    # this one's first alert in their cooldown.
    for stale in (options.workdir / "alerting").glob("retrain.db*"):
        stale.unlink()
    trainer = DemoTrainer(deployment, recent, event).start()
    retraining = replace(model.retraining, url=trainer.url)
    looped = Catalog(
        {k: replace(m, retraining=retraining) if m is model else m for k, m in catalog.models.items()}
    )
    stack = AlertingStack(
        looped, scrape, options.workdir / "alerting", timing=StackTiming(group_wait="1s", group_interval="5s")
    )
    try:
        stack.start()
    except Exception:
        trainer.stop()
        raise
    assert stack.service is not None and stack.alertmanager is not None
    trainer.complete_url, trainer.token = stack.service.url, stack.token
    report.alertmanager_url = stack.alertmanager.url
    report.retrain_url = stack.service.url
    rules = options.workdir / "alerting" / "alerts" / "rules"
    print(f"  alerts      rules generated from the catalog in {rules.resolve()} (promtool-tested)")
    print(
        f'  alertmgr    {stack.alertmanager.url}/#/alerts (routes modelmon_action="retrain" to the service)'
    )
    print(
        f"  retraining  {stack.service.url}/triggers (bearer token in {stack.token_file.resolve()}); "
        f"the demo pipeline {trainer.url} retrains the model as v2 and rolls it out"
    )
    return RetrainingLoop(stack, trainer, report)
