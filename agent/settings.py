"""Settings of the agent's Kafka delivery, as documented frozen dataclasses.

They are built in one place (``deploy.config``) from YAML and the environment and passed in
explicitly; nothing here reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.wire.format import PREDICTIONS_TOPIC

__all__ = ["KafkaSettings", "PublisherSettings"]


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
    """

    bootstrap_servers: tuple[str, ...] = ("localhost:9092",)
    client_id: str = "modelmon"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password_file: Path | None = None
    ssl_cafile: Path | None = None

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
    extra: dict[str, Any] = field(default_factory=dict)
