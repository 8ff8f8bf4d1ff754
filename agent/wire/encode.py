"""Build prediction batches in the wire schema and encode them as Arrow IPC stream messages.

No pandas import: a DataFrame is converted by pyarrow, which loads pandas only when handed one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from agent.catalog.model import ModelSpec
from agent.errors import EncodeError
from agent.wire.format import (
    ANY_VERSION,
    CONTENT_TYPE,
    ENVELOPE_FIELDS,
    FEATURE_PREFIX,
    HARDWARE_FIELDS,
    HEADER_CONTENT_TYPE,
    HEADER_KIND,
    HEADER_PRODUCER,
    HEADER_SCHEMA_VERSION,
    HEADER_TRACEPARENT,
    LABEL_PREFIX,
    OUTPUT_PREFIX,
    REQUIRED_ENVELOPE,
    SCHEMA_VERSION,
    arrow_type,
)

__all__ = [
    "ANY_VERSION",
    "EncodedMessage",
    "build_hardware_batch",
    "build_label_batch",
    "build_prediction_batch",
    "encode_message",
    "message_headers",
]

_ENVELOPE = {f.name: f for f in ENVELOPE_FIELDS}


@dataclass(frozen=True, slots=True)
class EncodedMessage:
    """One Kafka message of the wire format, ready to send."""

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    rows: int


def _as_columns(data: Any, what: str) -> dict[str, pa.Array | pa.ChunkedArray]:
    """Columns by name from a table, a DataFrame, a mapping of columns or a list of row mappings."""
    if data is None:
        return {}
    if isinstance(data, pa.RecordBatch | pa.Table):
        return {name: data.column(name) for name in data.schema.names}
    if hasattr(data, "columns") and hasattr(data, "iloc"):  # a pandas DataFrame, without importing pandas
        table = pa.Table.from_pandas(data, preserve_index=False)
        return {str(name): table.column(i) for i, name in enumerate(table.schema.names)}
    if isinstance(data, Mapping):
        return {str(k): _as_array(v, f"{what}.{k}") for k, v in data.items()}
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        if not all(isinstance(row, Mapping) for row in data):
            raise EncodeError(f"{what}: expected a list of row mappings")
        table = pa.Table.from_pylist(list(data))
        return {name: table.column(name) for name in table.schema.names}
    raise EncodeError(f"{what}: expected a DataFrame, an Arrow table, a mapping of columns or a list of rows")


def _as_array(values: Any, what: str) -> pa.Array | pa.ChunkedArray:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as exc:  # e.g. an int over 64 bits
        raise EncodeError(f"{what}: cannot convert to an Arrow array: {exc}") from exc


def _cast(array: pa.Array | pa.ChunkedArray, target: pa.DataType, what: str) -> pa.Array | pa.ChunkedArray:
    if array.type == target:
        return array
    try:
        if pa.types.is_dictionary(target):
            return array.cast(target.value_type).dictionary_encode()
        return array.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise EncodeError(f"{what}: cannot cast {array.type} to {target}: {exc}") from exc


def _event_times(values: Any, rows: int, now: float) -> pa.Array | pa.ChunkedArray:
    target = _ENVELOPE["event_time"].type
    if values is None:
        return pa.array([int(now * 1_000_000)] * rows, type=pa.int64()).cast(target)
    array = _as_array(values, "event_times")
    if pa.types.is_floating(array.type):  # epoch seconds
        import pyarrow.compute as pc

        micros = pc.cast(pc.round(pc.multiply(array, 1_000_000.0)), pa.int64())
        return micros.cast(target)
    if pa.types.is_timestamp(array.type) and array.type.tz is None:
        array = array.cast(pa.timestamp(array.type.unit, tz="UTC"))
    return _cast(array, target, "event_times")


def build_prediction_batch(
    model: str,
    features: Any,
    outputs: Any = None,
    *,
    version: str,
    request_ids: Sequence[str] | pa.Array | None = None,
    event_times: Any = None,
    latencies: Any = None,
    status_codes: Any = None,
    spec: ModelSpec | None = None,
    now: float | None = None,
    labels: Any = None,
    ttfbs: Any = None,
    unparsed: Any = None,
) -> pa.RecordBatch:
    """Assemble one batch of predictions (or, with ``labels``, of ground truth) in the wire schema.

    ``features`` and ``outputs`` are keyed by the model's own column names; they get the
    ``feature.``/``output.`` prefixes here. Missing request ids are generated (UUID4), missing
    event times are ``now``. With ``spec``, columns are cast to the catalog's types and unknown or
    missing columns are errors.
    """
    feature_cols = _as_columns(features, "features")
    output_cols = _as_columns(outputs, "outputs")
    label_cols = _as_columns(labels, "labels")
    lengths = {len(a) for a in (*feature_cols.values(), *output_cols.values(), *label_cols.values())}
    if len(lengths) > 1:
        raise EncodeError(f"{model}: columns have different lengths {sorted(lengths)}")
    rows = lengths.pop() if lengths else (len(request_ids) if request_ids is not None else 0)
    if spec is not None:
        _check_against_spec(spec, feature_cols, output_cols)
    now = time.time() if now is None else now

    arrays: list[pa.Array | pa.ChunkedArray] = []
    fields: list[pa.Field] = []

    def add(field: pa.Field, array: pa.Array | pa.ChunkedArray) -> None:
        if len(array) != rows:
            raise EncodeError(f"{model}: column {field.name} has {len(array)} rows, expected {rows}")
        fields.append(field)
        arrays.append(array)

    ids = (
        _as_array(request_ids, "request_ids")
        if request_ids is not None
        else pa.array([uuid.uuid4().hex for _ in range(rows)], type=pa.string())
    )
    add(_ENVELOPE["request_id"], _cast(ids, pa.string(), "request_ids"))
    add(_ENVELOPE["event_time"], _event_times(event_times, rows, now))
    add(
        _ENVELOPE["model"],
        pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array([model])),
    )
    add(
        _ENVELOPE["model_version"],
        pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array([version])),
    )
    if latencies is not None:
        add(_ENVELOPE["latency_seconds"], _cast(_as_array(latencies, "latencies"), pa.float64(), "latencies"))
    if status_codes is not None:
        add(
            _ENVELOPE["status_code"],
            _cast(_as_array(status_codes, "status_codes"), pa.int32(), "status_codes"),
        )

    if ttfbs is not None:
        add(_ENVELOPE["ttfb_seconds"], _cast(_as_array(ttfbs, "ttfbs"), pa.float64(), "ttfbs"))
    if unparsed is not None:
        reasons = _as_array(unparsed, "unparsed")
        add(_ENVELOPE["unparsed"], _cast(reasons, _ENVELOPE["unparsed"].type, "unparsed"))

    types = {}
    if spec is not None:
        types = {FEATURE_PREFIX + c.name: arrow_type(c.type) for c in spec.features}
        types |= {OUTPUT_PREFIX + c.name: arrow_type(c.type) for c in spec.outputs}
    for prefix, cols in (
        (FEATURE_PREFIX, feature_cols),
        (OUTPUT_PREFIX, output_cols),
        (LABEL_PREFIX, label_cols),
    ):
        for name, array in cols.items():
            wire_name = prefix + name
            target = types.get(wire_name)
            column = _cast(array, target, wire_name) if target is not None else array
            add(pa.field(wire_name, column.type), column)
    combined = [a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in arrays]
    for name in REQUIRED_ENVELOPE:
        index = [f.name for f in fields].index(name)
        if combined[index].null_count:
            raise EncodeError(f"{model}: envelope column {name} has null values")
    schema = pa.schema(fields, metadata={b"modelmon.schema_version": SCHEMA_VERSION.encode()})
    return pa.RecordBatch.from_arrays(combined, schema=schema)


def build_label_batch(
    model: str,
    labels: Any,
    *,
    request_ids: Sequence[str] | pa.Array,
    event_times: Any = None,
    version: str = ANY_VERSION,
    now: float | None = None,
) -> pa.RecordBatch:
    """One batch of ground truth for the labels topic: ``label.<name>`` columns keyed by the request
    ids of the predictions they label; ``event_times`` is when each label became known (default now)."""
    return build_prediction_batch(
        model,
        None,
        None,
        version=version,
        request_ids=request_ids,
        event_times=event_times,
        now=now,
        labels=labels,
    )


def build_hardware_batch(
    model: str,
    version: str,
    pod: str,
    samples: Sequence[tuple[str, float, Mapping[str, str]]],
    *,
    now: float | None = None,
) -> pa.RecordBatch:
    """One collection cycle's samples — (metric, value, labels) — of one model's pod, in the wire schema."""
    rows = len(samples)
    when = int((time.time() if now is None else now) * 1_000_000)

    def constant(value: str) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array([value]))

    fields = {f.name: f for f in HARDWARE_FIELDS}
    arrays = [
        pa.array([when] * rows, pa.int64()).cast(fields["event_time"].type),
        constant(model),
        constant(version),
        constant(pod),
        pa.array([m for m, _, _ in samples], pa.string()).dictionary_encode(),
        pa.array([float(v) for _, v, _ in samples], pa.float64()),
        pa.array([list(labels.items()) for _, _, labels in samples], fields["labels"].type),
    ]
    schema = pa.schema(list(HARDWARE_FIELDS), metadata={b"modelmon.schema_version": SCHEMA_VERSION.encode()})
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _check_against_spec(spec: ModelSpec, features: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
    for role, given, declared in (("feature", features, spec.features), ("output", outputs, spec.outputs)):
        names = {c.name for c in declared}
        unknown = sorted(set(given) - names)
        if unknown:
            raise EncodeError(
                f"{spec.identity}: {role}(s) {unknown} are not in the catalog ({sorted(names)})"
            )


def message_headers(kind: str, producer: str, traceparent: str | None = None) -> list[tuple[str, bytes]]:
    headers = [
        (HEADER_SCHEMA_VERSION, SCHEMA_VERSION.encode()),
        (HEADER_KIND, kind.encode()),
        (HEADER_PRODUCER, producer.encode()),
        (HEADER_CONTENT_TYPE, CONTENT_TYPE.encode()),
    ]
    if traceparent:
        headers.append((HEADER_TRACEPARENT, traceparent.encode()))
    return headers


def encode_message(
    model: str,
    batch: pa.RecordBatch,
    *,
    kind: str = "predictions",
    producer: str = "modelmon",
    traceparent: str | None = None,
) -> EncodedMessage:
    """One Kafka message: key = model identity, value = an Arrow IPC stream of exactly one batch."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return EncodedMessage(
        key=model.encode(),
        value=sink.getvalue().to_pybytes(),
        headers=message_headers(kind, producer, traceparent),
        rows=batch.num_rows,
    )
