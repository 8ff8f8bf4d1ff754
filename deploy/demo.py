"""``make demo``: the whole path on one machine, with live progress.

Broker (Tansu, or any Kafka via MODELMON_KAFKA_BOOTSTRAP) → a demo model server (KServe v1)
behind the sidecar agent, called by a synthetic client → the aggregator (windows, drift, latency,
labels) → /metrics → a local Prometheus when one is installed, scraping the agent too. Drift is
injected part way through. With Prometheus and Alertmanager installed the loop closes: the generated
rules fire, Alertmanager calls the retraining service, which triggers the demo's pipeline; it
retrains the model as ``v2`` and rolls it out, and ``v1``'s alert resolves.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from agent.catalog.load import load_catalog
from agent.catalog.model import Catalog, ModelSpec, WindowSpec
from agent.publisher import Publisher
from agent.sdk import log_labels
from agent.settings import KafkaSettings, PublisherSettings
from deploy.broker import LocalBroker
from deploy.config import Settings
from deploy.demo_data import demo_features, demo_labels, demo_reference
from deploy.demo_inject import write_injected_pod
from deploy.demo_loop import start_retraining_loop as _start_retraining_loop
from deploy.demo_model import PREDICT_PATH, READY_PATH, LocalDemoModel
from deploy.demo_retrain import Deployment, RecentLabels, Serving
from deploy.demo_status import WindowRecorder, agent_line, hardware_line, quality_line, summary
from deploy.local_agent import LocalAgent
from deploy.processes import free_port
from deploy.prometheus import LocalPrometheus, prometheus_binary
from deploy.services import AggregatorService

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
    # the retraining loop (Prometheus and Alertmanager installed)
    alertmanager_url: str | None = None
    retrain_url: str | None = None
    triggers: list[str] = field(default_factory=list)  # delivered to the demo's pipeline
    rolled_out: str | None = None  # the version serving after retraining
    firing: set[str] = field(default_factory=set)  # versions with ModelmonDatasetDrift firing now
    alert_fired: bool = False
    alert_resolved_after_rollout: bool = False
    accuracy_retrained: float | None = None  # realized accuracy of v2's latest labelled window


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
        size = options.window_seconds
        window = WindowSpec(size, min(2.0, size / 5), idle_close_seconds=max(2.0, size))
        catalog = Catalog({k: replace(m, window=window) for k, m in catalog.models.items()}, catalog.source)
    return catalog


def _traffic(
    route: Callable[[], int],
    recent: RecentLabels,
    labels: Publisher,
    model: ModelSpec,
    options: DemoOptions,
    start: float,
    stop: threading.Event,
    report: DemoReport,
) -> None:
    """Calls to the demo model through the agent at the demo's rate, 20 applicants a call (KServe v1);
    the label of each scored applicant follows ``label_delay`` seconds later, by its row's request id.
    ``route`` says which agent serves now (it changes when a retrained version is rolled out)."""
    rng = np.random.default_rng(42)
    per_call = 20
    period = per_call / options.rate
    names = [c.name for c in model.features]
    waiting: deque[tuple[float, list[str], np.ndarray]] = deque()
    port = route()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sequence = 0
    next_at = time.monotonic()
    try:
        while not stop.is_set():
            if route() != port:  # a new version took over
                conn.close()
                port = route()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
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
                port = route()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                stop.wait(0.5)
                continue
            report.sent += per_call  # every call is captured, errors included (their features, no score)
            if response.status == 200 and model.quality is not None:
                scores = np.array([p["score"] for p in json.loads(answer)["predictions"]])
                ids = [f"{request_id}:{i}" for i in range(per_call)]  # the agent's id of each row
                truth = demo_labels(rng, scores, drifted=drifted)
                recent.add(scores, truth)
                waiting.append((now + options.label_delay, ids, truth))
            while model.quality is not None and waiting and waiting[0][0] <= now:
                _, due_ids, truth = waiting.popleft()
                report.labels_sent += log_labels(
                    labels, model.identity, {model.quality.label: truth}, request_ids=due_ids
                )
            next_at += period
            stop.wait(max(0.0, next_at - time.monotonic()))  # the demo's pace
    finally:
        conn.close()


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
    _, injected = write_injected_pod(catalog.source or options.catalog, model, options.workdir / "injector")
    print(
        f"  injector    {injected.resolve()}: the demo model's pod as the webhook injects it on a cluster "
        "(see docs/deploy.md)"
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
    recorder = WindowRecorder(service.aggregator.sink, service.store)
    service.aggregator.sink = service.aggregator.labels.sink = recorder
    report.metrics_url = f"http://127.0.0.1:{service.metrics_port}/metrics"
    print(f"  metrics     {report.metrics_url}")
    if service.archive is not None:
        print(f"  archive     {service.archive.root.resolve()} (every closed window's rows, for reports)")
    first = model.versions[0]

    def serve_version(
        version: str, calibration: tuple[float, float] | None, admin_port: int | None
    ) -> Serving:
        suffix = "" if version == first else f"-{version}"
        server = LocalDemoModel(options.workdir, calibration, name=f"demo-model{suffix}").start()
        sidecar = LocalAgent(
            server.port,
            ",".join(kafka.bootstrap_servers),
            catalog=catalog.source or options.catalog,
            work_dir=options.workdir / f"agent{suffix}",
            admin_port=admin_port,
            proxy={"model_ready_path": READY_PATH},
            capture={"model": model.identity, "version": version, "batch_max_seconds": 0.5},
            publisher={"topic": aggregator_settings.topic},
            collectors={
                "model_pid": server.pid,
                "pod": f"demo-pod{suffix}",
                "interval_seconds": 2.0,
                "topic": aggregator_settings.hardware_topic,
            },
        ).start()
        return Serving(version, server, sidecar)

    deployment = Deployment(serve_version(first, None, None), serve_version, admin_ports={"v2": free_port()})
    agent = deployment.current.agent
    model_server = deployment.current.model
    print(
        f"  model       a KServe v1 server on 127.0.0.1:{model_server.port}, behind the agent on "
        f"127.0.0.1:{agent.port} (try: curl -d @- 127.0.0.1:{agent.port}{PREDICT_PATH})"
    )
    print(
        f"  agent       http://127.0.0.1:{agent.admin_port}/metrics (and /healthz, /readyz); log {agent.log_path}"
    )
    recent = RecentLabels()
    scrape = [f"127.0.0.1:{service.metrics_port}", f"127.0.0.1:{agent.admin_port}"]
    scrape += [f"127.0.0.1:{port}" for port in deployment.admin_ports.values()]
    loop = _start_retraining_loop(options, catalog, model, deployment, recent, scrape, report, time.time())
    prometheus: LocalPrometheus | None = loop.stack.prometheus if loop.stack else None
    if prometheus is None and options.prometheus and prometheus_binary():
        prometheus = LocalPrometheus(scrape).start()
    if prometheus is not None:
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
        args=(deployment.port, recent, label_publisher, model, options, start, traffic_stop, report),
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
                + summary(
                    service,
                    model,
                    report,
                    time.time() - start >= options.drift_after + model.window.size_seconds,
                )
                + quality_line(service, model, report, start + options.drift_after)
                + agent_line(deployment.current.agent)
                + hardware_line(service, model, hardware_seen)
                + loop.status_line(model)
            )
    except KeyboardInterrupt:
        print("  interrupted")
    finally:
        traffic_stop.set()
        traffic.join(5)
        deployment.stop()  # the agent delivers what it captured before it exits
        label_publisher.close(10)
        service.stop()
        if options.html_report:
            report.report_path = _write_html_report(service, catalog, model, options.workdir)
        report.estimate_gap_before = recorder.estimate_gap(
            int((start + options.drift_after) * 1e6) - int(model.window.size_seconds * 1e6)
        )
        if loop.stack is not None:
            loop.stop()
        elif prometheus:
            prometheus.stop()
        if broker:
            broker.stop()
    print(
        f"done: {report.sent:,} predictions sent, {report.windows} windows closed "
        f"(and {report.segments} segment windows); max drift share "
        f"{report.max_drift_share_before:.2f} before the injected drift, "
        f"{report.max_drift_share_after:.2f} after; {report.labels_sent:,} labels sent"
    )
    if report.retrain_url:
        resolved = "resolved" if report.alert_resolved_after_rollout else "not resolved yet"
        print(
            f"retraining: {len(report.triggers)} trigger(s) for one incident; "
            f"{report.rolled_out or model.versions[0]} serving; the drift alert {resolved}"
            + (
                f"; v2 accuracy {report.accuracy_retrained:.2f}"
                if report.accuracy_retrained is not None
                else ""
            )
        )
    return report
