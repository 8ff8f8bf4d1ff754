"""What hardware collection costs the agent: one cycle of every collector, and the CPU share at the
default 5 s interval (target ≤ 0.5 % of one core).

Measured here: the cgroup reader on this machine's real cgroup filesystem, the process reader
(psutil) on a real model stand-in with a forked worker, and the GPU reader on a fake NVML with 8
GPUs and 16 processes — this machine has no GPU, and a real NVML call costs microseconds in the
driver, so the figure is the collector's own Python. Side by side in one run: the cycle's CPU time
(thread time, so waiting does not count) and the wall time, over many cycles. Prints one JSON line last.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psutil
from support.null_producer import NullProducer

from agent.hardware import HardwareLoop
from agent.publisher import Publisher
from agent.settings import KafkaSettings, PublisherSettings
from collectors.cgroup import CgroupCollector
from collectors.gpu import GpuCollector
from collectors.process import ProcessCollector
from tests.collectors.fake_nvml import FakeGpu, FakeNvml

INTERVAL = 5.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    cycles = 200 if args.quick else 2_000
    stand_in = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); time.sleep(600)",
        ]
    )
    try:
        time.sleep(0.5)  # let the stand-in fork its worker
        gpus = [
            FakeGpu(
                f"GPU-{i}", processes=[(1000 + i, 1 << 30), (2000 + i, 2 << 30)], samples=[(1000 + i, 30, 5)]
            )
            for i in range(8)
        ]
        collectors = {
            "cgroup": CgroupCollector(Path("/sys/fs/cgroup"), Path("/proc"), pid=stand_in.pid),
            "process": ProcessCollector(pid=stand_in.pid),
            "gpu_8_devices": GpuCollector(FakeNvml(gpus), lambda pid: pid < 2000),
        }
        results: dict[str, object] = {"benchmark": "collector_cost", "quick": args.quick, "cycles": cycles}
        for name, collector in collectors.items():
            collector.collect()
            started, cpu = time.perf_counter(), time.thread_time()
            for _ in range(cycles):
                samples = collector.collect()
            results[f"{name}_us_per_cycle"] = round((time.thread_time() - cpu) / cycles * 1e6, 1)
            results[f"{name}_samples"] = len(samples)
            results[f"{name}_wall_us"] = round((time.perf_counter() - started) / cycles * 1e6, 1)
        with Publisher(
            KafkaSettings(), PublisherSettings(kind="hardware"), producer_factory=lambda *_: NullProducer()
        ) as publisher:
            loop = HardwareLoop(
                list(collectors.values()),
                publisher,
                model="bench/m",
                version="v1",
                pod="p",
                interval=INTERVAL,
            )
            loop.cycle()
            cpu = time.thread_time()
            for _ in range(cycles):
                loop.cycle()
            per_cycle = (time.thread_time() - cpu) / cycles
        results["whole_cycle_with_publish_us"] = round(per_cycle * 1e6, 1)
        results["cpu_share_at_5s_percent"] = round(per_cycle / INTERVAL * 100, 4)
        results["cpu_share_target_percent"] = 0.5
    finally:
        for child in psutil.Process(stand_in.pid).children(recursive=True):
            child.kill()
        stand_in.kill()
        stand_in.wait()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
