"""The label HTTP endpoint against the real broker: what it accepts reaches the labels topic, the rest is refused."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import ssl
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.catalog import parse_catalog
from agent.publisher import Publisher
from agent.settings import KafkaSettings, PublisherSettings
from deploy.config import load_settings
from deploy.processes import port_open
from deploy.services import AggregatorService
from drift.adapters.label_http import LabelApi
from drift.adapters.settings import AggregatorSettings
from drift.core.decode import DecodedBatch, decode_labels
from tests.helpers import read_batches, wait_until

pytestmark = pytest.mark.integration

CATALOG = parse_catalog(
    """
models:
  - namespace: test
    name: fraud
    versions: [v1]
    features: [{name: x, type: float}]
    outputs: [{name: p, type: float}]
    quality: {task: classification, label: fraud, classes: [0, 1], scores: {"1": p}}
  - namespace: test
    name: price
    versions: [v1]
    features: [{name: x, type: float}]
    outputs: [{name: p, type: float}]
    quality: {task: regression, label: price, prediction: p}
  - namespace: test
    name: plain
    versions: [v1]
    features: [{name: x, type: float}]
    outputs: [{name: p, type: float}]
"""
)
TOKEN = "tok-3f9a1c77e2b04d5e"
T0 = 1_700_000_000.0


def post(
    url: str, body: Any, token: str | None = TOKEN, context: ssl.SSLContext | None = None
) -> tuple[int, Any, Any]:
    """POST ``body`` (JSON unless bytes); returns status, parsed JSON answer and headers."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read()), exc.headers


def read_labels(kafka: KafkaSettings, topic: str, rows: int) -> list[DecodedBatch]:
    """Every labels message of ``topic`` (one partition), decoded, once ``rows`` rows have arrived."""
    return read_batches(kafka, topic, rows, decode_labels)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "label-token"
    path.write_text(f"  {TOKEN}\n", encoding="utf-8")
    return path


@pytest.fixture
def start_api(kafka, new_topic, token_file) -> Iterator[Callable[..., tuple[LabelApi, str, str]]]:
    """Start a label API publishing to a new topic; returns it, its topic and its base URL."""
    started: list[LabelApi] = []

    def start(queue_max_records: int = 200_000, **options: Any) -> tuple[LabelApi, str, str]:
        topic = new_topic()
        publisher = Publisher(kafka, PublisherSettings(topic=topic, queue_max_records=queue_max_records))
        api = LabelApi(CATALOG, publisher, token_file, host="127.0.0.1", port=0, **options)
        started.append(api.start())
        scheme = "https" if options.get("tls_cert_file") else "http"
        return api, topic, f"{scheme}://127.0.0.1:{api.port}"

    yield start
    for api in started:
        api.stop()
        api.publisher.close(10)


def test_accepted_labels_reach_the_labels_topic_as_the_wire_format(kafka, start_api, caplog):
    caplog.set_level(logging.DEBUG)
    api, topic, url = start_api()
    iso = dt.datetime.fromtimestamp(T0 + 5, dt.UTC).isoformat().replace("+00:00", "Z")
    body = {
        "model": "test/fraud",
        "labels": [
            {"request_id": "req-1", "label": 1, "event_time": T0},
            {"request_id": "req-2", "labels": {"fraud": "0"}, "event_time": iso},
            {"request_id": "req-3", "label": 0},
        ],
    }
    status, answer, _ = post(f"{url}/v1/labels", body)
    assert (status, answer) == (202, {"accepted": 3})
    assert api.publisher.flush(10)
    batches = read_labels(kafka, topic, 3)
    assert [b.model for b in batches] == ["test/fraud"]
    frame, event_us = batches[0].frame, batches[0].event_us
    assert frame["request_id"].tolist() == ["req-1", "req-2", "req-3"]
    assert frame["label.fraud"].tolist() == ["1", "0", "0"]  # compared as class strings by the join
    assert set(frame["model_version"].astype(str)) == {"*"}
    assert event_us[:2].tolist() == [int(T0 * 1e6), int((T0 + 5) * 1e6)]
    assert abs(event_us[2] / 1e6 - dt.datetime.now(dt.UTC).timestamp()) < 60  # defaults to now
    assert api.snapshot() == {"requests": {202: 1}, "labels_accepted": 3, "labels_rejected": {}}
    assert TOKEN not in caplog.text


def test_regression_labels_are_numbers(kafka, start_api):
    api, topic, url = start_api()
    body = {
        "model": "test/price",
        "labels": [{"request_id": "a", "label": 12.5}, {"request_id": "b", "label": 3}],
    }
    assert post(f"{url}/v1/labels", body)[:2] == (202, {"accepted": 2})
    assert api.publisher.flush(10)
    (batch,) = read_labels(kafka, topic, 2)
    assert batch.frame["label.price"].tolist() == [12.5, 3.0]


