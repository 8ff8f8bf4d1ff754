"""Assemble the aggregator process from settings: checkpoints, the Kafka loop, the metrics server
and, when a token file is set, the label HTTP endpoint."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.trace import TracerProvider

from agent.catalog.model import Catalog
from agent.errors import ConfigError
from agent.publisher import Publisher
from agent.settings import PublisherSettings
from drift.adapters.aggregator import Aggregator, WindowSink
from drift.adapters.archive import FanOutSink, WindowArchive
from drift.adapters.checkpoints import KafkaCheckpointStore, ensure_topic
from drift.adapters.hardware import HardwareConsumer, HardwareStore
from drift.adapters.label_http import LabelApi
from drift.adapters.prometheus import ResultStore, serve_metrics
from drift.adapters.settings import AggregatorSettings
from drift.adapters.stats import AggregatorStats

__all__ = ["DEFAULT_PARTITIONS", "AggregatorService"]

log = logging.getLogger(__name__)

DEFAULT_PARTITIONS = 4


@dataclass
class AggregatorService:
    """A running aggregator: its loop thread, its metrics server and what it publishes into."""

    aggregator: Aggregator
    store: ResultStore
    stats: AggregatorStats
    metrics_port: int
    stop_event: threading.Event
    thread: threading.Thread
    server: Any
    failed: threading.Event
    archive: WindowArchive | None = None
    label_api: LabelApi | None = None
    hardware: HardwareConsumer | None = None

    @property
    def alive(self) -> bool:
        return self.thread.is_alive() and not self.failed.is_set()

    @classmethod
    def start(
        cls,
        settings: AggregatorSettings,
        catalog: Catalog,
        partitions: int = DEFAULT_PARTITIONS,
        tracer_provider: TracerProvider | None = None,
    ) -> AggregatorService:
        """Create the topics if needed, serve ``/metrics`` (and ``POST /v1/labels`` when
        ``label_api_token_file`` is set) and start consuming in a thread."""
        count = ensure_topic(settings.kafka, settings.topic, partitions)
        # Labels are keyed like predictions; as many partitions put a model's labels with its predictions.
        labels = ensure_topic(settings.kafka, settings.labels_topic, count)
        if labels != count:
            raise ConfigError(
                f"topic {settings.labels_topic} has {labels} partitions and {settings.topic} {count}: "
                "labels must be partitioned like predictions to reach the aggregator holding them"
            )
        checkpoints = KafkaCheckpointStore(settings.kafka, settings.resolved_checkpoint_topic, count)
        store = ResultStore()
        stats = AggregatorStats()
        hardware = None
        if settings.hardware_topic:
            ensure_topic(settings.kafka, settings.hardware_topic, count)
            hardware = HardwareConsumer(settings, HardwareStore(catalog, settings.hardware_expire_seconds))
        server, registry, port = serve_metrics(store, stats, settings.metrics_host, settings.metrics_port)
        if hardware is not None:
            registry.register(hardware.store)
            hardware.start()
        archive = None
        sink: WindowSink = store
        if settings.archive_dir is not None:
            archive = WindowArchive(settings.archive_dir, settings.archive_keep_windows)
            sink = FanOutSink([store, archive], stats)
            log.info(
                "archiving windows under %s (keeping %s per model/version/segment)",
                settings.archive_dir,
                settings.archive_keep_windows or "all",
            )
        try:
            label_api = _start_label_api(settings, catalog)
        except BaseException:
            server.shutdown()
            server.server_close()
            raise
        if label_api is not None:
            stats.label_api = label_api.snapshot  # its counters on /metrics
        aggregator = Aggregator(
            settings,
            catalog,
            sink,
            checkpoints,
            stats=stats,
            quality_sink=store,
            tracer_provider=tracer_provider,
        )
        stop = threading.Event()
        failed = threading.Event()

        def run() -> None:
            try:
                aggregator.run(stop)
            except Exception:  # surfaced through ``failed``: the process exits and is restarted
                log.exception("the aggregator loop failed")
                failed.set()

        thread = threading.Thread(target=run, name="modelmon-aggregator", daemon=True)
        thread.start()
        log.info(
            "aggregator: group %s, topic %s, metrics on port %d", settings.group_id, settings.topic, port
        )
        return cls(aggregator, store, stats, port, stop, thread, server, failed, archive, label_api, hardware)

    def stop(self, timeout: float = 30.0) -> None:
        if self.label_api is not None:  # first: no new labels, and those accepted are sent
            self.label_api.stop()
            self.label_api.publisher.close(timeout)
        self.stop_event.set()
        self.thread.join(timeout)
        if self.hardware is not None:
            self.hardware.stop(timeout)
        self.server.shutdown()
        self.server.server_close()


def _start_label_api(settings: AggregatorSettings, catalog: Catalog) -> LabelApi | None:
    """The label HTTP endpoint with its own publisher to the labels topic, or None when it is off."""
    if settings.label_api_token_file is None:
        log.info("label HTTP endpoint disabled (no label_api_token_file)")
        return None
    publisher = Publisher(
        settings.kafka, PublisherSettings(topic=settings.labels_topic, producer_name="modelmon-label-api")
    )
    try:
        return LabelApi(
            catalog,
            publisher,
            settings.label_api_token_file,
            host=settings.label_api_host,
            port=settings.label_api_port,
            tls_cert_file=settings.label_api_tls_cert_file,
            tls_key_file=settings.label_api_tls_key_file,
        ).start()
    except BaseException:
        publisher.close(5.0)
        raise
