"""Latency SLO alerts as multi-window, multi-burn-rate alerts (Google's SRE workbook, chapter 5).

The SLO "p99 latency under T" reads as: at most 1 % of predictions may take longer than T. The
error budget is that 1 %; the burn rate is how many times faster than allowed it is being spent.
Each alert needs a long window (the budget really burns) and a short one (it still burns now, so
the alert resets soon after a fix):

========  ===========  ============  =========  ==============================
severity  long window  short window  burn rate  budget of 30 days spent
========  ===========  ============  =========  ==============================
critical  1 h          5 m           14.4       2 % in an hour
critical  6 h          30 m          6          5 % in six hours
warning   1 d          2 h           3          10 % in a day
warning   3 d          6 h           1          10 % in three days
========  ===========  ============  =========  ==============================

Slow predictions are counted from the aggregator's fixed-bucket histogram, so the threshold is the
smallest bucket bound at or above the SLO (the description says which).
"""

from __future__ import annotations

from dataclasses import replace

from agent import metric_catalog as mc
from agent.metric_catalog import LATENCY_BUCKETS, le_label, selector
from alerts.context import ModelContext
from alerts.rule import AlertRule, Case, Check, Series, Text

__all__ = ["latency_burn_rate"]

_BUDGET = 0.01  # p99: 1 % of predictions may be slower than the threshold
_WINDOWS = {
    "critical": (("1h", "5m", 14.4), ("6h", "30m", 6.0)),
    "warning": (("1d", "2h", 3.0), ("3d", "6h", 1.0)),
}
_FOR = {"critical": 120.0, "warning": 900.0}


def _bucket(threshold: float) -> float:
    fitting = [b for b in LATENCY_BUCKETS if b >= threshold]
    if not fitting:
        raise ValueError(f"latency SLO {threshold} s is over the largest bucket {LATENCY_BUCKETS[-1]} s")
    return fitting[0]


def latency_burn_rate(ctx: ModelContext) -> list[AlertRule]:
    """A critical and a warning rule for the model's ``latency_p99`` SLO; none without one."""
    threshold = ctx.model.slos.latency_p99_seconds
    if threshold is None:
        return []
    name = "ModelmonLatencyBudgetBurn"
    bound = _bucket(threshold)
    spec = mc.PREDICTION_LATENCY
    by = "sum by (namespace, model, version)"

    def slow(window: str) -> str:
        fast = f"{by} (rate({selector(spec, ctx.match(le=le_label(bound)), '_bucket')}[{window}]))"
        total = f"{by} (rate({selector(spec, ctx.match(), '_count')}[{window}]))"
        return f"(1 - {fast} / {total})"

    def expr(severity: str) -> str:
        return "\nor\n".join(
            f"({slow(long)} > {rate * _BUDGET:g}\nand\n{slow(short)} > {rate * _BUDGET:g})"
            for long, short, rate in _WINDOWS[severity]
        )

    interval, n = 60, 90
    at = (n - 1) * interval

    def case(title: str, slow_share: float, check: Check) -> Case:
        per_minute = 600
        return Case(
            title,
            (
                Series(
                    f"{spec.name}_bucket",
                    ctx.ids(status_class="2xx", le=le_label(bound)),
                    f"0+{per_minute * (1 - slow_share):g}x{n}",
                ),
                Series(f"{spec.name}_count", ctx.ids(status_class="2xx"), f"0+{per_minute}x{n}"),
            ),
            (check,),
            interval,
        )

    burning = 0.5
    rules = []
    for severity in ("critical", "warning"):
        rules.append(
            AlertRule(
                alert=name,
                expr=expr(severity),
                severity=severity,
                for_seconds=_FOR[severity],
                summary=Text("{namespace}/{model} version {version} burns its latency budget"),
                description=Text(
                    f"{{value}} of predictions took longer than {bound:g} s (SLO: p99 under {threshold:g} s,"
                    f" so 1 % may); at this rate the error budget runs out early."
                ),
                links=ctx.links(name),
            )
        )
    cases = (
        case(
            "pages and warns while half the predictions are slow",
            burning,
            Check(at, ((ctx.ids(), "critical", burning), (ctx.ids(), "warning", burning))),
        ),
        case("stays quiet within the budget", _BUDGET / 2, Check(at)),
    )
    rules[0] = replace(rules[0], cases=cases)
    return rules
