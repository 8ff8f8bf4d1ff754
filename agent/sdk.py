"""In-process logging of predictions, for batch jobs and servers that prefer it to the sidecar.

publisher = Publisher(KafkaSettings(bootstrap_servers=("kafka:9092",)))
log_predictions(publisher, "fraud/scorer", features=df, outputs={"score": scores}, version="v3")
"""

from __future__ import annotations

import logging
from typing import Any

from agent.catalog.model import ModelSpec
from agent.errors import EncodeError
from agent.publisher import Publisher
from agent.wire.encode import ANY_VERSION, build_label_batch, build_prediction_batch

__all__ = ["log_labels", "log_predictions"]

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
