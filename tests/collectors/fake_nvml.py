"""A fake NVML with the calls ``collectors.gpu`` makes, shaped like ``pynvml``'s: several GPUs,
per-process lists and samples, calls a device does not support, a device that is lost."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace


class NVMLError(Exception):
    pass


class NVMLError_NotSupported(NVMLError):  # noqa: N801, N818 - pynvml's names
    pass


class NVMLError_NotFound(NVMLError):  # noqa: N801, N818
    pass


class NVMLError_GpuIsLost(NVMLError):  # noqa: N801, N818
    pass


@dataclass
class FakeGpu:
    uuid: str
    name: str = "NVIDIA H200"
    util: tuple[int, int] = (50, 20)
    memory: tuple[int, int] = (10 << 30, 141 << 30)  # used, total
    power_mw: int | None = 250_000
    temperature: int = 61
    sm_mhz: int = 1980
    throttle: int = 0
    ecc: tuple[int, int] | None = (3, 0)  # corrected, uncorrected; None: not supported
    processes: list[tuple[int, int]] = field(default_factory=list)  # (pid, used memory)
    samples: list[tuple[int, int, int]] = field(default_factory=list)  # (pid, smUtil, timeStamp)
    lost: bool = False


class FakeNvml:
    NVMLError = NVMLError
    NVMLError_NotSupported = NVMLError_NotSupported
    NVMLError_NotFound = NVMLError_NotFound
    NVMLError_GpuIsLost = NVMLError_GpuIsLost

    def __init__(self, gpus: list[FakeGpu]) -> None:
        self.gpus = gpus
        self.utilization_since: list[int] = []

    def _gpu(self, handle: FakeGpu) -> FakeGpu:
        if handle.lost:
            raise NVMLError_GpuIsLost("GPU is lost")
        return handle

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802 - pynvml's names, below too
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeGpu:  # noqa: N802
        return self._gpu(self.gpus[index])

    def nvmlDeviceGetUUID(self, handle: FakeGpu) -> str:  # noqa: N802
        return self._gpu(handle).uuid

    def nvmlDeviceGetName(self, handle: FakeGpu) -> bytes:  # noqa: N802
        return self._gpu(handle).name.encode()

    def nvmlDeviceGetUtilizationRates(self, handle: FakeGpu) -> SimpleNamespace:  # noqa: N802
        gpu = self._gpu(handle)
        return SimpleNamespace(gpu=gpu.util[0], memory=gpu.util[1])

    def nvmlDeviceGetMemoryInfo(self, handle: FakeGpu) -> SimpleNamespace:  # noqa: N802
        gpu = self._gpu(handle)
        return SimpleNamespace(used=gpu.memory[0], total=gpu.memory[1], free=gpu.memory[1] - gpu.memory[0])

    def nvmlDeviceGetPowerUsage(self, handle: FakeGpu) -> int:  # noqa: N802
        gpu = self._gpu(handle)
        if gpu.power_mw is None:
            raise NVMLError_NotSupported("Not Supported")
        return gpu.power_mw

    def nvmlDeviceGetTemperature(self, handle: FakeGpu, sensor: int) -> int:  # noqa: N802
        assert sensor == 0
        return self._gpu(handle).temperature

    def nvmlDeviceGetClockInfo(self, handle: FakeGpu, clock: int) -> int:  # noqa: N802
        assert clock == 1
        return self._gpu(handle).sm_mhz

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, handle: FakeGpu) -> int:  # noqa: N802
        return self._gpu(handle).throttle

    def nvmlDeviceGetTotalEccErrors(self, handle: FakeGpu, error_type: int, counter: int) -> int:  # noqa: N802
        gpu = self._gpu(handle)
        if gpu.ecc is None:
            raise NVMLError_NotSupported("Not Supported")
        return gpu.ecc[error_type]

    def nvmlDeviceGetComputeRunningProcesses(self, handle: FakeGpu) -> list[SimpleNamespace]:  # noqa: N802
        return [SimpleNamespace(pid=p, usedGpuMemory=m) for p, m in self._gpu(handle).processes]

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: FakeGpu) -> list[SimpleNamespace]:  # noqa: N802
        self._gpu(handle)
        return []

    def nvmlDeviceGetProcessUtilization(self, handle: FakeGpu, since: int) -> list[SimpleNamespace]:  # noqa: N802
        gpu = self._gpu(handle)
        self.utilization_since.append(since)
        found = [
            SimpleNamespace(pid=p, smUtil=u, memUtil=0, timeStamp=t) for p, u, t in gpu.samples if t > since
        ]
        if not found:
            raise NVMLError_NotFound("Not Found")
        return found
