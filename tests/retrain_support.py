"""For the retraining tests: a recording HTTP server (a target), Alertmanager notifications, requests."""

from __future__ import annotations

import json
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RecordingServer(ThreadingHTTPServer):
    """Records every request; answers with the queued replies in order, then ``status`` (200) with an
    empty body. ``port`` lets a test stop a target and start it again at the same address."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int = 0, status: int = 200) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.received: list[Received] = []
        self.replies: list[tuple[int, dict[str, str], bytes]] = []
        self.status = status
        self.hang = False  # hold every request until teardown (for timeouts)
        self.release = threading.Event()

    @property
    def url(self) -> str:
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"

    def reply(self, status: int, payload: Any = None, headers: dict[str, str] | None = None) -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        self.replies.append((status, {"Content-Type": "application/json"} | (headers or {}), body))

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (the timeout test) is expected; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    server: RecordingServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append(Received(self.command, self.path, self.headers, body))
        if self.server.hang:
            self.server.release.wait(30)
            return
        status, headers, payload = (
            self.server.replies.pop(0) if self.server.replies else (self.server.status, {}, b"")
        )
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(server: RecordingServer) -> Iterator[RecordingServer]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)


def am_alert(
    alertname: str = "ModelmonDatasetDrift",
    *,
    namespace: str = "demo",
    model: str = "credit-risk",
    status: str = "firing",
    fingerprint: str = "a1b2c3d4e5f60718",
    starts_at: str = "2026-12-05T10:00:00Z",
    retrain: bool = True,
) -> dict[str, Any]:
    labels = {
        "alertname": alertname,
        "namespace": namespace,
        "model": model,
        "version": "v1",
        "severity": "warning",
    }
    if retrain:
        labels["modelmon_action"] = "retrain"
    return {
        "status": status,
        "labels": labels,
        "annotations": {
            "summary": "Data drift",
            "dashboard_url": "http://grafana/d/x",
            "runbook_url": "http://rb",
        },
        "startsAt": starts_at,
        "endsAt": "2026-12-05T10:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph?g0.expr=x",
        "fingerprint": fingerprint,
    }


def am_notification(*alerts: dict[str, Any], group_key: str = '{}:{model="credit-risk"}') -> dict[str, Any]:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "modelmon-retrain",
        "groupLabels": {"namespace": "demo", "model": "credit-risk"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager",
        "alerts": list(alerts),
    }


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """(status, parsed JSON or text) of a request; 4xx and 5xx are returned, not raised."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw, kind = response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        status, raw, kind = exc.code, exc.read(), exc.headers.get("Content-Type", "")
        exc.close()
    return status, json.loads(raw) if "json" in kind else raw.decode()
