"""Alerts on the aggregators, which serve every model: down, or falling behind Kafka."""

from __future__ import annotations

from agent import metric_catalog as mc
from agent.catalog.links import PIPELINE_UID
from alerts.context import samples
from alerts.rule import AlertRule, Case, Check, Series, Text
from alerts.settings import AlertSettings

__all__ = ["fleet_rules"]

_INTERVAL = 15


def _links(settings: AlertSettings, alert: str) -> dict[str, str]:
    return {"runbook_url": settings.runbook(alert), "dashboard_url": settings.dashboard(PIPELINE_UID)}


def fleet_rules(settings: AlertSettings) -> list[AlertRule]:
    n = samples(1200, _INTERVAL)
    at = (n - 1) * _INTERVAL
    lag = settings.lag_records
    down = "ModelmonAggregatorDown"
    behind = "ModelmonAggregatorLagging"
    topic = {"topic": "modelmon.predictions"}

    def lag_case(title: str, records: int, check: Check) -> Case:
        return Case(
            title,
            (
                Series(mc.AGGREGATOR_LAG.name, {**topic, "partition": "0"}, f"{records}x{n}"),
                Series(mc.AGGREGATOR_LAG.name, {**topic, "partition": "1"}, f"{records}x{n}"),
            ),
            (check,),
            _INTERVAL,
        )

    return [
        AlertRule(
            alert=down,
            expr=f"absent({mc.AGGREGATOR_OPEN_WINDOWS.name})",
            severity="critical",
            for_seconds=300,
            summary=Text("No modelmon aggregator is scraped"),
            description=Text(
                "Prometheus has no aggregator series for 5 minutes: no drift, accuracy or latency is computed."
            ),
            links=_links(settings, down),
            cases=(
                Case("fires without aggregators", (), (Check(at, (({}, "critical", 1),)),)),
                Case(
                    "stays quiet while one is scraped",
                    (Series(mc.AGGREGATOR_OPEN_WINDOWS.name, {}, f"3x{n}"),),
                    (Check(at),),
                    _INTERVAL,
                ),
            ),
        ),
        AlertRule(
            alert=behind,
            expr=f"sum by (topic) ({mc.AGGREGATOR_LAG.name}) > {lag}",
            severity="warning",
            for_seconds=600,
            summary=Text("The aggregators are behind on {topic}"),
            description=Text(
                f"{{value}} records of the topic wait to be aggregated (alerting over {lag}) for 10 minutes:"
                " scale the aggregators out, or look for a slow sink."
            ),
            links=_links(settings, behind),
            cases=(
                lag_case("fires while lag stays high", lag, Check(at, ((topic, "warning", 2 * lag),))),
                lag_case("stays quiet while it keeps up", lag // 4, Check(at)),
            ),
        ),
    ]
