"""Turn a captured call's request and response bodies into rows of features and outputs.

Three payload shapes are understood; anything else is captured as metadata only (size, status,
latency), with the reason counted:

- **KServe v1**: ``{"instances": [...]}`` → ``{"predictions": [...]}``. An instance is a list
  (positional, in the catalog's feature order) or an object (by name); a prediction is a number
  or string (the first output), a list (positional) or an object (by name).
- **Open Inference Protocol / KServe v2**: ``{"inputs": [{"name", "shape", "datatype", "data"}]}``
  → ``{"outputs": [...]}``. One tensor of shape ``[n, f]`` is n rows of the f features in catalog
  order; several tensors of shape ``[n]`` or ``[n, 1]`` are one feature each, by tensor name. Data
  may be flat (row-major) or nested.
- **Generic JSON** through a :class:`JsonMapping`: the list of request records and of response
  records (dotted paths), and each column's key within a record.

A batched call yields one row per instance; request and response must agree on the row count.
Standard library only: this runs in the sidecar.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from agent.catalog.model import ModelSpec

__all__ = ["JsonMapping", "ParsedCall", "Unparsed", "UnparsedReason", "parse_call"]


class UnparsedReason(StrEnum):
    """Why a call's bodies were kept as metadata only (the ``reason`` label of its counter)."""

    NOT_JSON = "not_json"
    UNKNOWN_PROTOCOL = "unknown_protocol"
    ROW_MISMATCH = "row_mismatch"
    BAD_TENSOR = "bad_tensor"
    TOO_LARGE = "too_large"


@dataclass(frozen=True, slots=True)
class Unparsed:
    reason: UnparsedReason
    detail: str


@dataclass(frozen=True, slots=True)
class ParsedCall:
    """Rows of one call: columns by the catalog's names, all of length ``rows``."""

    protocol: str  # "kserve_v1", "oip_v2" or "json"
    rows: int
    features: dict[str, list[Any]]
    outputs: dict[str, list[Any]]


@dataclass(frozen=True, slots=True)
class JsonMapping:
    """Where a generic JSON API keeps its rows (dotted paths; an empty path is the body itself).

    Attributes:
        request_records: path to the list of input records (or to one record, for a single row).
        response_records: path to the list of output records.
        features: catalog feature name → key within an input record (default: the same name).
        outputs: catalog output name → key within an output record (default: the same name).
    """

    request_records: str = ""
    response_records: str = ""
    features: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)


def _at(document: Any, path: str) -> Any:
    for part in filter(None, path.split(".")):
        if not isinstance(document, Mapping) or part not in document:
            raise KeyError(path)
        document = document[part]
    return document


def _columns(
    records: Sequence[Any], names: Sequence[str], keys: Mapping[str, str] | None = None
) -> dict[str, list[Any]]:
    """Columns from records that are objects (by key), lists (by position) or scalars (first name)."""
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for record in records:
        if isinstance(record, Mapping):
            for name in names:
                columns[name].append(record.get((keys or {}).get(name, name)))
        elif isinstance(record, list):
            for i, name in enumerate(names):
                columns[name].append(record[i] if i < len(record) else None)
        else:  # a scalar: the first column; the others are missing
            for i, name in enumerate(names):
                columns[name].append(record if i == 0 else None)
    return {name: values for name, values in columns.items() if any(v is not None for v in values)}


def _flatten(data: Any) -> list[Any]:
    if isinstance(data, list) and data and isinstance(data[0], list):
        return [value for row in data for value in _flatten(row)]
    return list(data) if isinstance(data, list) else [data]


