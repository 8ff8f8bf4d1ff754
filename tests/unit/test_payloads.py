"""KServe v1, Open Inference Protocol v2 and mapped JSON bodies become exact rows; others are counted."""

import json

import pytest

from agent.catalog import parse_catalog
from agent.payloads import JsonMapping, ParsedCall, Unparsed, UnparsedReason, parse_call

MODEL = parse_catalog(
    """
models:
  - namespace: t
    name: m
    features: [{name: income, type: float}, {name: age, type: int}, {name: region, type: category}]
    outputs: [{name: score, type: float}, {name: label, type: category}]
"""
).models["t/m"]


def call(request, response, **kwargs):
    return parse_call(MODEL, json.dumps(request).encode(), json.dumps(response).encode(), **kwargs)


def test_kserve_v1_positional_and_named_instances_one_row_each():
    parsed = call(
        {"instances": [[50_000.0, 41, "north"], {"income": 20_000.0, "age": 30, "region": "south"}]},
        {"predictions": [0.8, {"score": 0.1, "label": "no"}]},
    )
    assert isinstance(parsed, ParsedCall) and parsed.protocol == "kserve_v1" and parsed.rows == 2
    assert parsed.features == {"income": [50_000.0, 20_000.0], "age": [41, 30], "region": ["north", "south"]}
    assert parsed.outputs == {"score": [0.8, 0.1], "label": [None, "no"]}


def test_oip_v2_one_matrix_tensor_or_one_tensor_per_feature():
    matrix = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [1, 2, 3, 4, 5, 6]}]}
    out = {"outputs": [{"name": "score", "shape": [2], "datatype": "FP64", "data": [0.2, 0.9]}]}
    parsed = call(matrix, out)
    assert isinstance(parsed, ParsedCall) and parsed.protocol == "oip_v2"
    assert parsed.features == {"income": [1, 4], "age": [2, 5], "region": [3, 6]}
    assert parsed.outputs == {"score": [0.2, 0.9]}
    named = {
        "inputs": [
            {"name": "age", "shape": [2, 1], "datatype": "INT64", "data": [[30], [40]]},
            {"name": "income", "shape": [2], "datatype": "FP64", "data": [1.0, 2.0]},
        ]
    }
    parsed = call(named, out)
    assert isinstance(parsed, ParsedCall) and parsed.features == {"age": [30, 40], "income": [1.0, 2.0]}


def test_generic_json_through_a_mapping():
    mapping = JsonMapping("data.rows", "result", features={"income": "amt"}, outputs={"score": "p"})
    parsed = call(
        {"data": {"rows": [{"amt": 10.0, "age": 1}, {"amt": 20.0, "age": 2}]}},
        {"result": [{"p": 0.3}, {"p": 0.4}]},
        mapping=mapping,
    )
    assert isinstance(parsed, ParsedCall) and parsed.protocol == "json"
    assert parsed.features == {"income": [10.0, 20.0], "age": [1, 2]} and parsed.outputs == {
        "score": [0.3, 0.4]
    }


@pytest.mark.parametrize(
    ("request_body", "response_body", "reason"),
    [
        (b"\xff\xfe not json", b"{}", UnparsedReason.NOT_JSON),
        (b'{"anything": 1}', b"{}", UnparsedReason.UNKNOWN_PROTOCOL),
        (b'{"instances": [[1], [2]]}', b'{"predictions": [0.5]}', UnparsedReason.ROW_MISMATCH),
        (
            b'{"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3]}]}',
            b'{"outputs": []}',
            UnparsedReason.BAD_TENSOR,
        ),
        (b'{"instances": 5}', b'{"predictions": 5}', UnparsedReason.UNKNOWN_PROTOCOL),
        (b"x" * 100, b"{}", UnparsedReason.TOO_LARGE),
    ],
)
def test_anything_else_is_metadata_only_with_a_reason(request_body, response_body, reason):
    parsed = parse_call(
        MODEL, request_body, response_body, max_bytes=50 if reason is UnparsedReason.TOO_LARGE else 1 << 20
    )
    assert isinstance(parsed, Unparsed) and parsed.reason is reason
