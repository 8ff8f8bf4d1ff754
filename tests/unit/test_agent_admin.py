"""The sidecar's admin port: its metrics after real traffic, health, and readiness that follows the model."""

from __future__ import annotations

import http.client
import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.agent.memory_broker import MemoryBroker
from tests.agent.model_server import ModelServer
from tests.agent.running import LoopThread, start_sidecar
from tests.helpers import wait_until
from tests.unit.test_capture import SPEC


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def post(port: int, path: str, body: bytes) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=body)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def samples(port: int) -> dict[tuple[str, tuple], float]:
    status, text = get(port, "/metrics")
    assert status == 200
    out = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            labels = tuple(
                sorted((k, v) for k, v in sample.labels.items() if k not in ("namespace", "model", "version"))
            )
            out[(sample.name, labels)] = sample.value
    return out


@pytest.fixture
def sidecar():
    model = ModelServer().start()
    loop = LoopThread()
    broker = MemoryBroker()
    car = start_sidecar(
        loop,
        model.port,
        SPEC,
        proxy={"model_ready_path": "/ready", "ready_check_seconds": 0.1},
        producer_factory=broker.factory,
    )
    yield car, model, broker
    loop.call(car.close)
    loop.stop()
    model.stop()


def test_metrics_count_calls_by_status_class_and_follow_the_pipeline(sidecar):
    car, _model, _broker = sidecar
    body = json.dumps({"instances": [[1.0, 2.0], [3.0, 4.0]]}).encode()
    for _ in range(5):
        assert post(car.proxy.port, "/v1/models/m:predict", body) == 200
    assert post(car.proxy.port, "/fail", body) == 500
    assert post(car.proxy.port, "/echo", b"\x00binary") == 200
    wait_until(lambda: car.publisher.stats().sent == 13, 10, what="5×2 + 1 + 1 + 1 rows published")
    found = samples(car.admin.port)
    assert found[("modelmon_agent_calls_total", (("status_class", "2xx"),))] == 6
    assert found[("modelmon_agent_calls_total", (("status_class", "5xx"),))] == 1
    assert found[("modelmon_agent_request_duration_seconds_count", (("status_class", "2xx"),))] == 6
    assert found[("modelmon_agent_captured_calls_total", ())] == 7
    assert found[("modelmon_agent_captured_rows_total", ())] == 13
    assert found[("modelmon_agent_unparsed_calls_total", (("reason", "not_json"),))] == 1
    assert found[("modelmon_agent_published_records_total", ())] == 13
    assert found[("modelmon_agent_publish_latency_seconds_count", ())] >= 1
    assert found[("modelmon_agent_queue_depth", (("queue", "capture"),))] == 0
    assert found[("modelmon_agent_spool_bytes", ())] == 0


def test_health_is_the_agents_and_readiness_is_the_models(sidecar):
    car, model, _ = sidecar
    assert get(car.admin.port, "/healthz") == (200, b"ok\n")
    wait_until(lambda: get(car.admin.port, "/readyz")[0] == 200, 5, what="ready")
    model.ready.clear()  # the model answers its readiness path with 503
    wait_until(lambda: get(car.admin.port, "/readyz")[0] == 503, 5, what="not ready")
    assert samples(car.admin.port)[("modelmon_agent_model_ready", ())] == 0
    model.ready.set()
    wait_until(lambda: get(car.admin.port, "/readyz")[0] == 200, 5, what="ready again")
    assert get(car.admin.port, "/nothing")[0] == 404