def _tensors(tensors: Any, names: Sequence[str]) -> tuple[int, dict[str, list[Any]]]:
    """Rows and columns of OIP tensors (see the module docstring)."""
    if not isinstance(tensors, list) or not tensors:
        raise ValueError("no tensors")
    shaped = []
    for tensor in tensors:
        shape = [int(d) for d in tensor["shape"]]
        data = _flatten(tensor["data"])
        size = 1
        for d in shape:
            size *= d
        if size != len(data) or not shape:
            raise ValueError(f"tensor {tensor.get('name')}: shape {shape} does not hold {len(data)} values")
        shaped.append((str(tensor.get("name", "")), shape, data))
    if len(shaped) == 1 and len(shaped[0][1]) == 2 and shaped[0][1][1] > 1:
        _, (rows, width), data = shaped[0]
        return rows, {name: data[i::width] for i, name in enumerate(names[:width])}
    rows = shaped[0][1][0]
    columns: dict[str, list[Any]] = {}
    for position, (name, shape, data) in enumerate(shaped):
        if shape[0] != rows or len(data) != rows:
            raise ValueError(f"tensor {name}: {shape[0]} rows, expected {rows} with one value each")
        column = name if name in names else (names[position] if position < len(names) else name)
        columns[column] = data
    return rows, columns


def parse_call(
    model: ModelSpec,
    request: bytes,
    response: bytes | None,
    *,
    mapping: JsonMapping | None = None,
    max_bytes: int = 8 * 1_048_576,
) -> ParsedCall | Unparsed:
    """Rows of a captured call, or why it is kept as metadata only. Never raises.

    Without a ``response`` (an error status: its body holds no predictions) only the features are
    read, and the rows have no outputs.
    """
    answered = response is not None
    if len(request) > max_bytes or len(response or b"") > max_bytes:
        return Unparsed(
            UnparsedReason.TOO_LARGE, f"bodies of {len(request)} and {len(response or b'')} bytes"
        )
    try:
        body_in = json.loads(request)
        body_out = json.loads(response) if response is not None else None
    except (ValueError, UnicodeDecodeError) as exc:
        return Unparsed(UnparsedReason.NOT_JSON, str(exc)[:200])
    features = [c.name for c in model.features]
    outputs = [c.name for c in model.outputs]
    try:
        if mapping is not None:
            records_in = _at(body_in, mapping.request_records)
            records_out = _at(body_out, mapping.response_records) if answered else []
            records_in = records_in if isinstance(records_in, list) else [records_in]
            records_out = records_out if isinstance(records_out, list) else [records_out]
            records_out = records_out if answered else records_in
            parsed = ParsedCall(
                "json",
                len(records_in),
                _columns(records_in, features, mapping.features),
                _columns(records_out, outputs, mapping.outputs) if answered else {},
            )
            rows_out = len(records_out)
        elif isinstance(body_in, Mapping) and "instances" in body_in:
            instances = body_in["instances"]
            predictions = body_out.get("predictions") if isinstance(body_out, Mapping) else None
            if not answered:
                predictions = instances
            if not isinstance(instances, list) or not isinstance(predictions, list):
                return Unparsed(UnparsedReason.UNKNOWN_PROTOCOL, "instances or predictions is not a list")
            parsed = ParsedCall(
                "kserve_v1",
                len(instances),
                _columns(instances, features),
                _columns(predictions, outputs) if answered else {},
            )
            rows_out = len(predictions)
        elif isinstance(body_in, Mapping) and "inputs" in body_in:
            rows, columns_in = _tensors(body_in["inputs"], features)
            rows_out, columns_out = (
                _tensors(body_out.get("outputs") if isinstance(body_out, Mapping) else None, outputs)
                if answered
                else (rows, {})
            )
            parsed = ParsedCall("oip_v2", rows, columns_in, columns_out)
        else:
            return Unparsed(
                UnparsedReason.UNKNOWN_PROTOCOL, "neither instances, inputs nor a configured mapping"
            )
    except KeyError as exc:
        return Unparsed(UnparsedReason.UNKNOWN_PROTOCOL, f"no {exc} in the body")
    except (ValueError, TypeError, IndexError) as exc:
        return Unparsed(UnparsedReason.BAD_TENSOR, str(exc)[:200])
    if rows_out != parsed.rows:
        return Unparsed(UnparsedReason.ROW_MISMATCH, f"{parsed.rows} inputs, {rows_out} outputs")
    return parsed
