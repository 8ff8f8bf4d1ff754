"""Alerts on what the aggregator computes for a model: drift, accuracy, errors and missing data.

Each builder returns the rule and the promtool cases that prove it fires and stays quiet.
"""

from __future__ import annotations

from agent import metric_catalog as mc
from agent.catalog.model import Task
from agent.metric_catalog import selector
from alerts.context import RETRAIN, ModelContext, samples
from alerts.rule import AlertRule, Case, Check, Series, Text

__all__ = [
    "accuracy_floor",
    "critical_feature_drift",
    "dataset_drift",
    "error_ratio",
    "estimated_accuracy_floor",
    "no_data",
]

_INTERVAL = 15  # seconds between test samples, and promtool's rule evaluations


def _ticking(ctx: ModelContext, end: mc.MetricSpec, n: int) -> Series:
    """A window-end series that keeps up with the clock for ``n`` samples: the version is live."""
    return Series(end.name, ctx.ids(segment=""), f"0+{_INTERVAL}x{n}")


def _phase(ctx: ModelContext, hold: float) -> int:
    """Samples in a test phase: long enough for ``hold`` to pass, with room to spare."""
    return samples(hold, _INTERVAL) + 8


def dataset_drift(ctx: ModelContext) -> AlertRule:
    """Share of drifted columns at or over the catalog's ``dataset_drift_share`` for ``consecutive_windows``.

    Hysteresis: once firing, the alert holds until the share falls below the threshold × the
    settings' ``drift_clear_ratio``, so a share hovering at the threshold does not flap. Only versions
    whose windows still close count: a version replaced by a retrained one resolves its alert.
    """
    name = "ModelmonDatasetDrift"
    threshold = ctx.model.drift.dataset_drift_share
    clear = threshold * ctx.settings.drift_clear_ratio
    share = selector(mc.DATASET_DRIFT_SHARE, ctx.match(segment=""))
    firing = f'ALERTS{{alertname="{name}", alertstate="firing", namespace="{ctx.model.namespace}", model="{ctx.model.name}"}}'
    expr = (
        f"(\n  {share} >= {threshold:g}\n  or\n"
        f"  ({share} >= {clear:g} and on (namespace, model, version) {firing})\n)\n"
        f"and on (namespace, model, version) {ctx.fresh()}"
    )
    high, middle, low = (threshold + 1) / 2, (clear + threshold) / 2, clear / 2
    n = _phase(ctx, max(ctx.sustain_seconds, ctx.fresh_seconds))
    ids = ctx.ids(segment="")
    alert_ids = ctx.ids()
    ticking = _ticking(ctx, mc.WINDOW_END, 3 * n)
    stopped = Series(mc.WINDOW_END.name, ids, f"0+{_INTERVAL}x{n - 1} {(n - 1) * _INTERVAL}x{2 * n}")
    phases = f"{high:g}x{n - 1} {middle:g}x{n - 1} {low:g}x{n - 1}"
    return AlertRule(
        alert=name,
        expr=expr,
        severity="warning",
        for_seconds=ctx.sustain_seconds,
        labels=dict(RETRAIN),
        summary=Text("Data drift on {namespace}/{model} version {version}"),
        description=Text(
            f"{{value}} of the model's columns drifted (alerting at {threshold:g}, clearing under {clear:g})"
            f" for {ctx.model.drift.consecutive_windows} window(s) or more."
        ),
        links=ctx.links(name),
        cases=(
            Case(
                "fires over the threshold, holds above the clear level, clears under it",
                (Series(mc.DATASET_DRIFT_SHARE.name, ids, phases), ticking),
                (
                    Check((n - 1) * _INTERVAL, ((alert_ids, "warning", high),)),
                    Check((2 * n - 1) * _INTERVAL, ((alert_ids, "warning", middle),)),
                    Check((3 * n - 1) * _INTERVAL),
                ),
                _INTERVAL,
            ),
            Case(
                "stays quiet between the clear level and the threshold",
                (Series(mc.DATASET_DRIFT_SHARE.name, ids, f"{middle:g}x{2 * n}"), ticking),
                (Check((2 * n - 1) * _INTERVAL),),
                _INTERVAL,
            ),
            Case(
                "resolves once the version's windows stop (a retired version)",
                (Series(mc.DATASET_DRIFT_SHARE.name, ids, f"{high:g}x{3 * n}"), stopped),
                (Check((n - 1) * _INTERVAL, ((alert_ids, "warning", high),)), Check((3 * n - 1) * _INTERVAL)),
                _INTERVAL,
            ),
        ),
    )


