import numpy as np
import pyarrow as pa
import pytest

from agent.catalog.load import parse_catalog
from agent.errors import EncodeError
from agent.wire import build_prediction_batch, encode_message
from agent.wire.format import HEADER_SCHEMA_VERSION
from drift.core.decode import DecodedBatch, Rejection, RejectReason, decode_predictions

SPEC = parse_catalog(
    "models: [{namespace: a, name: m, features: [{name: x, type: float}, {name: c, type: category}],"
    " outputs: [{name: p, type: float}]}]"
).models["a/m"]


def _message(rows=100, **kwargs):
    rng = np.random.default_rng(1)
    batch = build_prediction_batch(
        "a/m",
        {"x": rng.normal(size=rows), "c": rng.choice(["u", "v"], rows)},
        {"p": rng.random(rows)},
        version="v1",
        latencies=rng.random(rows),
        status_codes=[200] * rows,
        spec=SPEC,
        now=1_700_000_000.0,
        **kwargs,
    )
    return batch, encode_message("a/m", batch, producer="test")


def test_round_trip_keeps_every_value():
    batch, message = _message(request_ids=[f"r{i}" for i in range(100)])
    decoded = decode_predictions(message.key, message.value, message.headers)
    assert isinstance(decoded, DecodedBatch)
    assert decoded.model == "a/m"
    frame = decoded.frame
    assert list(frame["request_id"]) == [f"r{i}" for i in range(100)]
    np.testing.assert_array_equal(frame["feature.x"].to_numpy(), batch.column("feature.x").to_numpy())
    np.testing.assert_array_equal(frame["output.p"].to_numpy(), batch.column("output.p").to_numpy())
    assert list(frame["feature.c"].astype(str)) == batch.column("feature.c").cast(pa.string()).to_pylist()
    assert (decoded.event_us == 1_700_000_000_000_000).all()
    assert set(frame["model_version"].astype(str)) == {"v1"}


def test_encoder_rejects_columns_outside_the_catalog_and_ragged_columns():
    with pytest.raises(EncodeError, match="not in the catalog"):
        build_prediction_batch("a/m", {"x": [1.0], "zz": [2.0]}, version="v1", spec=SPEC)
    with pytest.raises(EncodeError, match="different lengths"):
        build_prediction_batch("a/m", {"x": [1.0, 2.0]}, {"p": [0.1]}, version="v1")


def test_encoder_accepts_records_and_epoch_seconds():
    batch = build_prediction_batch("a/m", [{"x": 1.0}, {"x": 2.0}], version="v1", event_times=[1.5, 2.25])
    assert batch.column("event_time").cast(pa.int64()).to_pylist() == [1_500_000, 2_250_000]
    assert len(set(batch.column("request_id").to_pylist())) == 2


def _headers(version="1"):
    return [(HEADER_SCHEMA_VERSION, version.encode())]


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


@pytest.mark.parametrize(
    ("key", "value", "headers", "reason"),
    [
        (b"a/m", b"\x00garbage\xff" * 10, _headers(), RejectReason.MALFORMED),
        (b"a/m", b"", _headers(), RejectReason.MALFORMED),
        (b"a/m", b"x", [], RejectReason.MISSING_SCHEMA_VERSION),
        (b"a/m", b"x", _headers("2"), RejectReason.UNSUPPORTED_SCHEMA_VERSION),
        (None, b"x", _headers(), RejectReason.MISSING_KEY),
    ],
)
def test_bad_messages_are_rejected_with_a_reason(key, value, headers, reason):
    decoded = decode_predictions(key, value, headers)
    assert isinstance(decoded, Rejection)
    assert decoded.reason is reason


def test_empty_batch_missing_column_key_mismatch_and_wrong_type():
    batch, message = _message()
    empty = decode_predictions(b"a/m", _ipc(pa.Table.from_batches([batch.slice(0, 0)])), _headers())
    assert isinstance(empty, Rejection) and empty.reason is RejectReason.EMPTY_BATCH
    dropped = pa.Table.from_batches([batch]).drop_columns(["event_time"])
    missing = decode_predictions(b"a/m", _ipc(dropped), _headers())
    assert isinstance(missing, Rejection) and missing.reason is RejectReason.MISSING_COLUMN
    mismatch = decode_predictions(b"a/other", message.value, message.headers)
    assert isinstance(mismatch, Rejection) and mismatch.reason is RejectReason.KEY_MISMATCH
    table = pa.Table.from_batches([batch])
    table = table.set_column(1, "event_time", table.column("event_time").cast(pa.int64()))
    wrong = decode_predictions(b"a/m", _ipc(table), _headers())
    assert isinstance(wrong, Rejection) and wrong.reason is RejectReason.WRONG_TYPE


def test_rows_with_null_required_values_are_dropped_and_counted():
    batch, _ = _message(rows=10)
    table = pa.Table.from_batches([batch])
    ids = pa.array(["a", None, "c", None, "e", "f", "g", "h", "i", "j"], pa.string())
    schema = table.schema.set(0, pa.field("request_id", pa.string(), nullable=True))
    table = table.set_column(0, schema.field(0), ids)
    decoded = decode_predictions(b"a/m", _ipc(table), _headers())
    assert isinstance(decoded, DecodedBatch)
    assert decoded.rejected_rows == 2
    assert len(decoded.frame) == 8 == len(decoded.event_us)
