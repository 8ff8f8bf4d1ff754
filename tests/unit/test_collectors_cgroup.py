"""cgroup v1 and v2 readers against fixture trees (tests/fixtures/cgroup), and this machine's own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from collectors.cgroup import CgroupCollector, cgroup_version

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cgroup"


def values(samples) -> dict[str, float]:
    return {s.metric: s.value for s in samples}


def test_cgroup_v2_of_the_model_container_found_through_its_process():
    root = FIXTURES / "v2"
    collector = CgroupCollector(root / "sys", root / "proc", pid=4242)
    assert collector.version == 2
    samples = collector.collect()
    assert {s.labels["container"] for s in samples} == {"model"}
    assert values(samples) == {
        "container_cpu_usage_seconds_total": 8123.456789,
        "container_cpu_periods_total": 52000,
        "container_cpu_throttled_periods_total": 1300,
        "container_cpu_throttled_seconds_total": 65.0,
        "container_cpu_limit_cores": 1.5,
        "container_memory_usage_bytes": 1073741824,
        "container_memory_working_set_bytes": 1073741824 - 209715200,
        "container_memory_rss_bytes": 734003200,
        "container_memory_limit_bytes": 4294967296,
        "container_oom_kills_total": 2,
    }


def test_cgroup_v2_without_the_model_process_is_the_agents_own_view():
    root = FIXTURES / "v2"
    samples = CgroupCollector(root / "sys", root / "proc", pid=None).collect()
    assert {s.labels["container"] for s in samples} == {"agent"}
    # the root of a v2 mount has cpu.stat but no memory.current: memory is left out, not guessed
    found = values(samples)
    assert found["container_cpu_usage_seconds_total"] > 0
    assert "container_memory_usage_bytes" not in found


def test_cgroup_v1_of_the_model_container_per_controller():
    root = FIXTURES / "v1"
    collector = CgroupCollector(root / "sys", root / "proc", pid=4242)
    assert collector.version == 1
    samples = collector.collect()
    found = values(samples)
    stat = dict(
        line.split()
        for line in (root / "sys/memory/kubepods/burstable/pod1234/abc/memory.stat").read_text().splitlines()
    )
    assert found == {
        "container_cpu_usage_seconds_total": 10328416359476 / 1e9,
        "container_cpu_periods_total": 3000,
        "container_cpu_throttled_periods_total": 120,
        "container_cpu_throttled_seconds_total": 4.5,
        "container_cpu_limit_cores": 2.0,
        "container_memory_usage_bytes": 1687846912,
        "container_memory_working_set_bytes": 1687846912 - int(stat["total_inactive_file"]),
        "container_memory_rss_bytes": int(stat["total_rss"]),
        "container_memory_limit_bytes": 2147483648,
        "container_oom_kills_total": 1,
    }
    assert {s.labels["container"] for s in samples} == {"model"}


def test_cgroup_v1_unlimited_memory_and_no_quota_are_left_out():
    root = FIXTURES / "v1"
    found = values(CgroupCollector(root / "sys", root / "proc", pid=None).collect())
    assert "container_memory_limit_bytes" not in found  # 9223372036854771712 means no limit
    assert "container_cpu_limit_cores" not in found  # a quota of -1 means none
    assert found["container_memory_usage_bytes"] > 0


def test_a_process_that_went_away_falls_back_to_the_agents_view(tmp_path):
    root = FIXTURES / "v2"
    samples = CgroupCollector(root / "sys", tmp_path, pid=999).collect()
    assert samples and {s.labels["container"] for s in samples} == {"agent"}


def test_no_cgroup_filesystem_is_no_samples_and_no_error(tmp_path):
    collector = CgroupCollector(tmp_path, tmp_path)
    assert collector.version is None and collector.collect() == []


def test_this_machines_real_cgroup_and_proc():
    root = Path("/sys/fs/cgroup")
    if cgroup_version(root) is None:
        pytest.skip("this machine has no cgroup filesystem at /sys/fs/cgroup")
    found = values(CgroupCollector(root, Path("/proc"), pid=os.getpid()).collect())
    assert found["container_cpu_usage_seconds_total"] > 0
    if "container_memory_usage_bytes" in found:
        assert 0 <= found["container_memory_working_set_bytes"] <= found["container_memory_usage_bytes"]


def test_through_a_cgroup_namespace_the_model_container_is_found_in_its_pod_on_the_node():
    root = FIXTURES / "v2"
    samples = CgroupCollector(root / "sys", root / "proc", pid=4343, own_view=False, pod_uid="1234").collect()
    assert {s.labels["container"] for s in samples} == {"model"}
    assert values(samples)["container_memory_usage_bytes"] == 1073741824


def test_on_a_nodes_mount_an_unknown_model_cgroup_reports_nothing_rather_than_the_node():
    root = FIXTURES / "v2"
    for pid in (None, 999, 4444):  # not named, gone, in the root cgroup
        assert CgroupCollector(root / "sys", root / "proc", pid=pid, own_view=False).collect() == []
    # the agent's own mount: its own container, said so
    samples = CgroupCollector(root / "sys", root / "proc", pid=4444).collect()
    assert samples and {s.labels["container"] for s in samples} == {"agent"}


def test_the_model_pid_is_asked_again_each_cycle():
    root = FIXTURES / "v2"
    current = [None]
    collector = CgroupCollector(root / "sys", root / "proc", pid=lambda: current[0], own_view=False)
    assert collector.collect() == []
    current[0] = 4242  # the model (re)started
    assert {s.labels["container"] for s in collector.collect()} == {"model"}
