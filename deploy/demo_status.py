"""The demo's progress lines: windows and drift, accuracy, the agent, the model process.

Each function reads the running parts and fills the demo's report as it goes, for the summary and
the demo's tests.
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Any

from agent.catalog.model import ModelSpec
from deploy.local_agent import LocalAgent
from deploy.services import AggregatorService
from drift.core.results import DriftStatus

if TYPE_CHECKING:
    from deploy.demo import DemoReport

__all__ = ["WindowRecorder", "agent_line", "hardware_line", "quality_line", "summary"]


def hardware_line(service: AggregatorService, model: ModelSpec, seen: dict[str, tuple[float, float]]) -> str:
    """The demo model's process as the aggregator exports it (sampled by the agent): CPU and memory."""
    if service.hardware is None:
        return ""
    values = {
        name: value
        for (name, labels), value in service.hardware.store.snapshot().items()
        if labels[:2] == (model.namespace, model.name)
    }
    cpu = values.get("modelmon_model_process_cpu_seconds_total")
    rss = values.get("modelmon_model_process_resident_memory_bytes")
    if cpu is None or rss is None:
        return "\n           model process: waiting for the first hardware samples"
    now = time.monotonic()
    before = seen.get("cpu")
    seen["cpu"] = (cpu, now)
    fresh = before and now > before[1] and cpu >= before[0]  # not across a restart (a new version's process)
    share = f"{(cpu - before[0]) / (now - before[1]):.0%} of a core" if fresh else "-"
    threads = values.get("modelmon_model_process_threads", 0)
    return f"\n           model process: CPU {share} | RSS {rss / 1_048_576:,.0f} MB | threads {threads:.0f}"


def agent_line(agent: LocalAgent) -> str:
    """The sidecar's own view: calls, captured rows, Kafka, spool and drops."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = agent.metrics_text()
    except OSError:
        return "agent: not answering"
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[sample.name] = values.get(sample.name, 0.0) + sample.value
    return (
        f"\n           agent: calls {values.get('modelmon_agent_calls_total', 0):,.0f}"
        f" | rows captured {values.get('modelmon_agent_captured_rows_total', 0):,.0f}"
        f" | published {values.get('modelmon_agent_published_records_total', 0):,.0f}"
        f" | spool {values.get('modelmon_agent_spool_bytes', 0):,.0f} B"
        f" | dropped {values.get('modelmon_agent_dropped_records_total', 0):,.0f}"
    )


class WindowRecorder:
    """Passes windows and quality updates on, keeping the demo's own record of each window's
    accuracy estimate and realized accuracy (the store keeps only the latest)."""

    def __init__(self, windows: Any, quality: Any) -> None:
        self._windows, self._quality = windows, quality
        self.lock = threading.Lock()
        self.estimated: dict[int, float] = {}  # by window start (µs), whole model
        self.realized: dict[int, tuple[float, float]] = {}  # by window start: (accuracy, coverage)

    def publish(self, model: ModelSpec, result: Any, frame: Any) -> None:
        self._windows.publish(model, result, frame)
        with self.lock:
            for estimate in result.estimates if not result.key.segment else ():
                if estimate.metric == "accuracy":
                    self.estimated[result.key.start_us] = estimate.value

    def publish_quality(self, model: ModelSpec, result: Any) -> None:
        self._quality.publish_quality(model, result)
        if not result.key.segment and "accuracy" in result.metrics.values:
            with self.lock:
                self.realized[result.key.start_us] = (result.metrics.values["accuracy"], result.coverage)

    def estimate_gap(self, before_us: int) -> float | None:
        """|estimated - realized| of the last window ending before ``before_us`` with most labels."""
        with self.lock:
            starts = [
                s
                for s, (_, coverage) in self.realized.items()
                if coverage >= 0.8 and s in self.estimated and s < before_us
            ]
            if not starts:
                return None
            start = max(starts)
            return abs(self.estimated[start] - self.realized[start][0])


def quality_line(service: AggregatorService, model: ModelSpec, report: DemoReport, drift_at: float) -> str:
    """The realized accuracy of the latest labelled window, and the estimate before labels."""
    parts = []
    for spec, result in service.store.quality():
        if spec.identity != model.identity or result.key.segment or "accuracy" not in result.metrics.values:
            continue
        accuracy = result.metrics.values["accuracy"]
        if result.key.version != model.versions[0]:
            report.accuracy_retrained = accuracy
        elif result.end_us / 1e6 <= drift_at:
            report.accuracy_before = accuracy
        elif result.key.start_us / 1e6 >= drift_at:
            report.accuracy_after = accuracy
        parts.append(
            f"{result.key.version} accuracy realized {accuracy:.2f} (window ending {time.strftime('%H:%M:%S', time.localtime(result.end_us / 1e6))}, "
            f"{result.coverage:.0%} labelled)"
        )
    return ("\n           " + " | ".join(parts)) if parts else ""


def summary(service: AggregatorService, model: ModelSpec, report: DemoReport, drifting: bool) -> str:
    states = service.store.snapshot()
    whole = [s for s in states if not s.latest.key.segment]
    report.windows = sum(s.windows for s in whole)
    report.segments = sum(s.windows for s in states if s.latest.key.segment)
    counted = sum(s.predictions for s in whole)
    line = f"sent {report.sent:>8,} | counted {counted:>8,} | windows {report.windows:>3}"
    for state in whole:
        if state.model.identity != model.identity:
            continue
        result = state.latest
        scores = ", ".join(
            f"{c.column}={c.score:.2f}{'*' if c.drifted else ''}"
            for c in result.columns
            if c.status is DriftStatus.OK
        )
        share = result.drift_share if result.drift_share is not None else math.nan
        if drifting:
            report.max_drift_share_after = max(report.max_drift_share_after, share)
        else:
            report.max_drift_share_before = max(report.max_drift_share_before, share)
            report.multivariate_alarms_before += sum(m.drifted for m in result.multivariate)
            for estimate in result.estimates:
                if estimate.metric == "accuracy":
                    report.estimated_before = estimate.value
        p99 = f"{result.latency.p99 * 1000:.0f}ms" if result.latency else "-"
        names = {"pca_reconstruction": "pca", "domain_classifier": "auc"}
        joint = "".join(
            f" | {names.get(m.method, m.method)} {m.score:.2f}{'*' if m.drifted else ''}"
            for m in result.multivariate
        )
        estimated = "".join(
            f" | accuracy estimated {e.value:.2f} [{e.lower:.2f}, {e.upper:.2f}]"
            for e in result.estimates
            if e.metric == "accuracy"
        )
        version = f" | {result.key.version}" if len(model.versions) > 1 else ""
        line += f"{version} drift share {share:.2f}{joint} | p99 {p99}{estimated} | {scores}"
        segments = sorted(
            (
                (s.latest.key.segment, s.latest.drift_share)
                for s in states
                if s.latest.key.segment
                and s.model.identity == model.identity
                and s.latest.key.version == result.key.version
            ),
            key=lambda item: item[0],
        )
        if segments:
            line += "\n           segments: " + ", ".join(
                f"{label} {'-' if value is None else f'{value:.2f}'}" for label, value in segments
            )
    return line + ("  [drift injected]" if drifting else "")
