"""The ``modelmon`` command line: ``demo``, ``aggregator run``, ``reference build``, ``report``,
``dashboards generate``, ``alerts generate``, ``retrain serve``, ``inject serve``, ``catalog check``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from agent.catalog.durations import parse_duration
from agent.catalog.load import load_catalog
from agent.errors import AgentError
from alerts.retrain.errors import RetrainError
from deploy.config import load_settings

__all__ = ["main"]


def _duration(text: str) -> float:
    try:
        return parse_duration(float(text) if text.replace(".", "", 1).isdigit() else text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelmon", description="Model monitoring for Kubernetes and OpenShift."
    )
    parser.add_argument(
        "--config", type=Path, help="settings YAML (MODELMON_* environment variables override it)"
    )
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the whole pipeline on this machine with synthetic traffic")
    demo.add_argument("--duration", type=_duration, help="stop after this long (default: until Ctrl-C)")
    demo.add_argument("--drift-after", type=_duration, default=45.0, help="inject drift after this long")
    demo.add_argument("--rate", type=float, default=2000.0, help="predictions per second")
    demo.add_argument("--window", type=_duration, help="override the catalog's window size")
    demo.add_argument("--catalog", type=Path, help="model catalog (default: examples/models.yaml)")
    demo.add_argument("--metrics-port", type=int, default=9400)
    demo.add_argument("--no-prometheus", action="store_true", help="do not start a local Prometheus")

    aggregator = sub.add_parser("aggregator", help="the aggregator process")
    aggregator_sub = aggregator.add_subparsers(dest="action", required=True)
    run = aggregator_sub.add_parser("run", help="consume predictions and serve /metrics")
    run.add_argument("--catalog", type=Path, required=True)

    reference = sub.add_parser("reference", help="reference profiles")
    reference_sub = reference.add_subparsers(dest="action", required=True)
    build = reference_sub.add_parser("build", help="profile training data once, for the aggregator to load")
    build.add_argument("--catalog", type=Path, required=True)
    build.add_argument("--model", required=True, help="namespace/name")
    build.add_argument("--version", default="*", help="the model version it describes (default: any)")
    build.add_argument("--data", type=Path, required=True, help="training data, CSV or Parquet")
    build.add_argument("--out", type=Path, required=True, help="the profile file to write (.parquet)")

    report = sub.add_parser(
        "report",
        help="an Evidently HTML drift report of an archived window (needs modelmon[report])",
        description="Write Evidently's data drift report of one archived window against the model "
        "version's reference, or list the archived windows (--list).",
    )
    report.add_argument(
        "--archive",
        type=Path,
        help="the window archive (default: the aggregator's archive_dir setting / MODELMON_ARCHIVE_DIR)",
    )
    report.add_argument("--list", action="store_true", help="list the archived windows and exit")
    report.add_argument("--catalog", type=Path, help="the model catalog (required unless --list)")
    report.add_argument("--model", help="namespace/name (required unless --list)")
    report.add_argument("--version", help="the model version (default: any, the latest with --latest)")
    which = report.add_mutually_exclusive_group()
    which.add_argument(
        "--window",
        metavar="START",
        help="the window starting at (or containing) this time: 20261204T215000Z, ISO 8601 or epoch seconds",
    )
    which.add_argument("--latest", action="store_true", help="the latest archived window (the default)")
    report.add_argument("--segment", default="", help="a segment, column=value (default: the whole model)")
    report.add_argument(
        "--reference", type=Path, help="compare with this file instead of the catalog's reference"
    )
    report.add_argument("--out", type=Path, help="the HTML file to write (required unless --list)")

    dashboards = sub.add_parser("dashboards", help="Grafana dashboards generated from the catalog")
    dashboards_sub = dashboards.add_subparsers(dest="action", required=True)
    generate = dashboards_sub.add_parser(
        "generate",
        help="write the fleet, pipeline and per-model dashboards as JSON, ConfigMaps and GrafanaDashboards",
    )
    generate.add_argument("--catalog", type=Path, required=True)
    generate.add_argument("--out", type=Path, required=True, help="the folder to write into")

    alerts = sub.add_parser("alerts", help="Prometheus alert rules generated from the catalog")
    alerts_sub = alerts.add_subparsers(dest="action", required=True)
    rules = alerts_sub.add_parser(
        "generate",
        help="write rule files with their promtool tests, PrometheusRules and the Alertmanager route",
    )
    rules.add_argument("--catalog", type=Path, required=True)
    rules.add_argument("--out", type=Path, required=True, help="the folder to write into")
    rules.add_argument("--grafana-url", default="http://localhost:3000", help="base of the dashboard links")
    rules.add_argument(
        "--retrain-url",
        default="http://modelmon-retrain.modelmon.svc:8080",
        help="the retraining service, as Alertmanager reaches it",
    )
    rules.add_argument("--namespace", default="modelmon", help="namespace of the fleet-wide resources")
    rules.add_argument(
        "--namespace-label",
        default="namespace",
        choices=["namespace", "exported_namespace"],
        help="the model's namespace label on the aggregator's series: exported_namespace for OpenShift "
        "user-workload monitoring (rules split per namespace, PodMonitors per model namespace)",
    )
    rules.add_argument(
        "--rule-label",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="label for PrometheusRule resources (the operator's ruleSelector); repeatable",
    )

    retrain = sub.add_parser("retrain", help="the retraining service")
    retrain_sub = retrain.add_subparsers(dest="action", required=True)
    serve = retrain_sub.add_parser("serve", help="turn Alertmanager webhooks into pipeline runs")
    serve.add_argument("--catalog", type=Path, required=True, help="models and their retraining targets")

    inject = sub.add_parser("inject", help="the sidecar injector")
    inject_sub = inject.add_subparsers(dest="action", required=True)
    inject_sub.add_parser("serve", help="the mutating admission webhook that adds the agent to pods (HTTPS)")

    catalog = sub.add_parser("catalog", help="model catalog tools")
    catalog_sub = catalog.add_subparsers(dest="action", required=True)
    check = catalog_sub.add_parser("check", help="validate a catalog file")
    check.add_argument("path", type=Path)
    return parser


def _run_aggregator(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from agent.tracing import make_tracer_provider
    from deploy.services import AggregatorService

    settings = load_settings(args.config, os.environ)
    catalog = load_catalog(args.catalog)
    tracing = settings.tracing
    if tracing.service_name == "modelmon-agent":  # the default names the sidecar
        tracing = replace(tracing, service_name="modelmon-aggregator")
    provider = make_tracer_provider(tracing)
    service = AggregatorService.start(settings.aggregator, catalog, tracer_provider=provider)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    print(f"aggregator: {len(catalog)} model(s); metrics on :{service.metrics_port}/metrics", flush=True)
    done.wait()
    service.stop()
    if provider is not None:
        provider.shutdown()
    return 0


def _build_reference(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.parquet as pq
    from tqdm import tqdm

    from drift.adapters.references import read_reference_frame
    from drift.core.reference import build_reference, reference_to_table

    catalog = load_catalog(args.catalog)
    model = catalog.get(args.model)
    if model is None:
        print(
            f"error: model {args.model!r} is not in {args.catalog} ({sorted(catalog.models)})",
            file=sys.stderr,
        )
        return 2
    frame = read_reference_frame(args.data)
    with (
        tqdm(total=len(model.columns), unit="column", desc=f"profiling {len(frame):,} rows") as bar,
        ThreadPoolExecutor(os.cpu_count()) as pool,
    ):
        profile = build_reference(
            frame,
            model,
            args.version,
            source=str(args.data),
            progress=lambda name: (bar.set_postfix_str(name), bar.update()),
            executor=pool,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(reference_to_table(profile), args.out)
    print(
        f"{args.out}: {model.identity} {args.version}, {profile.rows:,} rows, columns {sorted(profile.columns)}"
    )
    return 0


def _report(args: argparse.Namespace) -> int:
    from drift.adapters.archive import ALL_SEGMENTS, ArchiveError, find_window, latest_window, list_windows

    archive = args.archive or load_settings(args.config, os.environ).aggregator.archive_dir
    if archive is None:
        raise ArchiveError(
            "no window archive: give --archive, or set aggregator.archive_dir / MODELMON_ARCHIVE_DIR"
        )
    if args.list:
        segment = args.segment if args.segment else None
        windows = list_windows(archive, args.model, version=args.version, segment=segment)
        for w in windows:
            share = "-" if w.drift_share is None else f"{w.drift_share:.2f}"
            drifted = "drifted" if w.dataset_drifted else "ok"
            print(
                f"{w.model}\t{w.version}\t{w.segment or ALL_SEGMENTS}\t{w.start}\t"
                f"{w.records} records\tdrift share {share}\t{drifted}"
            )
        print(f"{len(windows)} window(s) in {archive}", file=sys.stderr)
        return 0
    missing = [f"--{name}" for name in ("catalog", "model", "out") if getattr(args, name) is None]
    if missing:
        print(f"error: modelmon report needs {', '.join(missing)} (or --list)", file=sys.stderr)
        return 2
    from drift.adapters.report import report_window

    catalog = load_catalog(args.catalog)
    model = catalog.get(args.model)
    if model is None:
        raise ArchiveError(f"model {args.model!r} is not in {args.catalog} ({sorted(catalog.models)})")
    if args.window is not None:
        window = find_window(archive, model.identity, args.version, args.window, args.segment)
    else:
        window = latest_window(archive, model.identity, args.version, args.segment)
    summary = report_window(model, window, args.out, archive=archive, reference_path=args.reference)
    print(
        f"{summary.path}: {model.identity} {window.version} {window.segment or ALL_SEGMENTS} {window.start}, "
        f"{summary.current_rows:,} rows against {summary.reference_rows:,} reference rows "
        f"({summary.reference}); columns {list(summary.columns)}"
    )
    if summary.drift_share is not None:
        verdict = "dataset drift" if summary.dataset_drifted else "no dataset drift"
        print(
            f"Evidently: {summary.drifted_count} of {len(summary.columns)} column(s) drifted "
            f"(share {summary.drift_share:.2f}): {verdict}"
        )
    for column, why in summary.skipped.items():
        print(f"  skipped {column}: {why}", file=sys.stderr)
    return 0


def _generate_alerts(args: argparse.Namespace) -> int:
    from alerts import AlertSettings, generate

    labels = dict(item.split("=", 1) for item in args.rule_label if "=" in item)
    if len(labels) != len(args.rule_label):
        raise SystemExit("error: --rule-label takes KEY=VALUE")
    settings = AlertSettings(
        grafana_url=args.grafana_url,
        retrain_url=args.retrain_url,
        namespace=args.namespace,
        rule_labels=labels,
        namespace_label=args.namespace_label,
    )
    written = generate(load_catalog(args.catalog), args.out, settings)
    print(f"wrote {len(written)} files under {args.out} (rules/, prometheusrules/, alertmanager/)")
    print(
        f"check them: promtool check rules {args.out}/rules/*.rules.yml && promtool test rules {args.out}/rules/*.test.yml"
    )
    return 0


def _serve_retrain(args: argparse.Namespace) -> int:
    from alerts.retrain import RetrainService

    settings = load_settings(args.config, os.environ).retrain
    service = RetrainService(settings, load_catalog(args.catalog), env=os.environ).start()
    _serve_until_signalled(f"retraining service on {service.url} (database {settings.database})")
    service.stop()
    return 0


def _serve_until_signalled(banner: str) -> None:
    """Print ``banner``, then wait for SIGTERM (Kubernetes stopping the pod) or SIGINT."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(banner, flush=True)
    stop.wait()


