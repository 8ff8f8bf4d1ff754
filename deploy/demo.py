"""``make demo``: the whole path on one machine, with live progress.

Broker (Tansu, or any Kafka via MODELMON_KAFKA_BOOTSTRAP) → a demo model server (KServe v1)
behind the sidecar agent, called by a synthetic client → the aggregator (windows, drift, latency,
labels) → /metrics → a local Prometheus when one is installed, scraping the agent too. Drift is
injected part way through.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from agent.catalog.load import load_catalog
from agent.catalog.model import Catalog, ModelSpec, WindowSpec
from agent.publisher import Publisher
from agent.sdk import log_labels
from agent.settings import KafkaSettings, PublisherSettings
from deploy.broker import LocalBroker
from deploy.config import Settings
from deploy.demo_data import demo_features, demo_labels, demo_reference
from deploy.demo_model import PREDICT_PATH, READY_PATH, LocalDemoModel
from deploy.local_agent import LocalAgent
from deploy.prometheus import LocalPrometheus, prometheus_binary
from deploy.services import AggregatorService
from drift.core.results import DriftStatus

__all__ = ["DemoOptions", "DemoReport", "run_demo"]

log = logging.getLogger(__name__)

EXAMPLE_CATALOG = Path(__file__).resolve().parent.parent / "examples" / "models.yaml"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """Knobs of the demo. ``duration`` None runs until interrupted."""

    catalog: Path = EXAMPLE_CATALOG
    duration: float | None = None
    drift_after: float = 45.0
    rate: float = 2_000.0  # predictions per second
    window_seconds: float | None = None  # overrides the catalog's window size
    report_every: float = 5.0
    prometheus: bool = True
    metrics_port: int = 9400
    workdir: Path = Path(".modelmon-demo")  # the window archive and the drift report go here
    html_report: bool = True  # write Evidently's report of the last window at the end (if installed)
    label_delay: float = 5.0  # seconds from a prediction to its ground-truth label


@dataclass
class DemoReport:
    """What the demo did, for its summary and its test."""

    sent: int = 0
    labels_sent: int = 0
    windows: int = 0
    max_drift_share_before: float = 0.0
    max_drift_share_after: float = 0.0
    metrics_url: str = ""
    prometheus_url: str | None = None
    segments: int = 0  # segment windows closed
    multivariate_alarms_before: int = 0  # multivariate drift flagged before drift was injected
    report_path: Path | None = None
    dashboards_path: Path | None = None  # the generated Grafana dashboards
    # realized accuracy of the latest labelled window before / after the injected drift
    accuracy_before: float | None = None
    accuracy_after: float | None = None
    estimated_before: float | None = None  # CBPE's accuracy estimate of the latest window before drift
    # |estimated - realized| accuracy of the latest window before the drift that has most of its labels
    estimate_gap_before: float | None = None


def _has_labels(path: Path, model: ModelSpec) -> bool:
    """The demo's reference exists and holds its labels (older demos wrote it without them)."""
    if not path.exists():
        return False
    import pyarrow.parquet as pq

    return model.quality is None or model.quality.label in pq.read_schema(path).names


def _prepare_catalog(options: DemoOptions) -> Catalog:
    catalog = load_catalog(options.catalog)
    for model in catalog:
        for version in model.versions:
            reference = model.reference_for(version)
            if (
                reference is not None
                and reference.path is not None
                and not _has_labels(reference.path, model)
            ):
                reference.path.parent.mkdir(parents=True, exist_ok=True)
                demo_reference().to_parquet(reference.path, index=False)
                print(f"  wrote the reference dataset {reference.path}")
    if options.window_seconds:
        window = WindowSpec(options.window_seconds, min(2.0, options.window_seconds / 5))
        catalog = Catalog({k: replace(m, window=window) for k, m in catalog.models.items()}, catalog.source)
    return catalog


def _traffic(
    agent_port: int,
    labels: Publisher,
    model: ModelSpec,
    options: DemoOptions,
    start: float,
    stop: threading.Event,
    report: DemoReport,
) -> None:
    """Calls to the demo model through the agent at the demo's rate, 20 applicants a call (KServe v1);
    the label of each scored applicant follows ``label_delay`` seconds later, by its row's request id."""
    rng = np.random.default_rng(42)
    per_call = 20
    period = per_call / options.rate
    names = [c.name for c in model.features]
    waiting: deque[tuple[float, list[str], np.ndarray]] = deque()
    conn = http.client.HTTPConnection("127.0.0.1", agent_port, timeout=30)
    sequence = 0
    next_at = time.monotonic()
    try:
        while not stop.is_set():
            now = time.time()
            drifted = now - start >= options.drift_after
            features = demo_features(rng, per_call, drifted=drifted)
            columns = [features[name].tolist() for name in names]
            body = json.dumps(
                {"instances": [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]}
            )
            request_id = f"demo-{sequence}"
            sequence += 1
            try:
                conn.request("POST", PREDICT_PATH, body=body, headers={"x-request-id": request_id})
                response = conn.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as exc:
                log.warning("the demo client's call failed: %s", exc)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", agent_port, timeout=30)
                stop.wait(0.5)
                continue
            report.sent += per_call  # every call is captured, errors included (their features, no score)
            if response.status == 200 and model.quality is not None:
                scores = np.array([p["score"] for p in json.loads(answer)["predictions"]])
                ids = [f"{request_id}:{i}" for i in range(per_call)]  # the agent's id of each row
                waiting.append((now + options.label_delay, ids, demo_labels(rng, scores, drifted=drifted)))
            while model.quality is not None and waiting and waiting[0][0] <= now:
                _, due_ids, truth = waiting.popleft()
                report.labels_sent += log_labels(
                    labels, model.identity, {model.quality.label: truth}, request_ids=due_ids
                )
            next_at += period
            stop.wait(max(0.0, next_at - time.monotonic()))  # the demo's pace
    finally:
        conn.close()


