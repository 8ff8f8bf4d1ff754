"""The sidecar process: proxy, capture worker, batcher, publisher and admin port, wired together.

::

    client ──▶ ProxyServer ──▶ model            (every byte, untouched)
                   │ Call (bounded queue, never waits)
                   ▼
               Capturer ──▶ Batcher ──▶ Publisher ──▶ Kafka
              (parse, span)  (by size/age)   │  ▲ replay in order
                                             ▼  │
                                           disk spool (bounded)

The event loop runs the proxy and the admin port; parsing, batching and Kafka run on their own
threads, so a slow or absent broker never reaches the model's traffic.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry

from agent.admin import AdminServer, ModelReadiness
from agent.batcher import Batcher
from agent.capture import Capturer
from agent.catalog.model import ModelSpec
from agent.hardware import HardwareLoop
from agent.metrics import AgentMetrics
from agent.proxy import ProxyServer
from agent.publisher import Producer, Publisher, kafka_producer_factory
from agent.sampling import Sampler
from agent.settings import CaptureSettings, KafkaSettings, ProxySettings, PublisherSettings
from collectors.build import build_collectors
from collectors.settings import CollectorSettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

__all__ = ["Sidecar"]

log = logging.getLogger(__name__)


class Sidecar:
    """Everything one model pod's agent runs. ``start()`` and ``close()`` on the agent's event loop."""

    def __init__(
        self,
        proxy: ProxySettings,
        capture: CaptureSettings,
        kafka: KafkaSettings,
        publisher: PublisherSettings,
        spec: ModelSpec | None,
        *,
        tracer_provider: TracerProvider | None = None,
        producer_factory: Callable[[KafkaSettings, PublisherSettings], Producer] = kafka_producer_factory,
        registry: CollectorRegistry | None = None,
        collectors: CollectorSettings | None = None,
        nvml: Any = None,
    ) -> None:
        """``collectors``: the hardware collectors' settings (None: none run); ``nvml`` passes an NVML
        handle in (tests), else it is loaded when ``collectors.gpu``."""
        self.metrics = AgentMetrics(capture.model, capture.version, registry)
        self.publisher = Publisher(
            kafka, publisher, producer_factory=producer_factory, on_delivered=self.metrics.delivered
        )
        tracing = None
        if tracer_provider is not None:
            from agent.tracing import CallTracing  # OpenTelemetry loads only when traces are on

            tracing = CallTracing(tracer_provider, capture.model)
        self.batcher = Batcher(
            self.publisher,
            specs={capture.model: spec} if spec is not None else None,
            max_rows=capture.batch_max_rows,
            max_seconds=capture.batch_max_seconds,
            tracing=tracing,
        )
        self.capturer = Capturer(
            capture, spec, self.batcher, max_parse_bytes=proxy.max_capture_bytes, tracing=tracing
        )
        self.readiness = ModelReadiness(proxy)
        self.metrics.capturer = self.capturer
        self.metrics.batcher = self.batcher
        self.metrics.publisher = self.publisher
        self.metrics.model_ready = lambda: self.readiness.ready
        self.proxy = ProxyServer(
            proxy, self.capturer, sampler=Sampler(capture.sample_fraction), observer=self.metrics
        )
        self.admin = AdminServer(proxy.admin_host, proxy.admin_port, self.metrics.registry, self.readiness)
        self.hardware: HardwareLoop | None = None
        self._hardware_publisher: Publisher | None = None
        if collectors is not None and collectors.enabled:
            # Its own small publisher: hardware samples are not spooled (the next cycle repeats them).
            self._hardware_publisher = Publisher(
                kafka,
                PublisherSettings(topic=collectors.topic, kind="hardware", queue_max_records=10_000),
                producer_factory=producer_factory,
            )
            self.hardware = HardwareLoop(
                build_collectors(collectors, nvml=nvml),
                self._hardware_publisher,
                model=capture.model,
                version=capture.version,
                pod=collectors.pod,
                interval=collectors.interval_seconds,
            )
            self.metrics.hardware = self.hardware

    async def start(self) -> None:
        self.capturer.start()
        if self.hardware is not None:
            self.hardware.start()
        await self.admin.start()
        self.readiness.start()
        await self.proxy.start()
        log.info(
            "agent on :%d → model %s:%d; /metrics on :%d",
            self.proxy.port,
            self.proxy.pool.host,
            self.proxy.pool.port,
            self.admin.port,
        )

    async def close(self, timeout: float = 10.0) -> None:
        """Stop taking calls, then deliver what was captured (spooling what Kafka does not take)."""
        await self.proxy.close()
        await self.readiness.close()
        await self.admin.close()
        await asyncio.to_thread(self.capturer.close, timeout)
        await asyncio.to_thread(self.publisher.close, timeout)
        if self.hardware is not None and self._hardware_publisher is not None:
            await asyncio.to_thread(self.hardware.close, timeout)
            await asyncio.to_thread(self._hardware_publisher.close, timeout)