def critical_feature_drift(ctx: ModelContext) -> AlertRule | None:
    """Drift on any column marked ``critical: true``, for ``consecutive_windows``; None without one."""
    critical = sorted(c.name for c in ctx.model.columns if c.critical)
    if not critical:
        return None
    name = "ModelmonCriticalFeatureDrift"
    features = "|".join(critical)
    score = selector(mc.FEATURE_DRIFT_SCORE, ctx.match(segment="", feature=f"=~{features}"))
    detected = selector(mc.FEATURE_DRIFT_DETECTED, ctx.match(segment="", feature=f"=~{features}"))
    on = "namespace, model, version, feature, role, statistic"
    expr = f"{score}\nand on ({on})\n({detected} == 1)\nand on (namespace, model, version) {ctx.fresh()}"
    column = next(c for c in ctx.model.columns if c.name == critical[0])
    role = "feature" if column in ctx.model.features else "output"
    series_ids = ctx.ids(segment="", feature=column.name, role=role, statistic="psi")
    alert_ids = ctx.ids(feature=column.name, role=role, statistic="psi")
    n = _phase(ctx, ctx.sustain_seconds)

    def case(title: str, drifted: int, check: Check) -> Case:
        return Case(
            title,
            (
                Series(mc.FEATURE_DRIFT_SCORE.name, series_ids, f"0.42x{n}"),
                Series(mc.FEATURE_DRIFT_DETECTED.name, series_ids, f"{drifted}x{n}"),
                _ticking(ctx, mc.WINDOW_END, n),
            ),
            (check,),
            _INTERVAL,
        )

    at = (n - 1) * _INTERVAL
    return AlertRule(
        alert=name,
        expr=expr,
        severity="critical",
        for_seconds=ctx.sustain_seconds,
        labels=dict(RETRAIN),
        summary=Text("Critical {role} {feature} of {namespace}/{model} drifted"),
        description=Text(
            "{feature} drifted in version {version}: {statistic} score {value} over its threshold"
            f" (critical columns: {', '.join(critical)})."
        ),
        links=ctx.links(name),
        cases=(
            case("fires while a critical column drifts", 1, Check(at, ((alert_ids, "critical", 0.42),))),
            case("stays quiet while the score is under its threshold", 0, Check(at)),
        ),
    )


def accuracy_floor(ctx: ModelContext) -> AlertRule | None:
    """Realised accuracy (from joined labels) under the SLO's ``accuracy_min``, on enough labelled rows."""
    quality, floor = ctx.model.quality, ctx.model.slos.accuracy_min
    if quality is None or quality.task is not Task.CLASSIFICATION or floor is None:
        return None
    name = "ModelmonAccuracyBelowFloor"
    least = ctx.model.drift.min_window_records
    accuracy = selector(mc.QUALITY_METRIC, ctx.match(segment="", metric="accuracy"))
    labelled = selector(mc.QUALITY_LABELLED, ctx.match(segment=""))
    expr = (
        f"{accuracy} < {floor:g}\nand on (namespace, model, version)\n{labelled} >= {least}"
        f"\nand on (namespace, model, version) {ctx.labels_fresh()}"
    )
    n = _phase(ctx, ctx.sustain_seconds)
    low = floor / 2

    def case(title: str, value: float, rows: int, check: Check) -> Case:
        return Case(
            title,
            (
                Series(mc.QUALITY_METRIC.name, ctx.ids(segment="", metric="accuracy"), f"{value:g}x{n}"),
                Series(mc.QUALITY_LABELLED.name, ctx.ids(segment=""), f"{rows}x{n}"),
                _ticking(ctx, mc.QUALITY_WINDOW_END, n),
            ),
            (check,),
            _INTERVAL,
        )

    at = (n - 1) * _INTERVAL
    return AlertRule(
        alert=name,
        expr=expr,
        severity="critical",
        for_seconds=ctx.sustain_seconds,
        labels=dict(RETRAIN),
        summary=Text("Accuracy of {namespace}/{model} version {version} is under its floor"),
        description=Text(
            f"Accuracy on ground-truth labels is {{value}}, under the SLO's {floor:g}"
            f" (windows of at least {least} labelled predictions)."
        ),
        links=ctx.links(name),
        cases=(
            case(
                "fires under the floor",
                low,
                least * 2,
                Check(at, ((ctx.ids(metric="accuracy"), "critical", low),)),
            ),
            case("stays quiet on too few labels", low, max(least - 1, 0), Check(at)),
            case("stays quiet above the floor", (1 + floor) / 2, least * 2, Check(at)),
        ),
    )


