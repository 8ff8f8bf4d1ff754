"""The collectors a configuration asks for, built in one place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from collectors.cgroup import CgroupCollector
from collectors.dcgm import DcgmCollector
from collectors.errors import CollectorError
from collectors.gpu import GpuCollector, PodPidFilter, load_nvml
from collectors.process import ProcessCollector
from collectors.samples import Collector
from collectors.settings import CollectorSettings

__all__ = ["build_collectors"]


def build_collectors(settings: CollectorSettings, *, nvml: Any = None) -> list[Collector]:
    """cgroup, process (when the model process is named), GPU (when NVML loads; ``nvml`` passes one
    in) and dcgm-exporter (when configured)."""
    if settings.interval_seconds <= 0:
        raise CollectorError(f"collectors.interval_seconds must be positive, not {settings.interval_seconds}")
    found: list[Collector] = []
    model_pid = None
    if settings.model_pid is not None or settings.model_process_match:
        process = ProcessCollector(settings.model_pid, settings.model_process_match, settings.proc_root)
        found.append(process)
        model_pid = process.current_pid  # found again each cycle, so a restarted model is followed
    found.insert(
        0,
        CgroupCollector(
            settings.cgroup_root,
            settings.proc_root,
            model_pid,
            own_view=settings.cgroup_root == Path("/sys/fs/cgroup"),  # else a node's mount: never its root
            pod_uid=settings.pod_uid,
        ),
    )
    if settings.gpu:
        handle = nvml if nvml is not None else load_nvml()
        if handle is not None:
            owns = PodPidFilter(settings.host_proc_root or settings.proc_root, settings.pod_uid)
            found.append(GpuCollector(handle, owns))
    if settings.dcgm_url:
        if not settings.pod:
            raise CollectorError(
                "collectors.dcgm_url needs collectors.pod: dcgm-exporter's series are found by pod"
            )
        found.append(DcgmCollector(settings.dcgm_url, settings.pod, settings.namespace or None))
    return found
