"""Wire format v1: topics, keys, headers and column naming (see docs/wire-format.md).

This module is the single source of those names; encoders and decoders import them from here.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

from agent.catalog.model import ColumnType

__all__ = [
    "ANY_VERSION",
    "CONTENT_TYPE",
    "ENVELOPE_FIELDS",
    "FEATURE_PREFIX",
    "HARDWARE_FIELDS",
    "HARDWARE_TOPIC",
    "HEADER_CONTENT_TYPE",
    "HEADER_KIND",
    "HEADER_PRODUCER",
    "HEADER_SCHEMA_VERSION",
    "HEADER_TRACEPARENT",
    "LABELS_TOPIC",
    "LABEL_PREFIX",
    "OUTPUT_PREFIX",
    "PREDICTIONS_TOPIC",
    "REQUIRED_ENVELOPE",
    "SCHEMA_VERSION",
    "arrow_type",
    "feature_column",
    "output_column",
]

SCHEMA_VERSION: Final = "1"

PREDICTIONS_TOPIC: Final = "modelmon.predictions.v1"
LABELS_TOPIC: Final = "modelmon.labels.v1"
HARDWARE_TOPIC: Final = "modelmon.hardware.v1"

HEADER_SCHEMA_VERSION: Final = "modelmon-schema-version"
HEADER_KIND: Final = "modelmon-kind"
HEADER_PRODUCER: Final = "modelmon-producer"
HEADER_TRACEPARENT: Final = "traceparent"
HEADER_CONTENT_TYPE: Final = "content-type"
CONTENT_TYPE: Final = "application/vnd.apache.arrow.stream"

FEATURE_PREFIX: Final = "feature."
OUTPUT_PREFIX: Final = "output."
LABEL_PREFIX: Final = "label."
# The model_version of labels that do not know it: the labelled prediction's version applies.
ANY_VERSION: Final = "*"

# Envelope columns of a prediction batch, in order. Required ones must be present and non-null.
ENVELOPE_FIELDS: Final = (
    pa.field("request_id", pa.string(), nullable=False),
    pa.field("event_time", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("model", pa.dictionary(pa.int32(), pa.string()), nullable=False),
    pa.field("model_version", pa.dictionary(pa.int32(), pa.string()), nullable=False),
    pa.field("latency_seconds", pa.float64()),
    pa.field("status_code", pa.int32()),
    # Set by the sidecar: time to the response's head, and why a call's bodies gave no rows.
    pa.field("ttfb_seconds", pa.float64()),
    pa.field("unparsed", pa.dictionary(pa.int32(), pa.string())),
)
REQUIRED_ENVELOPE: Final = ("request_id", "event_time", "model", "model_version")

# A hardware batch (``modelmon.hardware.v1``): one row per sample of one collection cycle.
HARDWARE_FIELDS: Final = (
    pa.field("event_time", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("model", pa.dictionary(pa.int32(), pa.string()), nullable=False),
    pa.field("model_version", pa.dictionary(pa.int32(), pa.string()), nullable=False),
    pa.field("pod", pa.dictionary(pa.int32(), pa.string()), nullable=False),
    pa.field("metric", pa.dictionary(pa.int32(), pa.string()), nullable=False),
    pa.field("value", pa.float64(), nullable=False),
    pa.field("labels", pa.map_(pa.string(), pa.string()), nullable=False),
)

_ARROW_TYPES: Final[dict[ColumnType, pa.DataType]] = {
    ColumnType.FLOAT: pa.float64(),
    ColumnType.INT: pa.int64(),
    ColumnType.BOOL: pa.bool_(),
    ColumnType.CATEGORY: pa.dictionary(pa.int32(), pa.string()),
    ColumnType.STRING: pa.string(),
}


def arrow_type(column_type: ColumnType) -> pa.DataType:
    """The Arrow type a column of this logical type has on the wire."""
    return _ARROW_TYPES[column_type]


def feature_column(name: str) -> str:
    return FEATURE_PREFIX + name


def output_column(name: str) -> str:
    return OUTPUT_PREFIX + name
