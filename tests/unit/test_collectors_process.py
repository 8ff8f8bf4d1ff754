"""The model process through psutil, on real processes of this machine; dcgm-exporter's series of our pod."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest

from collectors.dcgm import DcgmCollector
from collectors.process import ProcessCollector
from tests.helpers import wait_until

# A model server stand-in: 64 MiB resident, 3 extra threads, 5 open files, one forked worker.
MODEL = """
import os, sys, threading, time, subprocess
ballast = bytearray(64 * 1024 * 1024)
for i in range(len(ballast) // 4096): ballast[i * 4096] = 1
files = [open(os.devnull) for _ in range(5)]
for _ in range(3): threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print("ready", flush=True)
time.sleep(60)
"""


def start_model() -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", MODEL, "--serve-model-marker"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def stop_model(process: subprocess.Popen) -> None:
    """Kill the stand-in and its worker."""
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(process.pid).children(recursive=True):
            child.kill()
    process.kill()
    process.wait()
    assert process.stdout is not None
    process.stdout.close()


@pytest.fixture
def model_process():
    process = start_model()
    yield process
    stop_model(process)


def values(samples) -> dict[str, float]:
    return {s.metric: s.value for s in samples}


def test_the_model_process_and_its_workers_by_pid(model_process):
    found = values(ProcessCollector(pid=model_process.pid).collect())
    assert found["model_processes"] == 2  # the server and its worker
    assert found["model_process_resident_memory_bytes"] >= 64 * 1024 * 1024
    assert found["model_process_threads"] >= 4 + 1
    assert found["model_process_open_fds"] >= 5 + 3
    assert found["model_process_cpu_seconds_total"] > 0


def test_the_model_process_by_command_line_and_again_after_a_restart(model_process):
    collector = ProcessCollector(match="--serve-model-marker")
    assert values(collector.collect())["model_processes"] == 2
    stop_model(model_process)
    assert collector.collect() == []  # gone: no samples, not zeros
    again = start_model()
    try:
        wait_until(
            lambda: values(collector.collect()).get("model_processes") == 2, 10, what="the restarted model"
        )
    finally:
        stop_model(again)


def test_cpu_seconds_never_go_down_when_a_worker_exits(model_process):
    collector = ProcessCollector(pid=model_process.pid)
    (worker,) = psutil.Process(model_process.pid).children()
    before = values(collector.collect())["model_process_cpu_seconds_total"]
    worker_cpu = sum(worker.cpu_times()[:2])
    worker.kill()  # its parent, the stand-in, does not reap it: it stays a zombie
    wait_until(
        lambda: not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE, 10, what="the worker gone"
    )
    after = values(collector.collect())
    assert after["model_processes"] == 1
    assert after["model_process_cpu_seconds_total"] >= before >= worker_cpu  # a counter: no false reset


def test_no_model_process_named_is_no_samples():
    assert ProcessCollector().collect() == []
    assert ProcessCollector(pid=2**22 + 12345).collect() == []


DCGM = (Path(__file__).resolve().parent.parent / "fixtures" / "dcgm-exporter.txt").read_text()


def test_dcgm_exporter_series_of_our_pod_only():
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = DCGM.encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
        samples = DcgmCollector(url, "scorer-7d9f", "ml").collect()
    finally:
        server.shutdown()
        server.server_close()
    found = {(s.metric, s.labels["gpu"]): s.value for s in samples}
    assert found == pytest.approx(
        {
            ("gpu_utilization_ratio", "1"): 0.87,
            ("gpu_memory_used_bytes", "1"): 30512 * 1_048_576,
            ("gpu_power_watts", "1"): 412.5,
            ("gpu_temperature_celsius", "1"): 64,
            ("gpu_sm_clock_hertz", "1"): 1980e6,
            ("gpu_memory_utilization_ratio", "1"): 0.41,
        }
    )
    assert {s.labels["source"] for s in samples} == {"dcgm"}
    assert {s.labels["gpu_uuid"] for s in samples} == {"GPU-0f3c6a2e-9b1d-4c55-a7e2-1b2c3d4e5f60"}


def test_an_unreachable_dcgm_exporter_is_no_samples():
    assert DcgmCollector("http://127.0.0.1:1/metrics", "p").collect() == []