def _hardware_line(service: AggregatorService, model: ModelSpec, seen: dict[str, tuple[float, float]]) -> str:
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
    share = f"{(cpu - before[0]) / (now - before[1]):.0%} of a core" if before and now > before[1] else "-"
    threads = values.get("modelmon_model_process_threads", 0)
    return f"\n           model process: CPU {share} | RSS {rss / 1_048_576:,.0f} MB | threads {threads:.0f}"


def _agent_line(agent: LocalAgent) -> str:
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


class _WindowRecorder:
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


def _quality_line(service: AggregatorService, model: ModelSpec, report: DemoReport, drift_at: float) -> str:
    """The realized accuracy of the latest labelled window, and the estimate before labels."""
    parts = []
    for spec, result in service.store.quality():
        if spec.identity != model.identity or "accuracy" not in result.metrics.values:
            continue
        accuracy = result.metrics.values["accuracy"]
        if result.end_us / 1e6 <= drift_at:
            report.accuracy_before = accuracy
        elif result.key.start_us / 1e6 >= drift_at:
            report.accuracy_after = accuracy
        parts.append(
            f"accuracy realized {accuracy:.2f} (window ending {time.strftime('%H:%M:%S', time.localtime(result.end_us / 1e6))}, "
            f"{result.coverage:.0%} labelled)"
        )
    return ("\n           " + " | ".join(parts)) if parts else ""


def _summary(service: AggregatorService, model: ModelSpec, report: DemoReport, drifting: bool) -> str:
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
        line += f" | drift share {share:.2f}{joint} | p99 {p99}{estimated} | {scores}"
        segments = sorted(
            (s.latest.key.segment, s.latest.drift_share)
            for s in states
            if s.latest.key.segment and s.model.identity == model.identity
        )
        if segments:
            line += "\n           segments: " + ", ".join(
                f"{label} {'-' if value is None else f'{value:.2f}'}" for label, value in segments
            )
    return line + ("  [drift injected]" if drifting else "")


def _write_html_report(
    service: AggregatorService, catalog: Catalog, model: ModelSpec, workdir: Path
) -> Path | None:
    """Evidently's report of the last archived window of the whole model, when Evidently is installed."""
    import importlib.util

    from drift.adapters.archive import latest_window
    from drift.core.errors import DriftError

    archive = service.archive
    if archive is None:
        return None
    command = (
        f"modelmon report --catalog {catalog.source or EXAMPLE_CATALOG} --archive {archive.root} "
        f"--model {model.identity} --out report.html"
    )
    if importlib.util.find_spec("evidently") is None:
        print(f"  report      pip install 'modelmon[report]', then: {command}")
        return None
    from drift.adapters.report import report_window

    out = workdir / "report.html"
    try:
        report_window(model, latest_window(archive.root, model.identity), out)
    except DriftError as exc:
        print(f"  report      not written: {exc}")
        return None
    print(
        f"  report      {out.resolve()}  (Evidently's drift report of the last window; any other: {command} --window START)"
    )
    return out