def test_a_missing_or_wrong_token_is_refused_and_never_logged(start_api, caplog):
    caplog.set_level(logging.DEBUG)
    api, _topic, url = start_api()
    body = {"model": "test/fraud", "labels": [{"request_id": "r", "label": 1}]}
    for token in (None, "wrong", TOKEN + "x", ""):
        status, answer, headers = post(f"{url}/v1/labels", body, token=token)
        assert status == 401, token
        assert headers["WWW-Authenticate"].startswith("Bearer")
        assert "bearer token" in answer["error"]
    request = urllib.request.Request(f"{url}/v1/labels", data=b"{}", method="POST")
    request.add_header("Authorization", f"Basic {TOKEN}")  # the right secret in the wrong scheme
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    refused.value.close()
    assert refused.value.code == 401
    assert api.snapshot()["requests"] == {401: 5}
    assert "401" in caplog.text and TOKEN not in caplog.text


BAD_ITEM = {"request_id": "r", "label": 1}
BAD_REQUESTS = [  # body, status, a part of the error message, what is wrong
    ({"model": "test/nope", "labels": [BAD_ITEM]}, 404, "unknown model", "unknown-model"),
    ({"model": "test/plain", "labels": [BAD_ITEM]}, 422, "no quality", "no-quality"),
    (b'{"model": "test/fraud", "labels": [', 400, "not JSON", "bad-json"),
    (b'{"model": "test/fraud", "labels": [NaN]}', 400, "not JSON", "nan"),
    (["not", "an", "object"], 400, "expected", "not-an-object"),
    ({"model": "test/fraud", "labels": [{"label": 1}]}, 400, "request_id", "no-request-id"),
    (
        {"model": "test/fraud", "labels": [{"request_id": "", "label": 1}]},
        400,
        "request_id",
        "empty-id",
    ),
    ({"model": "test/fraud", "labels": [{"request_id": "r"}]}, 400, "exactly one", "no-label"),
    (
        {"model": "test/fraud", "labels": [{"request_id": "r", "labels": {"churn": 1}}]},
        400,
        "'fraud'",
        "wrong-label-name",
    ),
    (
        {"model": "test/fraud", "labels": [{"request_id": "r", "label": 2}]},
        400,
        "classes",
        "not-a-class",
    ),
    (
        {"model": "test/price", "labels": [{"request_id": "r", "label": "x"}]},
        400,
        "number",
        "not-a-number",
    ),
    (
        {"model": "test/fraud", "labels": [{"request_id": "r", "label": 1, "event_time": "yesterday"}]},
        400,
        "event_time",
        "bad-event-time",
    ),
    (
        {
            "model": "test/fraud",
            "labels": [{"request_id": "r", "label": 1, "event_time": "2024-01-01T00:00:00"}],
        },
        400,
        "UTC offset",
        "naive-event-time",
    ),
    (
        {"model": "test/fraud", "labels": [{"request_id": "r", "label": 1, "event_time": -5}]},
        400,
        "out of range",
        "negative-event-time",
    ),
    (
        {"model": "test/fraud", "labels": [BAD_ITEM, {**BAD_ITEM, "extra": 1}]},
        400,
        "extra",
        "unknown-field",
    ),
    ({"model": "test/fraud", "labels": [BAD_ITEM] * 6}, 413, "at most 5", "too-many"),
    ({"model": "test/fraud", "labels": [BAD_ITEM], "pad": "x" * 2048}, 413, "over 1024", "too-large"),
]


def test_bad_requests_are_refused_with_a_reason_and_nothing_is_sent(start_api):
    api, _topic, url = start_api(max_items=5, max_body_bytes=1024)
    for body, status, fragment, what in BAD_REQUESTS:
        got, answer, _ = post(f"{url}/v1/labels", body)
        assert got == status and fragment in answer["error"], (what, answer)
    assert api.publisher.stats().enqueued == 0
    expected = Counter(status for _body, status, _fragment, _what in BAD_REQUESTS)
    assert api.snapshot()["requests"] == expected
    rejected = api.snapshot()["labels_rejected"]
    assert rejected["unknown_model"] == 1 and rejected["too_many"] == 6 and rejected["bad_label"] == 2


def test_the_default_body_limit_is_checked_before_the_body_is_read(start_api):
    _api, _topic, url = start_api()
    connection = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1]), timeout=10)
    try:
        connection.putrequest("POST", "/v1/labels")
        connection.putheader("Authorization", f"Bearer {TOKEN}")
        connection.putheader("Content-Length", str(8 * 1024 * 1024 + 1))
        connection.endheaders()  # and no body at all: the answer must not wait for it
        response = connection.getresponse()
        assert response.status == 413 and response.getheader("Connection") == "close"
    finally:
        connection.close()


