"""In-process logging of predictions, for batch jobs and servers that prefer it to the sidecar.

Batch jobs log whole batches::

    publisher = Publisher(KafkaSettings(bootstrap_servers=("kafka:9092",)))
    log_predictions(publisher, "fraud/scorer", features=df, outputs={"score": scores}, version="v3")

Servers log one call at a time through the sidecar's own batcher (rows gathered into Arrow batches
by size or age) and publisher (with its disk spool when ``spool_dir`` is set)::

    logger = PredictionLogger(publisher)
    request_id = logger.log("fraud/scorer", {"amount": 12.5, "country": "FR"}, {"score": 0.93}, version="v3")
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

from agent.batcher import Batcher
from agent.catalog.model import ModelSpec
from agent.errors import EncodeError
from agent.publisher import Publisher
from agent.wire.encode import ANY_VERSION, build_label_batch, build_prediction_batch

__all__ = ["PredictionLogger", "log_labels", "log_predictions"]

log = logging.getLogger(__name__)


def log_predictions(
    publisher: Publisher,
    model: str,
    features: Any,
    outputs: Any = None,
    *,
    version: str = "unknown",
    request_ids: Any = None,
    event_times: Any = None,
    latencies: Any = None,
    status_codes: Any = None,
    spec: ModelSpec | None = None,
    traceparent: str | None = None,
) -> int:
    """Log a batch of predictions of ``model`` (``namespace/name``); returns the number queued.

    ``features``/``outputs`` may be a DataFrame, an Arrow table, a mapping of columns or a list of
    row mappings. Request ids default to UUID4s and event times to now. Raises
    :class:`agent.errors.EncodeError` for input that does not fit the wire format; returns 0 when
    the publisher's queue is full (the drop is counted in ``publisher.stats()``).
    """
    if "/" not in model:
        raise EncodeError(f"model must be 'namespace/name', got {model!r}")
    batch = build_prediction_batch(
        model,
        features,
        outputs,
        version=version,
        request_ids=request_ids,
        event_times=event_times,
        latencies=latencies,
        status_codes=status_codes,
        spec=spec,
    )
    return batch.num_rows if publisher.publish(model, batch, traceparent) else 0


def log_labels(
    publisher: Publisher,
    model: str,
    labels: Any,
    *,
    request_ids: Any,
    event_times: Any = None,
    version: str = ANY_VERSION,
    traceparent: str | None = None,
) -> int:
    """Log ground truth for earlier predictions of ``model``; returns the number queued.

    ``labels`` maps the catalog's label name to values (a DataFrame, table or mapping of columns),
    one per entry of ``request_ids`` (the ids the predictions were logged with). ``publisher``
    must send to the labels topic: ``Publisher(kafka, PublisherSettings(topic=LABELS_TOPIC))``.
    Labels may arrive in any order and long after their predictions (see the catalog's
    ``quality.label_lateness``).
    """
    if "/" not in model:
        raise EncodeError(f"model must be 'namespace/name', got {model!r}")
    batch = build_label_batch(
        model, labels, request_ids=request_ids, event_times=event_times, version=version
    )
    return batch.num_rows if publisher.publish(model, batch, traceparent) else 0


class PredictionLogger:
    """Log predictions one call at a time; they leave in batches by size or age. Thread-safe.

    The batching is the sidecar's (:class:`agent.batcher.Batcher`), and so is delivery: the
    ``publisher``'s bounded queue and, when it has a ``spool_dir``, its disk spool while Kafka is
    down. ``specs`` (catalog name → model) casts values to the catalog's types; a value that does
    not fit costs only its row's features (sent as metadata, counted).
    """

    def __init__(
        self,
        publisher: Publisher,
        *,
        specs: Mapping[str, ModelSpec] | None = None,
        max_rows: int = 5_000,
        max_seconds: float = 1.0,
    ) -> None:
        self.publisher = publisher
        self.batcher = Batcher(publisher, specs=specs, max_rows=max_rows, max_seconds=max_seconds)
        self._stop = threading.Event()
        self._ticker = threading.Thread(
            target=self._tick, args=(max(0.01, max_seconds / 4),), name="modelmon-logger", daemon=True
        )
        self._ticker.start()

    def _tick(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.batcher.flush_due()  # never raises: failed batches are logged and counted

    def log(
        self,
        model: str,
        features: Mapping[str, Any],
        outputs: Mapping[str, Any] | None = None,
        *,
        version: str = "unknown",
        request_id: str | None = None,
        latency_seconds: float | None = None,
        status_code: int | None = None,
    ) -> str:
        """Log one prediction (feature and output values by name); returns its request id, the id
        its label must carry later."""
        if "/" not in model:
            raise EncodeError(f"model must be 'namespace/name', got {model!r}")
        request_id = request_id or uuid.uuid4().hex
        self.batcher.add(
            model,
            version,
            [request_id],
            time.time(),
            features={name: [value] for name, value in features.items()},
            outputs={name: [value] for name, value in (outputs or {}).items()},
            latency=latency_seconds,
            status=status_code,
        )
        return request_id

    def flush(self, timeout: float | None = None) -> bool:
        """Send what is gathered now and wait for Kafka's acknowledgement (or the spool)."""
        self.batcher.flush()
        return self.publisher.flush(timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Send what is gathered; the publisher stays open (its owner closes it)."""
        self._stop.set()
        self._ticker.join(timeout)
        self.flush(timeout)

    def __enter__(self) -> PredictionLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