def run_demo(
    options: DemoOptions,
    settings: Settings,
    *,
    stop: threading.Event | None = None,
    report: DemoReport | None = None,
) -> DemoReport:
    """Run the demo; returns when ``duration`` has passed or ``stop`` is set. ``report`` fills as it
    runs (its URLs are set once the parts are up), for a caller watching from another thread."""
    stop = stop or threading.Event()
    report = report if report is not None else DemoReport()
    print("modelmon demo — predictions → Kafka → aggregator → Prometheus metrics")
    catalog = _prepare_catalog(options)
    model = next(iter(catalog))
    from dashboards import generate as generate_dashboards

    dashboards = options.workdir / "dashboards"
    generate_dashboards(catalog, dashboards)
    report.dashboards_path = dashboards
    print(
        f"  dashboards  {dashboards.resolve()}/json (import into Grafana; ConfigMaps and "
        "GrafanaDashboards beside them, see docs/dashboards.md)"
    )
    broker: LocalBroker | None = None
    kafka = settings.kafka
    if kafka.bootstrap_servers == KafkaSettings().bootstrap_servers:
        broker = LocalBroker().start()
        kafka = replace(kafka, bootstrap_servers=(broker.bootstrap,))
        print(f"  broker      Tansu (memory-only) on {broker.bootstrap}")
    else:
        print(f"  broker      {','.join(kafka.bootstrap_servers)}")
    aggregator_settings = replace(
        settings.aggregator,
        archive_dir=settings.aggregator.archive_dir or options.workdir / "archive",
        kafka=kafka,
        metrics_port=options.metrics_port,
        metrics_host="127.0.0.1",
        session_timeout_ms=6_000,
        idle_advance_seconds=5.0,
    )
    service = AggregatorService.start(aggregator_settings, catalog)
    recorder = _WindowRecorder(service.aggregator.sink, service.store)
    service.aggregator.sink = service.aggregator.labels.sink = recorder
    report.metrics_url = f"http://127.0.0.1:{service.metrics_port}/metrics"
    print(f"  metrics     {report.metrics_url}")
    if service.archive is not None:
        print(f"  archive     {service.archive.root.resolve()} (every closed window's rows, for reports)")
    model_server = LocalDemoModel(options.workdir).start()
    agent = LocalAgent(
        model_server.port,
        ",".join(kafka.bootstrap_servers),
        catalog=catalog.source or options.catalog,
        work_dir=options.workdir / "agent",
        proxy={"model_ready_path": READY_PATH},
        capture={"model": model.identity, "version": model.versions[0], "batch_max_seconds": 0.5},
        publisher={"topic": aggregator_settings.topic},
        collectors={
            "model_pid": model_server.pid,
            "pod": "demo-pod",
            "interval_seconds": 2.0,
            "topic": aggregator_settings.hardware_topic,
        },
    ).start()
    print(
        f"  model       a KServe v1 server on 127.0.0.1:{model_server.port}, behind the agent on "
        f"127.0.0.1:{agent.port} (try: curl -d @- 127.0.0.1:{agent.port}{PREDICT_PATH})"
    )
    print(
        f"  agent       http://127.0.0.1:{agent.admin_port}/metrics (and /healthz, /readyz); log {agent.log_path}"
    )
    prometheus: LocalPrometheus | None = None
    if options.prometheus and prometheus_binary():
        prometheus = LocalPrometheus(
            [f"127.0.0.1:{service.metrics_port}", f"127.0.0.1:{agent.admin_port}"]
        ).start()
        report.prometheus_url = prometheus.url
        print(f"  prometheus  {prometheus.url}/graph?g0.expr=modelmon_feature_drift_score")
    else:
        print("  prometheus  not installed (apt-get install prometheus) — metrics are still on the URL above")
    label_publisher = Publisher(kafka, PublisherSettings(topic=aggregator_settings.labels_topic))
    start = time.time()
    print(
        f"  traffic     {model.identity} at {options.rate:,.0f} predictions/s; "
        f"drift injected after {options.drift_after:.0f}s (income ×1.6, age +8, and defaults "
        f"more likely than scored); labels {options.label_delay:.0f}s after their predictions"
    )
    print("  waiting for the consumer group to form and the first window to close …")
    hardware_seen: dict[str, tuple[float, float]] = {}  # the last CPU seconds seen, and when
    traffic_stop = threading.Event()
    traffic = threading.Thread(
        target=_traffic,
        args=(agent.port, label_publisher, model, options, start, traffic_stop, report),
        daemon=True,
    )
    traffic.start()
    try:
        while not stop.is_set():
            elapsed = time.time() - start
            if options.duration is not None and elapsed >= options.duration:
                break
            stop.wait(options.report_every)
            print(
                f"  [{time.time() - start:5.0f}s] "
                + _summary(
                    service,
                    model,
                    report,
                    time.time() - start >= options.drift_after + model.window.size_seconds,
                )
                + _quality_line(service, model, report, start + options.drift_after)
                + _agent_line(agent)
                + _hardware_line(service, model, hardware_seen)
            )
    except KeyboardInterrupt:
        print("  interrupted")
    finally:
        traffic_stop.set()
        traffic.join(5)
        agent.stop()  # delivers what it captured before it exits
        model_server.stop()
        label_publisher.close(10)
        service.stop()
        if options.html_report:
            report.report_path = _write_html_report(service, catalog, model, options.workdir)
        report.estimate_gap_before = recorder.estimate_gap(
            int((start + options.drift_after) * 1e6) - int(model.window.size_seconds * 1e6)
        )
        if prometheus:
            prometheus.stop()
        if broker:
            broker.stop()
    print(
        f"done: {report.sent:,} predictions sent, {report.windows} windows closed "
        f"(and {report.segments} segment windows); max drift share "
        f"{report.max_drift_share_before:.2f} before the injected drift, "
        f"{report.max_drift_share_after:.2f} after; {report.labels_sent:,} labels sent"
    )
    return report
