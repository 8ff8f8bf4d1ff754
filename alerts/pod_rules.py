"""Alerts on a model's pods, from what its sidecar agents export: agent down, model not ready, disk
spool filling (Kafka is unreachable), GPU memory pressure."""

from __future__ import annotations

from dataclasses import replace

from agent import metric_catalog as mc
from agent.metric_catalog import selector
from alerts.context import ModelContext, samples
from alerts.rule import AlertRule, Case, Check, Series, Text

__all__ = ["agent_down", "gpu_memory_pressure", "model_not_ready", "spool_filling"]

_INTERVAL = 15


def agent_down(ctx: ModelContext) -> AlertRule:
    """No agent of the model is scraped: the pods are gone, or Prometheus cannot reach their admin port."""
    name = "ModelmonAgentDown"
    ready = selector(mc.AGENT_MODEL_READY, ctx.match())
    n = samples(600, _INTERVAL)
    at = (n - 1) * _INTERVAL
    return AlertRule(
        alert=name,
        expr=f"absent({ready})",
        severity="critical",
        for_seconds=300,
        summary=Text("No modelmon agent of {namespace}/{model} is scraped"),
        description=Text(
            "Prometheus has no series from the model's sidecar agents for 5 minutes: the pods are gone, "
            "the agent was not injected, or its admin port is not scraped."
        ),
        links=ctx.links(name),
        cases=(
            Case(
                "fires without agents",
                (),
                (Check(at, ((ctx.match(), "critical", 1),)),),
            ),
            Case(
                "stays quiet while an agent is scraped",
                (Series(mc.AGENT_MODEL_READY.name, ctx.ids(), f"1x{n}"),),
                (Check(at),),
                _INTERVAL,
            ),
        ),
    )


def model_not_ready(ctx: ModelContext) -> AlertRule:
    name = "ModelmonModelNotReady"
    ready = selector(mc.AGENT_MODEL_READY, ctx.match())
    n = samples(600, _INTERVAL)
    at = (n - 1) * _INTERVAL

    def case(title: str, value: int, check: Check) -> Case:
        return Case(
            title, (Series(mc.AGENT_MODEL_READY.name, ctx.ids(), f"{value}x{n}"),), (check,), _INTERVAL
        )

    return AlertRule(
        alert=name,
        expr=f"{ready} == 0",
        severity="warning",
        for_seconds=300,
        summary=Text("Model server of {namespace}/{model} behind its agent is not ready"),
        description=Text(
            "The agent's readiness checks of the model server have failed for 5 minutes; predictions fail or wait."
        ),
        links=ctx.links(name),
        cases=(
            case("fires while the model is not ready", 0, Check(at, ((ctx.ids(), "warning", 0),))),
            case("stays quiet while it is ready", 1, Check(at)),
        ),
    )


def spool_filling(ctx: ModelContext) -> list[AlertRule]:
    """The agent's disk spool fills while Kafka is slow or down; when full, records are dropped."""
    name = "ModelmonAgentSpoolFilling"
    settings = ctx.settings
    used = f"{selector(mc.AGENT_SPOOL_BYTES, ctx.match())}\n/\n{selector(mc.AGENT_SPOOL_LIMIT, ctx.match())}"
    limit = 1_000_000
    n = samples(900, _INTERVAL)
    at = (n - 1) * _INTERVAL

    def case(title: str, share: float, check: Check) -> Case:
        return Case(
            title,
            (
                Series(mc.AGENT_SPOOL_BYTES.name, ctx.ids(), f"{limit * share:g}x{n}"),
                Series(mc.AGENT_SPOOL_LIMIT.name, ctx.ids(), f"{limit}x{n}"),
            ),
            (check,),
            _INTERVAL,
        )

    full = (settings.spool_critical_ratio + 1) / 2
    rules = [
        AlertRule(
            alert=name,
            expr=f"{used}\n> {ratio:g}",
            severity=severity,
            for_seconds=hold,
            summary=Text("Agent spool of {namespace}/{model} is filling"),
            description=Text(
                f"{{value}} of the agent's disk spool is in use (alerting at {ratio:g}): Kafka is slow or "
                "unreachable; past the whole spool, new records are dropped."
            ),
            links=ctx.links(name),
        )
        for severity, ratio, hold in (
            ("critical", settings.spool_critical_ratio, 120.0),
            ("warning", settings.spool_warning_ratio, 300.0),
        )
    ]
    cases = (
        case(
            "pages and warns when nearly full",
            full,
            Check(at, ((ctx.ids(), "critical", full), (ctx.ids(), "warning", full))),
        ),
        case("stays quiet while nearly empty", settings.spool_warning_ratio / 4, Check(at)),
    )
    rules[0] = replace(rules[0], cases=cases)
    return rules


def gpu_memory_pressure(ctx: ModelContext) -> AlertRule:
    name = "ModelmonGpuMemoryPressure"
    ratio = ctx.settings.gpu_memory_ratio
    used = selector(mc.HARDWARE_METRIC["gpu_memory_used_bytes"], ctx.match())
    total = selector(mc.HARDWARE_METRIC["gpu_memory_total_bytes"], ctx.match())
    n = samples(900, _INTERVAL)
    at = (n - 1) * _INTERVAL
    gpu = ctx.ids(pod="model-0", gpu="0", gpu_uuid="GPU-0", gpu_model="H100", source="nvml")
    capacity = 80_000_000_000

    def case(title: str, share: float, check: Check) -> Case:
        return Case(
            title,
            (
                Series(mc.HARDWARE_METRIC["gpu_memory_used_bytes"].name, gpu, f"{capacity * share:g}x{n}"),
                Series(mc.HARDWARE_METRIC["gpu_memory_total_bytes"].name, gpu, f"{capacity}x{n}"),
            ),
            (check,),
            _INTERVAL,
        )

    high = (ratio + 1) / 2
    return AlertRule(
        alert=name,
        expr=f"{used}\n/\n{total}\n> {ratio:g}",
        severity="warning",
        for_seconds=600,
        summary=Text("GPU {gpu} of {namespace}/{model} pod {pod} is nearly out of memory"),
        description=Text(
            f"{{value}} of the GPU's memory is in use (alerting at {ratio:g}) for 10 minutes; larger "
            "batches or another model on the GPU will fail to allocate."
        ),
        links=ctx.links(name),
        cases=(
            case("fires when nearly full", high, Check(at, ((gpu, "warning", high),))),
            case("stays quiet at half", 0.5, Check(at)),
        ),
    )
