"""The sidecar under steady load while Kafka goes away for 30 s, and while its spool is full."""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from agent.spool import Spool
from deploy.broker import LocalBroker
from deploy.local_agent import LocalAgent
from deploy.processes import free_port
from drift.adapters.checkpoints import ensure_topic
from drift.core.decode import decode_predictions
from tests.agent.relay import Relay
from tests.agent.running import LoopThread
from tests.helpers import read_batches, wait_until

pytestmark = pytest.mark.integration

CATALOG = """
models:
  - namespace: ns
    name: m
    features: [{name: x, type: float}, {name: y, type: float}]
    outputs: [{name: p, type: float}]
"""
BODY = b'{"instances": [[1.0, 2.0]]}'


def metric(agent: LocalAgent, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(agent.metrics_text()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


class Load:
    """Calls at a steady rate, each with a fresh X-Request-Id; records what the client saw."""

    def __init__(self, port: int, rate: float) -> None:
        self.port, self.period = port, 1.0 / rate
        self.ids: list[str] = []
        self.statuses: dict[int, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        next_at = time.monotonic()
        try:
            while not self.stop.is_set():
                request_id = uuid.uuid4().hex
                conn.request("POST", "/v1/models/m:predict", body=BODY, headers={"x-request-id": request_id})
                response = conn.getresponse()
                response.read()
                self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
                self.ids.append(request_id)
                next_at += self.period
                self.stop.wait(max(0.0, next_at - time.monotonic()))  # the pace, not a wait for a result
        finally:
            conn.close()

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(15)


def make_agent(model_port: int, bootstrap: str, tmp_path: Path, **sections: dict) -> LocalAgent:
    """``modelmon-agent`` in a child process, for ``ns/m`` v1, in front of ``model_port``."""
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(CATALOG)
    capture = {"model": "ns/m", "version": "v1"} | sections.pop("capture", {})
    return LocalAgent(
        model_port, bootstrap, catalog=catalog, work_dir=tmp_path / "agent", capture=capture, **sections
    )


@pytest.mark.timeout(300)
def test_kafka_away_for_30s_under_load_loses_no_call_and_the_spool_drains(model, tmp_path: Path):
    loop = LoopThread()
    relay_port = free_port()
    relay = None
    with LocalBroker(advertised_port=relay_port, log_dir=tmp_path) as broker:
        relay = Relay(loop, relay_port, broker.port)
        relay.up()
        from agent.settings import KafkaSettings

        through_relay = KafkaSettings(bootstrap_servers=(f"127.0.0.1:{relay_port}",))
        topic = f"outage.{uuid.uuid4().hex[:8]}"
        ensure_topic(through_relay, topic, 1)
        agent = make_agent(
            model.port,
            f"127.0.0.1:{relay_port}",
            tmp_path,
            capture={"batch_max_seconds": 0.2},
            publisher={
                "topic": topic,
                "delivery_timeout_seconds": 5,
                "spool_retry_seconds": 0.5,
                "max_block_seconds": 1,
            },
        )
        try:
            agent.start()
            with Load(agent.port, rate=100) as load:
                wait_until(lambda: len(load.ids) >= 500, 30, what="5 s of traffic")
                relay.down()
                down_at = len(load.ids)
                outage_end = time.monotonic() + 30
                wait_until(
                    lambda: metric(agent, "modelmon_agent_spool_bytes") > 0, 20, what="the spool to fill"
                )
                wait_until(lambda: time.monotonic() >= outage_end, 35, what="30 s of outage")
                during = len(load.ids) - down_at
                relay.up()
                wait_until(lambda: len(load.ids) >= down_at + during + 500, 30, what="5 s more traffic")
            sent = list(load.ids)
            assert load.statuses == {200: len(sent)}, "the model's traffic was touched by the outage"
            assert during >= 2500, f"only {during} calls during the outage"
            try:
                wait_until(
                    lambda: (
                        metric(agent, "modelmon_agent_spool_bytes") == 0
                        and metric(agent, "modelmon_agent_captured_rows_total") == len(sent)
                        and metric(agent, "modelmon_agent_published_records_total") >= len(sent)
                    ),
                    120,
                    what="the spool to drain",
                )
            except TimeoutError as exc:
                names = (
                    "spool_bytes",
                    "captured_rows_total",
                    "published_records_total",
                    "replayed_records_total",
                )
                seen = {name: metric(agent, f"modelmon_agent_{name}") for name in names}
                raise AssertionError(f"{exc}; {len(sent)} calls sent; the agent says {seen}") from exc
            assert metric(agent, "modelmon_agent_replayed_records_total") > 0
            assert metric(agent, "modelmon_agent_dropped_records_total") == 0
            batches = read_batches(through_relay, topic, len(sent), decode_predictions, timeout=60)
        finally:
            agent.stop()
            relay.down()
            loop.stop()
    received = [i for b in batches for i in b.frame["request_id"].tolist()]
    missing = set(sent) - set(received)
    assert not missing, f"{len(missing)} of {len(sent)} calls never reached Kafka"
    duplicates = len(received) - len(set(received))
    print(f"{len(sent)} calls, {during} during the outage; {duplicates} duplicates (at-least-once replay)")


@pytest.mark.timeout(180)
def test_a_full_spool_drops_exactly_what_it_counts_and_memory_stays_bounded(model, tmp_path: Path):
    dead = free_port()  # nothing listens there: Kafka is down for the whole test
    agent = make_agent(
        model.port,
        f"127.0.0.1:{dead}",
        tmp_path,
        capture={"batch_max_seconds": 0.1, "batch_max_rows": 200},
        publisher={"spool_max_bytes": 256 * 1024, "max_block_seconds": 0.5, "spool_policy": "drop_oldest"},
    )
    try:
        agent.start()
        with Load(agent.port, rate=400) as load:
            wait_until(
                lambda: metric(agent, "modelmon_agent_dropped_records_total", reason="spool_full") > 0,
                60,
                what="the spool to overflow",
            )
            first_peak = agent.peak_rss_bytes()
            target = len(load.ids) + 6000
            wait_until(lambda: len(load.ids) >= target, 60, what="6,000 more calls into a full spool")
        sent = len(load.ids)
        wait_until(
            lambda: (
                metric(agent, "modelmon_agent_captured_rows_total") == sent
                and metric(agent, "modelmon_agent_queue_depth") == 0
            ),
            30,
            what="every call through the pipeline",
        )
        peak = agent.peak_rss_bytes()
        spooled = metric(agent, "modelmon_agent_spooled_records_total")
        dropped = metric(agent, "modelmon_agent_dropped_records_total", reason="spool_full")
        other_drops = metric(agent, "modelmon_agent_dropped_records_total") - dropped
    finally:
        agent.stop()
    kept_spool = Spool(tmp_path / "agent" / "spool", 256 * 1024)
    try:
        kept = sum(message.rows for message in kept_spool.replay())
    finally:
        kept_spool.close()
    assert load.statuses == {200: sent}
    assert other_drops == 0
    assert spooled == sent, "every captured row went to the spool"
    assert kept + dropped == sent, f"{kept} kept + {dropped} dropped != {sent} captured"
    assert dropped > 0 and kept > 0
    assert peak < 128 * 1_048_576, f"peak RSS {peak / 1_048_576:.0f} MB"
    assert peak - first_peak < 8 * 1_048_576, "memory grew with the calls after the spool was full"
    print(
        f"peak RSS {peak / 1_048_576:.1f} MB ({first_peak / 1_048_576:.1f} MB when the spool first overflowed)"
    )
