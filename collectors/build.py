"""The collectors a configuration asks for, built in one place."""

from __future__ import annotations

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
    pid = settings.model_pid
    found: list[Collector] = [CgroupCollector(settings.cgroup_root, settings.proc_root, pid)]
    if pid is not None or settings.model_process_match:
        found.append(ProcessCollector(pid, settings.model_process_match, settings.proc_root))
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
