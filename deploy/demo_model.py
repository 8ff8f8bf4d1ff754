"""The demo's model server: ``demo/credit-risk`` behind the KServe v1 protocol, on loopback.

``POST /v1/models/credit-risk:predict`` with ``{"instances": [{feature: value, …}, …]}`` answers
``{"predictions": [{"score": …}, …]}`` after a short, variable think time; about 1 % of calls fail
with a 500, as real servers do. ``GET /v1/models/credit-risk`` is its readiness.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from deploy.demo_data import demo_scores
from deploy.processes import ManagedProcess, free_port, port_open

__all__ = ["DemoModelServer", "LocalDemoModel"]

PREDICT_PATH = "/v1/models/credit-risk:predict"
READY_PATH = "/v1/models/credit-risk"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: DemoModelServer

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, document: object) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == READY_PATH:
            self._answer(200, {"name": "credit-risk", "ready": True})
        else:
            self._answer(404, {"error": f"no model at {self.path}"})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path != PREDICT_PATH:
            self._answer(404, {"error": f"no model at {self.path}"})
            return
        try:
            instances = json.loads(body)["instances"]
            columns = {name: np.array([row[name] for row in instances]) for name in instances[0]}
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            self._answer(400, {"error": f"bad request: {exc}"})
            return
        rng = self.server.random
        time.sleep(rng.gammavariate(2.0, 0.002))  # the model's think time, a few milliseconds
        if rng.random() < self.server.error_rate:
            self._answer(500, {"error": "the model failed"})
            return
        scores = demo_scores(columns, self.server.calibration)
        self._answer(200, {"predictions": [{"score": float(s)} for s in scores]})


class DemoModelServer(ThreadingHTTPServer):
    """``DemoModelServer().start()``; ``port``; ``stop()``."""

    daemon_threads = True

    def __init__(
        self,
        port: int = 0,
        error_rate: float = 0.01,
        seed: int = 1,
        calibration: tuple[float, float] = (1.0, 0.0),
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.error_rate = error_rate
        self.calibration = calibration
        self.random = random.Random(seed)  # noqa: S311 -- simulated think times, not secrets
        self._thread = threading.Thread(target=self.serve_forever, name="demo-model", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> DemoModelServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class LocalDemoModel:
    """The demo model server in its own process, so the agent watches its CPU and memory as a
    sidecar watches a model server's."""

    def __init__(
        self, work_dir: Path, calibration: tuple[float, float] | None = None, name: str = "demo-model"
    ) -> None:
        self.port = free_port()
        argv = [sys.executable, "-m", "deploy.demo_model", "--port", str(self.port)]
        if calibration is not None:
            argv += ["--calibration", f"{calibration[0]!r},{calibration[1]!r}"]
        self._process = ManagedProcess(name, argv, work_dir / f"{name}.log")

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> LocalDemoModel:
        self._process.start(lambda: port_open("127.0.0.1", self.port), 30)
        return self

    def stop(self) -> None:
        self._process.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="the demo model server (KServe v1)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--calibration", help="SLOPE,INTERCEPT of a retrained version (default 1,0)")
    args = parser.parse_args()
    slope, intercept = (float(v) for v in (args.calibration or "1,0").split(","))
    server = DemoModelServer(args.port, calibration=(slope, intercept))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
