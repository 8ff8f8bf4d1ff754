"""GPU metrics through a fake NVML: several GPUs, a shared GPU attributed per pod, unsupported
calls, a GPU that is lost; and no NVML at all."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from collectors.gpu import GpuCollector, PodPidFilter, load_nvml
from tests.collectors.fake_nvml import FakeGpu, FakeNvml

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cgroup"
OURS = {101, 102}


def by_key(samples) -> dict[tuple, float]:
    return {
        (s.metric, s.labels.get("gpu"), s.labels.get("reason") or s.labels.get("type")): s.value
        for s in samples
    }


def test_every_gpu_is_reported_and_a_shared_one_is_attributed_to_this_pods_processes():
    shared = FakeGpu(
        "GPU-aaaa",
        processes=[(101, 4 << 30), (102, 1 << 30), (555, 8 << 30)],  # 555 is another pod's
        samples=[(101, 30, 1000), (101, 35, 2000), (102, 10, 2000), (555, 50, 2000)],
        throttle=0x4 | 0x40,
    )
    other = FakeGpu("GPU-bbbb", processes=[(777, 2 << 30)], power_mw=None, ecc=None)
    nvml = FakeNvml([shared, other])
    found = by_key(GpuCollector(nvml, OURS.__contains__).collect())
    assert found[("gpu_utilization_ratio", "0", None)] == 0.5
    assert found[("gpu_memory_used_bytes", "0", None)] == 10 << 30
    assert found[("gpu_memory_total_bytes", "1", None)] == 141 << 30
    assert found[("gpu_power_watts", "0", None)] == 250.0
    assert found[("gpu_temperature_celsius", "0", None)] == 61
    assert found[("gpu_sm_clock_hertz", "0", None)] == 1980e6
    assert found[("gpu_throttled", "0", "sw_power_cap")] == 1.0
    assert found[("gpu_throttled", "0", "hw_thermal_slowdown")] == 1.0
    assert found[("gpu_throttled", "0", "gpu_idle")] == 0.0
    assert found[("gpu_ecc_errors_total", "0", "corrected")] == 3
    # this pod's share of the shared GPU: its two processes, not the other pod's
    assert found[("gpu_model_processes", "0", None)] == 2
    assert found[("gpu_model_memory_used_bytes", "0", None)] == 5 << 30
    # each process averaged over the cycle's samples (101: 30 and 35), then summed: 0.325 + 0.10
    assert found[("gpu_model_sm_utilization_ratio", "0", None)] == pytest.approx(0.425)
    assert (
        found[("gpu_model_processes", "1", None)] == 0
        and found[("gpu_model_memory_used_bytes", "1", None)] == 0
    )
    # what GPU 1 does not support is left out, not zero
    assert ("gpu_power_watts", "1", None) not in found
    assert ("gpu_ecc_errors_total", "1", "corrected") not in found


def test_process_samples_are_read_since_the_last_cycle_and_an_idle_period_is_zero():
    gpu = FakeGpu("GPU-aaaa", processes=[(101, 1 << 30)], samples=[(101, 40, 1000)])
    nvml = FakeNvml([gpu])
    collector = GpuCollector(nvml, OURS.__contains__)
    collector.collect()
    found = by_key(collector.collect())  # no sample newer than 1000: NVML says NotFound
    assert nvml.utilization_since == [0, 1000]
    assert found[("gpu_model_sm_utilization_ratio", "0", None)] == 0.0


def test_a_gpu_lost_between_cycles_is_skipped_once_logged_and_comes_back(caplog):
    first, second = FakeGpu("GPU-aaaa"), FakeGpu("GPU-bbbb")
    collector = GpuCollector(FakeNvml([first, second]), OURS.__contains__)
    assert {s.labels["gpu"] for s in collector.collect()} == {"0", "1"}
    second.lost = True
    with caplog.at_level(logging.INFO, logger="collectors.gpu"):
        assert {s.labels["gpu"] for s in collector.collect()} == {"0"}
        assert {s.labels["gpu"] for s in collector.collect()} == {"0"}
    assert len([r for r in caplog.records if "GPU 1" in r.getMessage()]) == 1
    second.lost = False
    assert {s.labels["gpu"] for s in collector.collect()} == {"0", "1"}


def test_without_nvml_there_are_no_gpu_metrics_and_one_info_log(caplog):
    import pynvml

    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        pass
    else:  # a machine with a driver: the loader must hand NVML over
        pynvml.nvmlShutdown()
        assert load_nvml() is not None
        return
    with caplog.at_level(logging.INFO, logger="collectors.gpu"):
        assert load_nvml() is None
    assert [r.levelno for r in caplog.records] == [logging.INFO]


def test_host_process_ids_are_this_pods_when_their_cgroup_names_its_uid():
    host = FIXTURES / "host-proc"
    systemd_pod = PodPidFilter(host, "1234")
    assert [pid for pid in (31000, 31001, 31002, 99999) if systemd_pod(pid)] == [31000]
    cgroupfs_pod = PodPidFilter(host, "9f0e1d2c-aaaa-bbbb-cccc-123456789abc")
    assert [pid for pid in (31000, 31001, 31002) if cgroupfs_pod(pid)] == [31002]
    assert PodPidFilter(host, None)(31001) and not PodPidFilter(host, None)(99999)


def test_through_a_cgroup_namespace_the_pods_other_containers_are_siblings():
    # the agent's private cgroup namespace shows the model container as "/../<scope>", another
    # pod's process several levels further up
    host = FIXTURES / "host-proc"
    ours = PodPidFilter(host, "1234")
    assert ours(31003) and not ours(31004)
