"""The sidecar's process entry point: ``modelmon-agent`` (also ``modelmon agent run``).

It imports only the agent's light modules (no pandas, scipy or the drift core), so the sidecar
starts fast and stays small. On SIGTERM or SIGINT it stops taking connections, lets calls in
flight finish, and delivers (or spools) what it captured.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.abc
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deploy.config import Settings

__all__ = ["main", "serve"]

log = logging.getLogger(__name__)


async def serve(settings: Settings, catalog_path: Path | None, ready: asyncio.Event | None = None) -> None:
    """Run a sidecar until SIGTERM/SIGINT."""
    import pyarrow as pa

    from agent.catalog.load import load_catalog, parse_catalog
    from agent.sidecar import Sidecar

    # The agent's batches are small and short-lived: the C library's allocator gives their memory
    # back, where jemalloc's arenas keep ≈12 MB of it (measured; docs/performance.md).
    pa.set_memory_pool(pa.system_memory_pool())
    # The event loop shares the GIL with the capture, publisher and Kafka threads; by default a
    # waiting thread gets it after 5 ms, which would show in the model's p99. Hand it over sooner.
    sys.setswitchinterval(0.0005)
    provider = None
    if settings.tracing.exporter != "none":
        from agent.tracing import make_tracer_provider  # OpenTelemetry loads only when traces are on

        provider = make_tracer_provider(settings.tracing)
    spec = None
    if catalog_path is not None or settings.capture.catalog_yaml:
        catalog = (
            load_catalog(catalog_path)
            if catalog_path is not None
            else parse_catalog(settings.capture.catalog_yaml or "")
        )
        spec = catalog.get(settings.capture.model)
        if spec is None:
            log.warning(
                "model %s is not in %s: calls are captured as metadata only",
                settings.capture.model,
                catalog_path or "MODELMON_CATALOG_YAML",
            )
    sidecar = Sidecar(
        settings.proxy,
        settings.capture,
        settings.kafka,
        settings.publisher,
        spec,
        tracer_provider=provider,
        collectors=settings.collectors,
    )
    await sidecar.start()
    print(
        f"modelmon-agent: :{sidecar.proxy.port} → {settings.proxy.upstream_host}:{settings.proxy.upstream_port}; "
        f"metrics, health on :{sidecar.admin.port}",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.set()
    await stop.wait()
    await sidecar.close()
    if provider is not None:
        provider.shutdown()


class _HideUnused(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] in ("pandas", "numpy"):
            raise ModuleNotFoundError(f"{name} is not used by the sidecar", name=name)


def main(argv: list[str] | None = None) -> int:
    # The sidecar uses neither pandas nor NumPy, but pyarrow imports them when they are installed
    # (NumPy at import, pandas ≈40 MB on the first array conversion, only to check for their
    # types). Hiding them keeps the agent within its memory target.
    if "pandas" not in sys.modules and "numpy" not in sys.modules:
        sys.meta_path.insert(0, _HideUnused())
    parser = argparse.ArgumentParser(prog="modelmon-agent", description="modelmon's sidecar agent")
    parser.add_argument(
        "--config", type=Path, help="settings YAML (MODELMON_* environment variables override it)"
    )
    parser.add_argument(
        "--catalog", type=Path, help="the model catalog (without it, calls are metadata only)"
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("kafka").setLevel(logging.ERROR)  # its reconnect chatter while Kafka is down
    from agent.errors import AgentError, ConfigError
    from deploy.config import load_settings

    try:
        settings = load_settings(args.config, os.environ)
        if settings.proxy.event_loop == "uvloop":
            import uvloop

            uvloop.run(serve(settings, args.catalog))
        elif settings.proxy.event_loop == "asyncio":
            asyncio.run(serve(settings, args.catalog))
        else:
            raise ConfigError(
                f"proxy.event_loop must be uvloop or asyncio, not {settings.proxy.event_loop!r}"
            )
    except AgentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
