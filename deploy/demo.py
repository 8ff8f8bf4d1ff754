"""``make demo``: the whole path on one machine, with live progress.

Broker (Tansu, or any Kafka via MODELMON_KAFKA_BOOTSTRAP) → a synthetic demo model logging its
predictions through the agent's publisher → the aggregator (windows, drift, latency) → /metrics
→ a local Prometheus when one is installed. Drift is injected part way through.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from agent.catalog.load import load_catalog
from agent.catalog.model import Catalog, ModelSpec, WindowSpec
from agent.publisher import Publisher
from agent.sdk import log_predictions
from agent.settings import KafkaSettings, PublisherSettings
from deploy.broker import LocalBroker
from deploy.config import Settings
from deploy.demo_data import demo_batch, demo_reference
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


@dataclass
class DemoReport:
    """What the demo did, for its summary and its test."""

    sent: int = 0
    windows: int = 0
    max_drift_share_before: float = 0.0
    max_drift_share_after: float = 0.0
    metrics_url: str = ""
    prometheus_url: str | None = None
    segments: int = 0  # segment windows closed
    multivariate_alarms_before: int = 0  # multivariate drift flagged before drift was injected
    report_path: Path | None = None


def _prepare_catalog(options: DemoOptions) -> Catalog:
    catalog = load_catalog(options.catalog)
    for model in catalog:
        for version in model.versions:
            reference = model.reference_for(version)
            if reference is not None and not reference.path.exists():
                reference.path.parent.mkdir(parents=True, exist_ok=True)
                demo_reference().to_parquet(reference.path, index=False)
                print(f"  wrote the reference dataset {reference.path}")
    if options.window_seconds:
        window = WindowSpec(options.window_seconds, min(2.0, options.window_seconds / 5))
        catalog = Catalog({k: replace(m, window=window) for k, m in catalog.models.items()}, catalog.source)
    return catalog


def _traffic(
    publisher: Publisher,
    model: ModelSpec,
    options: DemoOptions,
    start: float,
    stop: threading.Event,
    report: DemoReport,
) -> None:
    rng = np.random.default_rng(42)
    batch = max(1, int(options.rate / 10))
    while not stop.is_set():
        drifted = time.time() - start >= options.drift_after
        features, outputs = demo_batch(rng, batch, drifted=drifted)
        latencies = rng.gamma(2.0, 0.01, batch)
        statuses = np.where(rng.random(batch) < 0.01, 500, 200)
        report.sent += log_predictions(
            publisher,
            model.identity,
            features,
            outputs,
            version=model.versions[0],
            latencies=latencies,
            status_codes=statuses,
            spec=model,
        )
        stop.wait(0.1)


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
        p99 = f"{result.latency.p99 * 1000:.0f}ms" if result.latency else "-"
        names = {"pca_reconstruction": "pca", "domain_classifier": "auc"}
        joint = "".join(
            f" | {names.get(m.method, m.method)} {m.score:.2f}{'*' if m.drifted else ''}"
            for m in result.multivariate
        )
        line += f" | drift share {share:.2f}{joint} | p99 {p99} | {scores}"
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


def run_demo(options: DemoOptions, settings: Settings, *, stop: threading.Event | None = None) -> DemoReport:
    """Run the demo; returns when ``duration`` has passed or ``stop`` is set."""
    stop = stop or threading.Event()
    report = DemoReport()
    print("modelmon demo — predictions → Kafka → aggregator → Prometheus metrics")
    catalog = _prepare_catalog(options)
    model = next(iter(catalog))
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
    report.metrics_url = f"http://127.0.0.1:{service.metrics_port}/metrics"
    print(f"  metrics     {report.metrics_url}")
    if service.archive is not None:
        print(f"  archive     {service.archive.root.resolve()} (every closed window's rows, for reports)")
    prometheus: LocalPrometheus | None = None
    if options.prometheus and prometheus_binary():
        prometheus = LocalPrometheus([f"127.0.0.1:{service.metrics_port}"]).start()
        report.prometheus_url = prometheus.url
        print(f"  prometheus  {prometheus.url}/graph?g0.expr=modelmon_feature_drift_score")
    else:
        print("  prometheus  not installed (apt-get install prometheus) — metrics are still on the URL above")
    publisher = Publisher(kafka, PublisherSettings())
    start = time.time()
    print(
        f"  model       {model.identity} at {options.rate:,.0f} predictions/s; "
        f"drift injected after {options.drift_after:.0f}s (income ×1.6, age +8)"
    )
    print("  waiting for the consumer group to form and the first window to close …")
    traffic_stop = threading.Event()
    traffic = threading.Thread(
        target=_traffic, args=(publisher, model, options, start, traffic_stop, report), daemon=True
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
            )
    except KeyboardInterrupt:
        print("  interrupted")
    finally:
        traffic_stop.set()
        traffic.join(5)
        publisher.close(10)
        service.stop()
        if options.html_report:
            report.report_path = _write_html_report(service, catalog, model, options.workdir)
        if prometheus:
            prometheus.stop()
        if broker:
            broker.stop()
    print(
        f"done: {report.sent:,} predictions sent, {report.windows} windows closed "
        f"(and {report.segments} segment windows); max drift share "
        f"{report.max_drift_share_before:.2f} before the injected drift, "
        f"{report.max_drift_share_after:.2f} after"
    )
    return report
