"""Collectors → the agent's hardware loop → wire → the aggregator's hardware store → /metrics text."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agent.catalog.load import parse_catalog
from agent.hardware import HardwareLoop
from agent.publisher import Publisher
from agent.settings import KafkaSettings, PublisherSettings
from collectors.samples import Sample
from drift.adapters.hardware import HardwareStore
from drift.core.decode import HardwareBatch, decode_hardware
from tests.agent.memory_broker import MemoryBroker

CATALOG = parse_catalog(
    """
models:
  - namespace: ns
    name: m
    features: [{name: x, type: float}]
"""
)


class Fixed:
    def __init__(self, name: str, samples: list[Sample]) -> None:
        self.name, self.samples = name, samples

    def collect(self) -> list[Sample]:
        return list(self.samples)


class Broken:
    name = "broken"

    def collect(self) -> list[Sample]:
        raise RuntimeError("a bug in a collector")


def hardware_batches(broker: MemoryBroker) -> list[HardwareBatch]:
    with broker.lock:
        messages = list(broker.messages)
    out = []
    for key, value, headers in messages:
        assert dict(headers)["modelmon-kind"] == b"hardware"
        decoded = decode_hardware(key, value, headers)
        assert isinstance(decoded, HardwareBatch), decoded
        out.append(decoded)
    return out


def scrape(store: HardwareStore) -> dict[tuple[str, tuple], float]:
    registry = CollectorRegistry()
    registry.register(store)
    found = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_a_cycle_publishes_every_collectors_samples_and_counts_a_failing_one():
    broker = MemoryBroker()
    cpu = Fixed("cgroup", [Sample("container_cpu_usage_seconds_total", 12.5, {"container": "model"})])
    gpu = Fixed(
        "gpu",
        [
            Sample(
                "gpu_power_watts",
                250.0,
                {"gpu": "0", "gpu_uuid": "GPU-a", "gpu_model": "H200", "source": "nvml"},
            ),
            Sample(
                "gpu_throttled",
                1.0,
                {
                    "gpu": "0",
                    "gpu_uuid": "GPU-a",
                    "gpu_model": "H200",
                    "source": "nvml",
                    "reason": "sw_power_cap",
                },
            ),
        ],
    )
    with Publisher(
        KafkaSettings(), PublisherSettings(kind="hardware"), producer_factory=broker.factory
    ) as publisher:
        loop = HardwareLoop(
            [cpu, Broken(), gpu],
            publisher,
            model="ns/m",
            version="v1",
            pod="pod-1",
            interval=5,
            clock=lambda: 1_800_000_000.0,
        )
        assert loop.cycle() == 3
        assert publisher.flush(5)
    assert loop.failures == {"broken": 1}
    (batch,) = hardware_batches(broker)
    assert batch.model == "ns/m"
    frame = batch.frame
    assert frame["metric"].astype(str).tolist() == [
        "container_cpu_usage_seconds_total",
        "gpu_power_watts",
        "gpu_throttled",
    ]
    assert set(frame["pod"].astype(str)) == {"pod-1"} and set(frame["model_version"].astype(str)) == {"v1"}

    store = HardwareStore(CATALOG)
    store.add(batch)
    found = scrape(store)
    ids = (("model", "m"), ("namespace", "ns"), ("pod", "pod-1"), ("version", "v1"))
    assert (
        found[("modelmon_container_cpu_usage_seconds_total", tuple(sorted((*ids, ("container", "model")))))]
        == 12.5
    )
    gpu_labels = (*ids, ("gpu", "0"), ("gpu_model", "H200"), ("gpu_uuid", "GPU-a"), ("source", "nvml"))
    assert found[("modelmon_gpu_power_watts", tuple(sorted(gpu_labels)))] == 250.0
    assert found[("modelmon_gpu_throttled", tuple(sorted((*gpu_labels, ("reason", "sw_power_cap")))))] == 1.0


def test_series_of_a_pod_that_went_away_expire_and_unknown_samples_are_counted():
    now = [1000.0]
    store = HardwareStore(CATALOG, expire_seconds=60, clock=lambda: now[0])
    broker = MemoryBroker()
    samples = [Sample("model_process_threads", 7.0), Sample("not_a_metric", 1.0)]
    with Publisher(
        KafkaSettings(), PublisherSettings(kind="hardware"), producer_factory=broker.factory
    ) as publisher:
        for model, pod in (("ns/m", "old-pod"), ("other/model", "x")):
            HardwareLoop(
                [Fixed("f", samples)], publisher, model=model, version="v1", pod=pod, interval=5
            ).cycle()
        assert publisher.flush(5)
    for batch in hardware_batches(broker):
        store.add(batch)
    found = scrape(store)
    assert any(
        name == "modelmon_model_process_threads" and ("pod", "old-pod") in labels for name, labels in found
    )
    assert found[("modelmon_hardware_samples_rejected_total", (("reason", "unknown_metric"),))] == 1
    assert found[("modelmon_hardware_samples_rejected_total", (("reason", "unknown_model"),))] == 2
    now[0] += 61
    assert not any(name == "modelmon_model_process_threads" for name, _ in scrape(store))


def test_a_malformed_hardware_message_is_counted_and_the_consumer_goes_on():
    from types import SimpleNamespace

    import pyarrow as pa

    from agent.wire.encode import build_hardware_batch, encode_message
    from drift.adapters.hardware import HardwareConsumer
    from drift.adapters.settings import AggregatorSettings
    from tests.helpers import wait_until

    good = build_hardware_batch("ns/m", "v1", "pod-1", [("model_process_threads", 7.0, {})])
    bad = good.set_column(6, "labels", pa.array(["not a map"]))  # labels as plain strings
    messages = [encode_message("ns/m", batch, kind="hardware") for batch in (bad, good)]

    class Consumer:
        def __init__(self):
            self.batches = [[SimpleNamespace(key=m.key, value=m.value, headers=m.headers) for m in messages]]

        def poll(self, timeout_ms):
            return {"tp": self.batches.pop(0)} if self.batches else {}

        def close(self):
            pass

    store = HardwareStore(CATALOG)
    consumer = HardwareConsumer(AggregatorSettings(poll_timeout_ms=10), store, consumer=Consumer())
    consumer.start()
    try:
        wait_until(store.snapshot, 5, what="the good message after the bad one")
    finally:
        consumer.stop()
    assert store.rejected == {"malformed": 1}
    assert list(store.snapshot().values()) == [7.0]
