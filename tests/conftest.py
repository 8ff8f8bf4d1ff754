"""Shared fixtures: the real broker (Tansu) for integration tests, real Prometheus for e2e tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from agent.settings import KafkaSettings
from deploy.alertmanager import alertmanager_binary
from deploy.prometheus import prometheus_binary, promtool_binary


def _require_e2e() -> bool:
    return os.environ.get("MODELMON_REQUIRE_E2E") == "1"


def need_binary(name: str, found: str | None) -> str:
    """Skip with a clear reason when a real binary is absent; fail instead in CI (MODELMON_REQUIRE_E2E=1)."""
    if found:
        return found
    message = f"{name} is not installed (Debian package '{name}'); e2e test skipped"
    if _require_e2e():
        pytest.fail(message.replace("skipped", "required because MODELMON_REQUIRE_E2E=1"))
    pytest.skip(message)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real Kafka-protocol broker: MODELMON_KAFKA_BOOTSTRAP, or Tansu on a free loopback port."""
    given = os.environ.get("MODELMON_KAFKA_BOOTSTRAP")
    if given:
        yield given
        return
    from deploy.broker import LocalBroker

    broker = LocalBroker().start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture
def kafka(kafka_bootstrap: str) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=(kafka_bootstrap,), client_id="modelmon-tests")


@pytest.fixture
def new_topic(kafka: KafkaSettings) -> Callable[..., str]:
    """Create a uniquely named topic with N partitions on the real broker."""
    from drift.adapters.checkpoints import ensure_topic

    def make(partitions: int = 1, prefix: str = "test") -> str:
        name = f"{prefix}.{uuid.uuid4().hex[:10]}"
        assert ensure_topic(kafka, name, partitions) == partitions
        return name

    return make


@pytest.fixture(scope="session")
def promtool() -> str:
    return need_binary("promtool", promtool_binary())


@pytest.fixture(scope="session")
def prometheus() -> str:
    return need_binary("prometheus", prometheus_binary())


@pytest.fixture(scope="session")
def alertmanager() -> str:
    return need_binary("prometheus-alertmanager", alertmanager_binary())


@pytest.fixture
def model():
    """A small model server (KServe v1, OIP v2, generic JSON, errors, streams) on a free port."""
    from tests.agent.model_server import ModelServer

    server = ModelServer().start()
    yield server
    server.stop()


@pytest.fixture
def loop():
    """An event loop (uvloop) on its own thread, for the agent's proxy or a whole sidecar."""
    from tests.agent.running import LoopThread

    thread = LoopThread()
    yield thread
    thread.stop()
