"""The ``modelmon`` command line: ``demo``, ``aggregator run``, ``catalog check``."""

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
from deploy.config import load_settings
from drift.core.errors import DriftError

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

    catalog = sub.add_parser("catalog", help="model catalog tools")
    catalog_sub = catalog.add_subparsers(dest="action", required=True)
    check = catalog_sub.add_parser("check", help="validate a catalog file")
    check.add_argument("path", type=Path)
    return parser


def _run_aggregator(args: argparse.Namespace) -> int:
    from deploy.services import AggregatorService

    settings = load_settings(args.config, os.environ)
    catalog = load_catalog(args.catalog)
    service = AggregatorService.start(settings.aggregator, catalog)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    print(f"aggregator: {len(catalog)} model(s); metrics on :{service.metrics_port}/metrics", flush=True)
    done.wait()
    service.stop()
    return 0


def _build_reference(args: argparse.Namespace) -> int:
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
    with tqdm(total=len(model.columns), unit="column", desc=f"profiling {len(frame):,} rows") as bar:
        profile = build_reference(
            frame,
            model,
            args.version,
            source=str(args.data),
            progress=lambda name: (bar.set_postfix_str(name), bar.update()),
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(reference_to_table(profile), args.out)
    print(
        f"{args.out}: {model.identity} {args.version}, {profile.rows:,} rows, columns {sorted(profile.columns)}"
    )
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
        return _run_demo(args)
    except (AgentError, DriftError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