def _serve_injector(args: argparse.Namespace) -> int:
    from agent.injector import CatalogEntries, DefaultsFile, InjectorServer
    from agent.tls import ReloadingTLS

    settings = load_settings(args.config, os.environ).injector
    tls = ReloadingTLS(settings.cert_file, settings.key_file)
    server = InjectorServer(
        settings.host,
        settings.port,
        tls,
        DefaultsFile(settings.defaults_file),
        CatalogEntries(settings.catalog_file),
    ).start()
    _serve_until_signalled(f"injector on https://{settings.host}:{server.server_port}/mutate")
    server.stop()
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    from deploy.demo import EXAMPLE_CATALOG, DemoOptions, run_demo

    options = DemoOptions(
        catalog=args.catalog or EXAMPLE_CATALOG,
        duration=args.duration,
        drift_after=args.drift_after,
        rate=args.rate,
        window_seconds=args.window,
        prometheus=not args.no_prometheus,
        metrics_port=args.metrics_port,
    )
    run_demo(options, load_settings(args.config, os.environ))
    return 0


def _drift_errors() -> tuple[type[Exception], ...]:
    """The aggregator's errors, imported only once one is raised: ``drift.core`` loads pandas and
    scipy, which the injector and the retraining service do without (the injector's memory limit)."""
    from drift.core.errors import DriftError

    return (DriftError,)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "demo":
        logging.getLogger("kafka").setLevel(logging.ERROR)
        logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        if args.command == "catalog":
            catalog = load_catalog(args.path)
            print(f"{args.path}: {len(catalog)} model(s) OK: {', '.join(sorted(catalog.models))}")
            return 0
        if args.command == "aggregator":
            return _run_aggregator(args)
        if args.command == "reference":
            return _build_reference(args)
        if args.command == "report":
            return _report(args)
        if args.command == "dashboards":
            from dashboards import generate as generate_dashboards

            written = generate_dashboards(load_catalog(args.catalog), args.out)
            print(f"wrote {len(written)} files under {args.out} (json/, configmaps/, grafanadashboards/)")
            return 0
        if args.command == "alerts":
            return _generate_alerts(args)
        if args.command == "retrain":
            return _serve_retrain(args)
        if args.command == "inject":
            return _serve_injector(args)
        return _run_demo(args)
    except Exception as exc:
        if not isinstance(exc, (AgentError, RetrainError, *_drift_errors())):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
