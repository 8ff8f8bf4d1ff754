"""Settings of the agent's Kafka delivery, as documented frozen dataclasses.

They are built in one place (``deploy.config``) from YAML and the environment and passed in
explicitly; nothing here reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.wire.format import PREDICTIONS_TOPIC

__all__ = ["CaptureSettings", "KafkaSettings", "ProxySettings", "PublisherSettings", "TracingSettings"]


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    """How to reach Kafka.

    Attributes:
        bootstrap_servers: ``host:port`` of one or more brokers.
        client_id: sent to the broker, shows in its logs and quotas.
        security_protocol: ``PLAINTEXT``, ``SSL``, ``SASL_PLAINTEXT`` or ``SASL_SSL``.
        sasl_mechanism: e.g. ``PLAIN``, ``SCRAM-SHA-512`` when SASL is used.
        sasl_username: the SASL user.
        sasl_password_file: a file holding the SASL password (a mounted secret); never the password.
        ssl_cafile: CA bundle to verify the brokers with.
        api_version: the Kafka protocol version spoken, e.g. ``(2, 8)``; None asks the broker, which
            makes starting wait for one.
    """

    bootstrap_servers: tuple[str, ...] = ("localhost:9092",)
    client_id: str = "modelmon"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password_file: Path | None = None
    ssl_cafile: Path | None = None
    api_version: tuple[int, int] | None = (2, 8)

    def client_config(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python clients. Reads the password file, if any, here."""
        config: dict[str, Any] = {
            "bootstrap_servers": list(self.bootstrap_servers),
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            config["sasl_mechanism"] = self.sasl_mechanism
            config["sasl_plain_username"] = self.sasl_username
            if self.sasl_password_file:
                config["sasl_plain_password"] = self.sasl_password_file.read_text(encoding="utf-8").strip()
        if self.ssl_cafile:
            config["ssl_cafile"] = str(self.ssl_cafile)
        return config

    def __repr__(self) -> str:  # never print secrets; only the file's path is held anyway
        return f"KafkaSettings(bootstrap_servers={self.bootstrap_servers!r}, client_id={self.client_id!r})"


@dataclass(frozen=True, slots=True)
class PublisherSettings:
    """How the publisher batches and sends.

    Attributes:
        topic: where prediction batches go.
        queue_max_records: records waiting to be sent, at most; beyond it new batches are dropped
            and counted, so the caller is never blocked and memory stays bounded.
        max_rows_per_message: larger batches are split into messages of at most this many rows.
        compression: Kafka compression of record batches (``lz4``, ``gzip`` or None).
        linger_ms: how long the producer waits to fill a Kafka batch.
        batch_size_bytes: target size of a Kafka record batch per partition.
        max_request_size_bytes: largest request the producer sends; brokers must accept it.
        delivery_timeout_seconds: how long one send may take before it counts as failed.
        producer_name: identity written into the ``modelmon-producer`` header.
        spool_dir: where batches go while Kafka is slow or down, replayed in order when it is back
            (None: a failed delivery is dropped and counted). See ``agent.spool``.
        spool_max_bytes: the spool's bound on disk.
        spool_policy: when the spool is full, ``drop_oldest`` or ``drop_newest`` (counted).
        spool_fsync: ``always``, ``interval`` (about once a second) or ``never``.
        spool_retry_seconds: how often replay is tried while the spool holds batches.
        max_block_seconds: how long a send may wait for Kafka's metadata before it fails (and spools).
        kind: the ``modelmon-kind`` header: ``predictions``, ``labels`` or ``hardware``.
    """

    topic: str = PREDICTIONS_TOPIC
    queue_max_records: int = 200_000
    max_rows_per_message: int = 10_000
    compression: str | None = "lz4"
    linger_ms: int = 5
    batch_size_bytes: int = 1_048_576
    max_request_size_bytes: int = 16 * 1_048_576
    delivery_timeout_seconds: float = 30.0
    producer_name: str = "modelmon-agent"
    spool_dir: Path | None = None
    spool_max_bytes: int = 256 * 1_048_576
    spool_policy: str = "drop_oldest"
    spool_fsync: str = "interval"
    spool_retry_seconds: float = 1.0
    max_block_seconds: float = 2.0
    kind: str = "predictions"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProxySettings:
    """The reverse proxy in front of the model.

    Attributes:
        listen_host: where the agent takes the model's traffic.
        listen_port: the port Services and clients call (the model's old port, once injected).
        upstream_host: the model server, on the pod's loopback.
        upstream_port: the model server's port.
        max_capture_bytes: a request or response body over this is forwarded but not captured
            (counted as ``too_large``); bounds the memory one call can hold.
        request_id_header: carries the call's id; added to the request (and the response) when absent.
        max_idle_upstream: idle keep-alive connections to the model kept for reuse.
        client_idle_timeout_seconds: a client connection idle this long between requests is closed.
        upstream_unreachable: what a client gets when the model does not accept a connection:
            ``reset`` (a connection error, as calling the stopped model directly gives) or ``502``.
        admin_host: where ``/metrics``, ``/healthz`` and ``/readyz`` are served.
        admin_port: their port, separate from the model's traffic.
        model_ready_path: the model's readiness URL path (``/v2/health/ready``…); ``/readyz`` is
            ready while it answers 2xx. None: ready while the model accepts connections.
        ready_check_seconds: how often the model's readiness is checked.
        event_loop: ``uvloop`` (libuv; the default, measured faster) or ``asyncio`` (the standard
            library's loop, where uvloop is not available).
    """

    listen_host: str = "0.0.0.0"
    listen_port: int = 8080
    upstream_host: str = "127.0.0.1"
    upstream_port: int = 8081
    max_capture_bytes: int = 1_048_576
    request_id_header: str = "x-request-id"
    max_idle_upstream: int = 64
    client_idle_timeout_seconds: float = 75.0
    upstream_unreachable: str = "reset"
    admin_host: str = "0.0.0.0"
    admin_port: int = 9464
    model_ready_path: str | None = None
    ready_check_seconds: float = 2.0
    event_loop: str = "uvloop"


@dataclass(frozen=True, slots=True)
class CaptureSettings:
    """What the sidecar captures of the calls it forwards, and how it batches them.

    Attributes:
        model: the model's catalog name, ``namespace/name``.
        version: the model version being served (from the pod's labels once injected).
        sample_fraction: the share of calls captured, chosen by request id (0 to 1); every call
            is still counted in the agent's call and latency metrics.
        capture_errors: capture calls the model answered with a non-2xx status (their features,
            no outputs); when False they are only counted.
        queue_max_calls: calls waiting to be parsed, at most; beyond it a call is counted as
            dropped (``queue_full``) and the model's traffic is untouched.
        queue_max_bytes: the same bound in body bytes, so large bodies cannot grow memory.
        batch_max_rows: a batch goes to the publisher when it holds this many rows...
        batch_max_seconds: ...or when its oldest row is this old.
        json_mapping: for generic JSON APIs: ``request_records``, ``response_records``,
            ``features`` and ``outputs`` (see ``agent.payloads.JsonMapping``).
        catalog_yaml: the model's catalog as YAML text, when no catalog file is given: what the
            injector passes an injected agent (``MODELMON_CATALOG_YAML``), as its pod cannot mount
            the catalog's ConfigMap from modelmon's namespace.
    """

    model: str = "default/model"
    version: str = "unknown"
    sample_fraction: float = 1.0
    capture_errors: bool = True
    queue_max_calls: int = 10_000
    queue_max_bytes: int = 32 * 1_048_576
    batch_max_rows: int = 5_000
    batch_max_seconds: float = 1.0
    json_mapping: dict[str, Any] | None = None
    catalog_yaml: str | None = None


@dataclass(frozen=True, slots=True)
class TracingSettings:
    """OpenTelemetry traces of the agent (and the aggregator).

    Attributes:
        exporter: ``none`` (no spans are made), ``otlp`` (OTLP over HTTP; needs the ``otlp`` extra)
            or ``console``.
        endpoint: the OTLP collector's traces URL, e.g. ``http://otel-collector:4318/v1/traces``.
        service_name: the ``service.name`` resource attribute.
    """

    exporter: str = "none"
    endpoint: str | None = None
    service_name: str = "modelmon-agent"
