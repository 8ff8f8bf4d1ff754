"""Decode wire-format v1 messages into DataFrames, or into a counted rejection.

A message is accepted or rejected whole; inside an accepted one, rows missing a required envelope
value are dropped and counted. Decoding is columnar: no Python loop runs per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from agent.wire.format import (
    ANY_VERSION,
    HEADER_SCHEMA_VERSION,
    HEADER_TRACEPARENT,
    REQUIRED_ENVELOPE,
    SCHEMA_VERSION,
)

__all__ = [
    "DecodedBatch",
    "HardwareBatch",
    "RejectReason",
    "Rejection",
    "decode_hardware",
    "decode_labels",
    "decode_predictions",
]


class RejectReason(StrEnum):
    """Why a whole message was rejected (the ``reason`` label of the rejection counter)."""

    MISSING_SCHEMA_VERSION = "missing_schema_version"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    MISSING_KEY = "missing_key"
    MALFORMED = "malformed"
    EMPTY_BATCH = "empty_batch"
    MISSING_COLUMN = "missing_column"
    WRONG_TYPE = "wrong_type"
    KEY_MISMATCH = "key_mismatch"
    UNKNOWN_MODEL = "unknown_model"
    NO_QUALITY = "no_quality"  # labels for a model whose catalog entry has no quality section


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: RejectReason
    detail: str


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    """An accepted message.

    Attributes:
        model: the model identity (the message key).
        frame: one row per prediction; envelope columns plus ``feature.*``/``output.*`` columns.
        event_us: event times as integer microseconds since the epoch, aligned with ``frame``.
        rejected_rows: rows dropped because a required envelope value was null.
        traceparent: the W3C trace context the producer sent, if any.
    """

    model: str
    frame: pd.DataFrame
    event_us: npt.NDArray[np.int64]
    rejected_rows: int
    traceparent: str | None


def _header(headers: Sequence[tuple[str, bytes | None]], name: str) -> str | None:
    for key, value in headers:
        if key == name and value is not None:
            try:
                return value.decode()
            except UnicodeDecodeError:
                return None
    return None


def _read_table(value: bytes) -> pa.Table:
    reader = pa.ipc.open_stream(pa.py_buffer(value))
    return reader.read_all()


def decode_predictions(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes | None]]
) -> DecodedBatch | Rejection:
    """Decode one message of ``modelmon.predictions.v1``. Never raises for bad input."""
    return _decode(key, value, headers, REQUIRED_ENVELOPE)


def decode_labels(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes | None]]
) -> DecodedBatch | Rejection:
    """Decode one message of ``modelmon.labels.v1``: as predictions, but ``model_version`` may be
    absent (labels need not know the version; the prediction's applies). Never raises."""
    return _decode(key, value, headers, ("request_id", "event_time", "model"))


@dataclass(frozen=True, slots=True)
class HardwareBatch:
    """One decoded hardware message: ``frame`` has ``event_time``, ``model``, ``model_version``,
    ``pod``, ``metric``, ``value`` and ``labels`` (a list of (name, value) pairs per row)."""

    model: str
    frame: pd.DataFrame


def decode_hardware(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes | None]]
) -> HardwareBatch | Rejection:
    """Decode one message of ``modelmon.hardware.v1``. Never raises for bad input."""
    version = _header(headers, HEADER_SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        return Rejection(RejectReason.UNSUPPORTED_SCHEMA_VERSION, f"schema version {version!r}")
    if not key or not value:
        return Rejection(
            RejectReason.MISSING_KEY if not key else RejectReason.MALFORMED, "no key or no value"
        )
    try:
        table = _read_table(value)
    except (pa.ArrowException, OSError, ValueError) as exc:
        return Rejection(RejectReason.MALFORMED, f"not an Arrow IPC stream: {exc}")
    missing = [
        f
        for f in ("model", "model_version", "pod", "metric", "value", "labels")
        if f not in table.schema.names
    ]
    if missing:
        return Rejection(RejectReason.MISSING_COLUMN, f"missing column(s) {missing}")
    if not pa.types.is_floating(table.schema.field("value").type):
        return Rejection(RejectReason.WRONG_TYPE, f"value is {table.schema.field('value').type}")
    if not pa.types.is_map(table.schema.field("labels").type):
        return Rejection(RejectReason.WRONG_TYPE, f"labels is {table.schema.field('labels').type}, not a map")
    try:
        model = key.decode()
    except UnicodeDecodeError:
        return Rejection(RejectReason.MISSING_KEY, "the key is not UTF-8")
    return HardwareBatch(model, table.to_pandas())


def _decode(
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]],
    required: Sequence[str],
) -> DecodedBatch | Rejection:
    version = _header(headers, HEADER_SCHEMA_VERSION)
    if version is None:
        return Rejection(RejectReason.MISSING_SCHEMA_VERSION, f"no {HEADER_SCHEMA_VERSION} header")
    if version != SCHEMA_VERSION:
        return Rejection(RejectReason.UNSUPPORTED_SCHEMA_VERSION, f"schema version {version!r}")
    if not key:
        return Rejection(RejectReason.MISSING_KEY, "the message has no model key")
    try:
        model = key.decode()
    except UnicodeDecodeError:
        return Rejection(RejectReason.MISSING_KEY, "the key is not UTF-8")
    if not value:
        return Rejection(RejectReason.MALFORMED, "empty value")
    try:
        table = _read_table(value)
    except (pa.ArrowException, OSError, ValueError) as exc:
        return Rejection(RejectReason.MALFORMED, f"not an Arrow IPC stream: {exc}")
    if table.num_rows == 0:
        return Rejection(RejectReason.EMPTY_BATCH, "the batch has no rows")
    missing = [name for name in required if name not in table.schema.names]
    if missing:
        return Rejection(RejectReason.MISSING_COLUMN, f"missing envelope column(s) {missing}")
    if "model_version" not in table.schema.names:
        table = table.append_column("model_version", pa.array([ANY_VERSION] * table.num_rows, pa.string()))
    checked = _check_types(table)
    if isinstance(checked, Rejection):
        return checked
    table = checked
    models = pc.unique(table.column("model").cast(pa.string())).drop_null()
    if len(models) != 1 or models[0].as_py() != model:
        return Rejection(RejectReason.KEY_MISMATCH, f"key {model!r}, rows of {models.to_pylist()[:5]}")
    valid = pc.and_(pc.is_valid(table.column("request_id")), pc.is_valid(table.column("event_time")))
    if "model_version" in required:
        valid = pc.and_(valid, pc.is_valid(table.column("model_version")))
    kept = int(np.count_nonzero(valid.to_numpy(zero_copy_only=False)))
    rejected = table.num_rows - kept
    if rejected:
        table = table.filter(valid)
    event_us = table.column("event_time").cast(pa.int64()).to_numpy()
    frame = table.to_pandas()
    return DecodedBatch(model, frame, event_us, rejected, _header(headers, HEADER_TRACEPARENT))