def estimated_accuracy_floor(ctx: ModelContext) -> AlertRule | None:
    """Accuracy estimated from the model's scores (CBPE), before labels arrive, under ``accuracy_min``."""
    quality, floor = ctx.model.quality, ctx.model.slos.accuracy_min
    if quality is None or quality.task is not Task.CLASSIFICATION or floor is None or not quality.scores:
        return None
    name = "ModelmonEstimatedAccuracyBelowFloor"
    estimate = selector(mc.QUALITY_ESTIMATE, ctx.match(segment="", metric="accuracy"))
    n = _phase(ctx, ctx.sustain_seconds)
    low = floor / 2
    ids = ctx.ids(segment="", metric="accuracy")
    ticking = _ticking(ctx, mc.WINDOW_END, n)
    at = (n - 1) * _INTERVAL
    return AlertRule(
        alert=name,
        expr=f"{estimate} < {floor:g}\nand on (namespace, model, version) {ctx.fresh()}",
        severity="warning",
        for_seconds=ctx.sustain_seconds,
        summary=Text("Estimated accuracy of {namespace}/{model} version {version} is under its floor"),
        description=Text(
            f"Accuracy estimated from the model's scores (CBPE, before labels) is {{value}}, under {floor:g}."
        ),
        links=ctx.links(name),
        cases=(
            Case(
                "fires under the floor",
                (Series(mc.QUALITY_ESTIMATE.name, ids, f"{low:g}x{n}"), ticking),
                (Check(at, ((ctx.ids(metric="accuracy"), "warning", low),)),),
                _INTERVAL,
            ),
            Case(
                "stays quiet above the floor",
                (Series(mc.QUALITY_ESTIMATE.name, ids, f"{(1 + floor) / 2:g}x{n}"), ticking),
                (Check(at),),
                _INTERVAL,
            ),
        ),
    )


def error_ratio(ctx: ModelContext) -> AlertRule | None:
    """Share of failed predictions (5xx, or no answer) over 5 minutes above the SLO's ``error_ratio``,
    for 5 minutes. Client errors (4xx) are the callers' and do not spend the model's budget."""
    limit = ctx.model.slos.error_ratio
    if limit is None:
        return None
    name = "ModelmonErrorRatioHigh"
    count = mc.PREDICTION_LATENCY
    by = "sum by (namespace, model, version)"
    errors = f"{by} (rate({selector(count, ctx.match(status_class='=~5xx|none'), '_count')}[5m]))"
    total = f"{by} (rate({selector(count, ctx.match(), '_count')}[5m]))"
    interval, n = 60, 20
    bad = min(1.0, limit * 5)
    good = limit / 2

    def case(title: str, share: float, check: Check) -> Case:
        per_minute = 600
        return Case(
            title,
            (
                Series(
                    f"{count.name}_count", ctx.ids(status_class="2xx"), f"0+{per_minute * (1 - share):g}x{n}"
                ),
                Series(f"{count.name}_count", ctx.ids(status_class="5xx"), f"0+{per_minute * share:g}x{n}"),
            ),
            (check,),
            interval,
        )

    at = (n - 1) * interval
    return AlertRule(
        alert=name,
        expr=f"{errors}\n/\n{total}\n> {limit:g}",
        severity="critical",
        for_seconds=300,
        summary=Text("Errors of {namespace}/{model} version {version} over the SLO"),
        description=Text(
            f"{{value}} of predictions failed (5xx or no answer) over 5 minutes; the SLO allows {limit:g}."
        ),
        links=ctx.links(name),
        cases=(
            case("fires over the SLO", bad, Check(at, ((ctx.ids(), "critical", bad),))),
            case("stays quiet within the SLO", good, Check(at)),
        ),
    )


def no_data(ctx: ModelContext) -> AlertRule:
    """No window of the model closed for a while: its agent sends nothing, or the aggregator is stuck."""
    name = "ModelmonNoRecentWindows"
    window = ctx.model.window
    stale = max(
        3 * (window.step_seconds + window.allowed_lateness_seconds + window.idle_close_seconds), 300.0
    )
    end = selector(mc.WINDOW_END, ctx.match(segment=""))
    expr = f"time() - max by (namespace, model) ({end}) > {stale:g}\nor\nabsent({end})"
    hold = 300
    n = samples(stale + hold, _INTERVAL) + 8
    at = (n - 1) * _INTERVAL
    alert_ids = {"namespace": ctx.model.namespace, "model": ctx.model.name}
    return AlertRule(
        alert=name,
        expr=expr,
        severity="warning",
        for_seconds=hold,
        summary=Text("No recent windows of {namespace}/{model}"),
        description=Text(
            f"No window of the model closed in the last {stale:g} s: its agents send nothing, the model"
            " gets no traffic, or the aggregator is behind or down."
        ),
        links=ctx.links(name),
        cases=(
            Case(
                "fires when windows stop closing",
                (Series(mc.WINDOW_END.name, ctx.ids(segment=""), f"0x{n}"),),
                (Check(at, ((alert_ids, "warning", at),)),),
                _INTERVAL,
            ),
            Case(
                "fires when the model has no windows at all", (), (Check(at, ((alert_ids, "warning", 1),)),)
            ),
            Case(
                "stays quiet while windows close",
                (_ticking(ctx, mc.WINDOW_END, n),),
                (Check(at),),
                _INTERVAL,
            ),
        ),
    )
