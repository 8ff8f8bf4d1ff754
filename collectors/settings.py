"""Settings of the hardware collectors, as a documented frozen dataclass (built in ``deploy.config``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["CollectorSettings"]


@dataclass(frozen=True, slots=True)
class CollectorSettings:
    """What the agent collects of the model's hardware, and how often.

    Attributes:
        enabled: run the collectors at all.
        interval_seconds: how often a collection cycle runs.
        pod: the pod's name (the injector sets it from the downward API), a label of every sample.
        cgroup_root: the cgroup filesystem. The agent's own (``/sys/fs/cgroup``) shows its own
            container; a read-only mount of the node's (e.g. ``/host/sys/fs/cgroup``) lets the agent
            read the model container's cgroup too (see docs/collectors.md).
        proc_root: the ``/proc`` to read processes from; the model's processes are visible when the
            pod shares its process namespace (``shareProcessNamespace: true``).
        model_pid: the model server's process id, when known.
        model_process_match: otherwise, a substring of the model server's command line to find it by.
        gpu: read NVML when the driver's library is there (no GPU: no GPU metrics, one info log).
        pod_uid: the pod's UID (downward API ``metadata.uid``): NVML's host process ids are this
            pod's when their cgroup path names it.
        host_proc_root: a read-only mount of the node's ``/proc`` (e.g. ``/host/proc``) to look
            NVML's host process ids up in; without it, ``proc_root``.
        namespace: the pod's namespace (dcgm-exporter's series are matched on pod and namespace).
        dcgm_url: a node's dcgm-exporter ``/metrics`` URL to read this pod's GPU series from.
        topic: where hardware samples go.
    """

    enabled: bool = True
    interval_seconds: float = 5.0
    pod: str = ""
    cgroup_root: Path = Path("/sys/fs/cgroup")
    proc_root: Path = Path("/proc")
    model_pid: int | None = None
    model_process_match: str | None = None
    gpu: bool = True
    pod_uid: str | None = None
    host_proc_root: Path | None = None
    namespace: str = ""
    dcgm_url: str | None = None
    topic: str = "modelmon.hardware.v1"