def _check_types(table: pa.Table) -> pa.Table | Rejection:
    """Normalise envelope types (any timestamp unit, plain or dictionary strings); reject the rest."""
    schema = table.schema
    event_type = schema.field("event_time").type
    if not (pa.types.is_timestamp(event_type) and event_type.tz is not None):
        return Rejection(RejectReason.WRONG_TYPE, f"event_time is {event_type}, expected a UTC timestamp")
    if event_type != pa.timestamp("us", tz="UTC"):
        table = table.set_column(
            schema.get_field_index("event_time"),
            "event_time",
            table.column("event_time").cast(pa.timestamp("us", tz="UTC")),
        )
    for name in ("request_id", "model", "model_version"):
        column_type = schema.field(name).type
        base = column_type.value_type if pa.types.is_dictionary(column_type) else column_type
        if not (pa.types.is_string(base) or pa.types.is_large_string(base)):
            return Rejection(RejectReason.WRONG_TYPE, f"{name} is {column_type}, expected a string")
    for name, target in (("latency_seconds", pa.float64()), ("status_code", pa.int32())):
        if name not in schema.names:
            continue
        column_type = schema.field(name).type
        if not (pa.types.is_integer(column_type) or pa.types.is_floating(column_type)):
            return Rejection(RejectReason.WRONG_TYPE, f"{name} is {column_type}, expected a number")
        if column_type != target:
            try:
                cast = table.column(name).cast(target)
            except pa.ArrowInvalid as exc:
                return Rejection(RejectReason.WRONG_TYPE, f"{name}: {exc}")
            table = table.set_column(schema.get_field_index(name), name, cast)
    return table