def test_a_full_publisher_queue_answers_503_with_retry_after(start_api):
    api, _topic, url = start_api(queue_max_records=2)
    body = {"model": "test/fraud", "labels": [{"request_id": f"r{i}", "label": 1} for i in range(3)]}
    status, answer, headers = post(f"{url}/v1/labels", body)
    assert status == 503 and int(headers["Retry-After"]) > 0, answer
    assert api.publisher.stats().dropped == {"queue_full": 3}
    assert api.snapshot()["labels_rejected"] == {"queue_full": 3}


def test_health_other_paths_and_methods(start_api):
    _api, _topic, url = start_api()
    with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
        assert response.status == 200
    for path, code in (("/v1/labels", 405), ("/nope", 404)):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{url}{path}", timeout=10)
        refused.value.close()
        assert refused.value.code == code


def _self_signed(directory: Path) -> tuple[Path, Path]:
    pytest.importorskip("cryptography", reason="the TLS test makes its certificate with 'cryptography'")
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def test_tls(kafka, start_api, tmp_path):
    cert_file, key_file = _self_signed(tmp_path)
    api, topic, url = start_api(tls_cert_file=cert_file, tls_key_file=key_file)
    context = ssl.create_default_context(cafile=str(cert_file))
    body = {"model": "test/fraud", "labels": [{"request_id": "tls-1", "label": 1}]}
    assert post(f"{url}/v1/labels", body, context=context)[:2] == (202, {"accepted": 1})
    assert post(f"{url}/v1/labels", body, token="wrong", context=context)[0] == 401
    assert api._server is not None and api._server.context is not None
    assert api._server.context.minimum_version is ssl.TLSVersion.TLSv1_2
    with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
        post(url.replace("https", "http") + "/v1/labels", body)  # plain HTTP to the TLS port
    assert api.publisher.flush(10)
    (batch,) = read_labels(kafka, topic, 1)
    assert batch.frame["request_id"].tolist() == ["tls-1"]


def test_a_bad_token_file_or_half_a_tls_setting_fails_at_start(kafka, tmp_path):
    from agent.errors import ConfigError

    empty = tmp_path / "empty"
    empty.write_text("\n")
    publisher = Publisher(kafka, PublisherSettings(topic="unused"))
    try:
        for token_file in (empty, tmp_path / "missing"):
            with pytest.raises(ConfigError, match="token file"):
                LabelApi(CATALOG, publisher, token_file, port=0).start()
        with pytest.raises(ConfigError, match="both"):
            LabelApi(CATALOG, publisher, empty, tls_cert_file=tmp_path / "c.pem")
    finally:
        publisher.close(5)


def test_the_token_file_setting_comes_from_the_environment():
    settings = load_settings(env={"MODELMON_LABEL_API_TOKEN_FILE": "/run/secrets/labels"})
    assert settings.aggregator.label_api_token_file == Path("/run/secrets/labels")
    assert load_settings(env={}).aggregator.label_api_token_file is None


def test_the_aggregator_service_serves_labels_that_its_own_loop_joins(kafka, new_topic, token_file):
    topic = new_topic()
    settings = AggregatorSettings(
        kafka=kafka,
        group_id=f"g-{uuid.uuid4().hex[:8]}",
        topic=topic,
        labels_topic=f"{topic}.labels",
        checkpoint_topic=f"{topic}.checkpoints",
        metrics_host="127.0.0.1",
        metrics_port=0,
        poll_timeout_ms=100,
        commit_interval_seconds=0.2,
        session_timeout_ms=6_000,
        heartbeat_interval_ms=1_000,
        label_api_token_file=token_file,
        label_api_host="127.0.0.1",
        label_api_port=0,
    )
    service = AggregatorService.start(settings, CATALOG, partitions=1)
    try:
        assert service.label_api is not None
        port = service.label_api.port
        body = {"model": "test/fraud", "labels": [{"request_id": f"r{i}", "label": i % 2} for i in range(10)]}
        assert post(f"http://127.0.0.1:{port}/v1/labels", body)[:2] == (202, {"accepted": 10})

        def labels_seen() -> int:
            with service.stats.lock:
                return int(service.stats.label_join.get(("test", "fraud"), {}).get("labels", 0))

        wait_until(lambda: labels_seen() == 10, 15, what="the aggregator to take the 10 labels")
        assert post(f"http://127.0.0.1:{port}/v1/labels", {"model": "nobody/here", "labels": []})[0] == 404
        with urllib.request.urlopen(
            f"http://127.0.0.1:{service.metrics_port}/metrics", timeout=5
        ) as response:
            text = response.read().decode()
        assert 'modelmon_label_api_requests_total{code="202"} 1.0' in text
        assert 'modelmon_label_api_requests_total{code="404"} 1.0' in text
        assert 'modelmon_label_api_labels_total{outcome="accepted",reason=""} 10.0' in text
    finally:
        service.stop()
    assert not port_open("127.0.0.1", port)
