"""Hardware samples from the sidecar, through the real broker and aggregator, as Prometheus series
next to the model's own metrics (one query joins them)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from agent.settings import KafkaSettings
from collectors.settings import CollectorSettings
from deploy.prometheus import LocalPrometheus
from deploy.services import AggregatorService
from tests.agent.running import start_sidecar
from tests.collectors.fake_nvml import FakeGpu, FakeNvml
from tests.conftest import need_binary
from tests.helpers import aggregator_settings, wait_until
from tests.integration.test_sidecar import CATALOG, exchange

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cgroup"


def test_hardware_series_carry_the_model_identity_and_join_its_quality_metrics(kafka_bootstrap, model, loop):
    from deploy.prometheus import prometheus_binary

    need_binary("prometheus", prometheus_binary())
    kafka = KafkaSettings(bootstrap_servers=(kafka_bootstrap,))
    topic = f"hw.{uuid.uuid4().hex[:8]}"
    settings = aggregator_settings(kafka, topic)
    service = AggregatorService.start(settings, CATALOG, partitions=1)
    prometheus = LocalPrometheus([f"127.0.0.1:{service.metrics_port}"]).start()
    shared = FakeGpu("GPU-e2e", processes=[(31000, 4 << 30), (31001, 8 << 30)], samples=[(31000, 25, 10)])
    car = start_sidecar(
        loop,
        model.port,
        CATALOG.get("ns/m"),
        kafka=kafka,
        publisher={"topic": topic, "linger_ms": 0},
        collectors=CollectorSettings(
            pod="e2e-pod",
            interval_seconds=0.5,
            model_pid=os.getpid(),  # the model server runs in this process
            host_proc_root=FIXTURES / "host-proc",  # where pid 31000 is this pod's, 31001 another's
            pod_uid="1234",
            topic=settings.hardware_topic,
        ),
        nvml=FakeNvml([shared]),
    )
    try:
        body = json.dumps({"instances": [[1.0, 2.0]]}).encode()
        for _ in range(40):
            assert exchange(car.proxy.port, "/v1/models/m:predict", body)[0] == 200

        def series(query: str) -> list[dict]:
            return prometheus.query(query)

        wait_until(
            lambda: series('modelmon_model_process_resident_memory_bytes{pod="e2e-pod"}'),
            60,
            what="process series",
        )
        (rss,) = series('modelmon_model_process_resident_memory_bytes{pod="e2e-pod"}')
        assert {k: rss["metric"][k] for k in ("namespace", "model", "version", "pod")} == {
            "namespace": "ns",
            "model": "m",
            "version": "v1",
            "pod": "e2e-pod",
        }
        assert float(rss["value"][1]) > 10 * 1_048_576
        wait_until(
            lambda: series('modelmon_gpu_model_memory_used_bytes{pod="e2e-pod"}'), 30, what="GPU series"
        )
        (gpu,) = series('modelmon_gpu_model_memory_used_bytes{pod="e2e-pod"}')
        assert float(gpu["value"][1]) == 4 << 30  # this pod's process only, on a GPU shared with another
        assert gpu["metric"]["gpu_uuid"] == "GPU-e2e" and gpu["metric"]["source"] == "nvml"
        assert series('modelmon_container_cpu_usage_seconds_total{pod="e2e-pod"}')
        # one query puts the model's hardware next to its own metrics: the same identity labels
        joined = (
            'modelmon_model_process_resident_memory_bytes{pod="e2e-pod"}'
            " * on(namespace, model, version) group_left() "
            '(max by (namespace, model, version) (modelmon_predictions_total{segment=""}) > 0)'
        )
        wait_until(lambda: series(joined), 60, what="the joined series")
    finally:
        loop.call(car.close)
        prometheus.stop()
        service.stop()
