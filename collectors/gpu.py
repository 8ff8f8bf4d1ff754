"""GPU metrics through NVML (``nvidia-ml-py``): per device, and per process so a shared GPU is
attributed to each pod using it.

dcgm-exporter cannot attribute a shared or time-sliced GPU to the pods on it. NVML lists the
processes on each device with their memory and, per sampling period, their SM and memory
utilization; ``owns_pid`` says which of them are this pod's model, so the pod's share is exported
next to the device's totals. NVML reports host process ids: :class:`PodPidFilter` recognises them
through a read-only mount of the node's ``/proc`` and the pod's UID in their cgroup path.

No NVML library, no GPU or no permission: no error, one info log, no GPU samples. A call a device
does not support leaves its metric out; a device that disappears is skipped (logged once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from collectors.samples import Sample

__all__ = ["THROTTLE_REASONS", "GpuCollector", "PodPidFilter", "load_nvml"]

log = logging.getLogger(__name__)

# NVML's clock throttle reason bits (nvmlClocksThrottleReason*), by the label we export.
THROTTLE_REASONS: Final = {
    "gpu_idle": 0x1,
    "applications_clocks_setting": 0x2,
    "sw_power_cap": 0x4,
    "hw_slowdown": 0x8,
    "sync_boost": 0x10,
    "sw_thermal_slowdown": 0x20,
    "hw_thermal_slowdown": 0x40,
    "hw_power_brake_slowdown": 0x80,
    "display_clock_setting": 0x100,
}
_TEMPERATURE_GPU: Final = 0  # NVML_TEMPERATURE_GPU
_CLOCK_SM: Final = 1  # NVML_CLOCK_SM
_ERROR_CORRECTED, _ERROR_UNCORRECTED = 0, 1  # NVML_MEMORY_ERROR_TYPE_*
_VOLATILE_ECC: Final = 0  # counts since the driver loaded


def load_nvml() -> Any | None:
    """The initialised ``pynvml`` module, or None (logged once at info) when NVML cannot be used."""
    try:
        import pynvml
    except ImportError:
        log.info("nvidia-ml-py is not installed: no GPU metrics")
        return None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:  # no library, no driver, no permission: a machine without GPUs
        log.info("NVML is not available (%s): no GPU metrics", exc)
        return None
    return pynvml


class PodPidFilter:
    """Whether a host process id belongs to this pod: its cgroup path (under ``host_proc``) names the pod's UID.

    Without a UID, every process visible under ``host_proc`` counts (a node-wide view, or a pod
    whose processes are the only ones visible).
    """

    def __init__(self, host_proc: Path, pod_uid: str | None) -> None:
        self.host_proc = host_proc
        # The kubelet names the pod's cgroup "pod<uid>" (cgroupfs driver) or "…-pod<uid with _>.slice"
        # (systemd driver).
        self.marks = (f"pod{pod_uid}", f"pod{pod_uid.replace('-', '_')}") if pod_uid else ()

    def __call__(self, pid: int) -> bool:
        try:
            cgroup = (self.host_proc / str(pid) / "cgroup").read_text()
        except OSError:
            return False
        if not self.marks:
            return True
        # Seen through the agent's cgroup namespace, a process of the pod's other containers is a
        # sibling of the agent's own cgroup: "/../<its container>"; another pod's is further away.
        paths = [line.split(":", 2)[2] for line in cgroup.splitlines() if line.count(":") >= 2]
        siblings = any(p.startswith("/../") and p.count("/") == 2 for p in paths)
        return siblings or any(mark in cgroup for mark in self.marks)


class GpuCollector:
    """Samples of every GPU NVML sees; ``nvml`` is the ``pynvml`` module or a fake with its calls."""

    name = "gpu"

    def __init__(self, nvml: Any, owns_pid: Callable[[int], bool]) -> None:
        self.nvml = nvml
        self.owns_pid = owns_pid
        self._last_seen: dict[str, int] = {}  # per device: timestamp of the last process sample read
        self._lost: set[int] = set()

    def _read(self, call: Callable[..., Any], *args: Any) -> Any | None:
        """A value, or None when the device does not support the call (or has no data yet)."""
        try:
            return call(*args)
        except self.nvml.NVMLError as exc:
            if isinstance(exc, self.nvml.NVMLError_GpuIsLost):
                raise
            return None

    def collect(self) -> list[Sample]:
        nvml = self.nvml
        try:
            count = nvml.nvmlDeviceGetCount()
        except nvml.NVMLError as exc:
            log.info("NVML stopped answering (%s): no GPU samples this cycle", exc)
            return []
        found: list[Sample] = []
        for index in range(count):
            try:
                found += self._device(index)
                self._lost.discard(index)
            except nvml.NVMLError as exc:  # lost, or gone between the count and the call
                if index not in self._lost:
                    log.info("GPU %d cannot be read (%s): skipped until it answers again", index, exc)
                    self._lost.add(index)
        return found

    def _device(self, index: int) -> list[Sample]:
        nvml = self.nvml
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        uuid = _text(nvml.nvmlDeviceGetUUID(handle))
        name = _text(self._read(nvml.nvmlDeviceGetName, handle) or "")
        labels = {"gpu": str(index), "gpu_uuid": uuid, "gpu_model": name, "source": "nvml"}
        found: list[Sample] = []

        def add(metric: str, value: float | None, **extra: str) -> None:
            if value is not None:
                found.append(Sample(metric, float(value), labels | extra))

        utilization = self._read(nvml.nvmlDeviceGetUtilizationRates, handle)
        if utilization is not None:
            add("gpu_utilization_ratio", utilization.gpu / 100)
            add("gpu_memory_utilization_ratio", utilization.memory / 100)
        memory = self._read(nvml.nvmlDeviceGetMemoryInfo, handle)
        if memory is not None:
            add("gpu_memory_used_bytes", memory.used)
            add("gpu_memory_total_bytes", memory.total)
        power = self._read(nvml.nvmlDeviceGetPowerUsage, handle)
        add("gpu_power_watts", power / 1000 if power is not None else None)
        add("gpu_temperature_celsius", self._read(nvml.nvmlDeviceGetTemperature, handle, _TEMPERATURE_GPU))
        clock = self._read(nvml.nvmlDeviceGetClockInfo, handle, _CLOCK_SM)
        add("gpu_sm_clock_hertz", clock * 1e6 if clock is not None else None)
        reasons = self._read(nvml.nvmlDeviceGetCurrentClocksThrottleReasons, handle)
        if reasons is not None:
            for reason, bit in THROTTLE_REASONS.items():
                add("gpu_throttled", 1.0 if reasons & bit else 0.0, reason=reason)
        for kind, code in (("corrected", _ERROR_CORRECTED), ("uncorrected", _ERROR_UNCORRECTED)):
            add(
                "gpu_ecc_errors_total",
                self._read(nvml.nvmlDeviceGetTotalEccErrors, handle, code, _VOLATILE_ECC),
                type=kind,
            )
        found += self._pod_share(handle, uuid, labels)
        return found

    def _pod_share(self, handle: Any, uuid: str, labels: dict[str, str]) -> list[Sample]:
        """This pod's processes on the device: their memory, and their SM share over the last period."""
        nvml = self.nvml
        processes: list[Any] = []
        for call in (nvml.nvmlDeviceGetComputeRunningProcesses, nvml.nvmlDeviceGetGraphicsRunningProcesses):
            processes += self._read(call, handle) or []
        ours = {p.pid: p for p in processes if self.owns_pid(p.pid)}
        memory = sum(p.usedGpuMemory or 0 for p in ours.values())
        found = [
            Sample("gpu_model_processes", len(ours), labels),
            Sample("gpu_model_memory_used_bytes", memory, labels),
        ]
        try:
            samples = nvml.nvmlDeviceGetProcessUtilization(handle, self._last_seen.get(uuid, 0))
        except nvml.NVMLError_NotFound:
            samples = []  # no process used the device since the last read
        except nvml.NVMLError as exc:
            if isinstance(exc, nvml.NVMLError_GpuIsLost):
                raise
            samples = None  # not supported (e.g. vGPU, MIG)
        if samples is not None:
            # NVML keeps a sample per process per period; average each process over the cycle's samples.
            by_pid: dict[int, list[float]] = {}
            for sample in samples:
                if sample.pid in ours:
                    by_pid.setdefault(sample.pid, []).append(sample.smUtil)
            if samples:
                self._last_seen[uuid] = max(s.timeStamp for s in samples)
            share = sum(sum(values) / len(values) for values in by_pid.values()) / 100
            found.append(Sample("gpu_model_sm_utilization_ratio", share, labels))
        return found


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
