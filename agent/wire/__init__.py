"""Wire format v1 of modelmon's Kafka topics: Arrow IPC record batches keyed by model identity."""

from agent.wire.encode import (
    ANY_VERSION,
    EncodedMessage,
    build_hardware_batch,
    build_label_batch,
    build_prediction_batch,
    encode_message,
    message_headers,
)
from agent.wire.format import (
    HARDWARE_TOPIC,
    LABELS_TOPIC,
    PREDICTIONS_TOPIC,
    SCHEMA_VERSION,
    feature_column,
    output_column,
)

__all__ = [
    "ANY_VERSION",
    "HARDWARE_TOPIC",
    "LABELS_TOPIC",
    "PREDICTIONS_TOPIC",
    "SCHEMA_VERSION",
    "EncodedMessage",
    "build_hardware_batch",
    "build_label_batch",
    "build_prediction_batch",
    "encode_message",
    "feature_column",
    "message_headers",
    "output_column",
]
