"""The retraining service's HTTP endpoints (standard library ``ThreadingHTTPServer``).

=====================================  =====  =====================================================
``POST /alerts``                       auth   Alertmanager webhook (v4); 200 once stored
``GET /triggers[?state=&limit=]``      auth   the newest triggers: id, state, attempts, last error
``POST /triggers/<id>/complete``       auth   a pipeline reports its run done (body below)
``GET /metrics``                              Prometheus metrics (read-only)
``GET /healthz``                              liveness
=====================================  =====  =====================================================

``/complete`` takes ``{"trigger_id": "<id>", "status": "succeeded" | "failed"}``.

Every refusal happens before anything is stored, answers a JSON ``{"error": ...}`` with a 4xx, and is
counted by reason. Logs name the reason and the peer, never a header or the body.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from alerts.retrain.auth import Authenticator
from alerts.retrain.errors import AuthError, PayloadError
from alerts.retrain.intake import Intake
from alerts.retrain.metrics import RetrainMetrics
from alerts.retrain.notification import parse_notification
from alerts.retrain.outbox import Outbox, OutboxError
from alerts.retrain.trigger import TriggerState

__all__ = ["RetrainServer"]

logger = logging.getLogger(__name__)

_COMPLETE = re.compile(r"^/triggers/([0-9a-f]{32})/complete$")
_RUN_STATES = {"succeeded": TriggerState.COMPLETED, "failed": TriggerState.FAILED}


class _RefusedError(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class RetrainServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        auth: Authenticator,
        intake: Intake,
        outbox: Outbox,
        metrics: RetrainMetrics,
        max_body_bytes: int,
        on_accepted: Callable[[], None] = lambda: None,
        healthy: Callable[[], bool] = lambda: True,
    ) -> None:
        self.auth = auth
        self.intake = intake
        self.outbox = outbox
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.on_accepted = on_accepted
        self.healthy = healthy
        self._thread: threading.Thread | None = None
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="modelmon-retrain-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(5)


def _endpoint(path: str) -> str:
    """A fixed label value: paths come from clients, so they never become labels themselves."""
    if _COMPLETE.match(path):
        return "complete"
    return path.strip("/") if path in ("/alerts", "/triggers", "/metrics", "/healthz") else "other"


class _Handler(BaseHTTPRequestHandler):
    server: RetrainServer
    protocol_version = "HTTP/1.1"
    server_version = "modelmon-retrain"
    sys_version = ""
    timeout = 30  # a client that stops sending mid-request does not hold its thread forever
    disable_nagle_algorithm = True  # head and body go in two writes: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    # --- plumbing ------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Bearer realm="modelmon-retrain"')
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.server.metrics.requests.labels(_endpoint(self._path), str(status)).inc()

    def _json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value, sort_keys=True).encode())

    def _refuse(self, refused: _RefusedError) -> None:
        self.server.metrics.rejected.labels(refused.reason).inc()
        logger.warning(
            "refused %s %s from %s: %s",
            self.command,
            _endpoint(self._path),
            self.client_address[0],
            refused.reason,
        )
        self._json(refused.status, {"error": str(refused), "reason": refused.reason})

    def _failed(self, exc: Exception) -> None:
        """A fault of ours (the outbox's disk, a bug): 503, so that Alertmanager sends again later."""
        logger.error(
            "%s %s failed: %s",
            self.command,
            _endpoint(self._path),
            exc,
            exc_info=not isinstance(exc, OutboxError),
        )
        self.close_connection = True
        self._json(503, {"error": "the service could not handle the request; try again"})

    @property
    def _path(self) -> str:
        return urlsplit(self.path).path

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise _RefusedError(411, "length_required", "send the body with a Content-Length")
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            self.close_connection = True
            raise _RefusedError(400, "malformed", "Content-Length is not a number") from None
        if length < 0 or length > self.server.max_body_bytes:
            self.close_connection = True  # the body is left unread
            raise _RefusedError(413, "too_large", f"the body is over {self.server.max_body_bytes} bytes")
        return self.rfile.read(length)

    def _authenticate(self, body: bytes) -> None:
        try:
            self.server.auth.check(self.headers, body)
        except AuthError as exc:
            raise _RefusedError(exc.status, exc.reason, str(exc)) from None

    # --- endpoints -------------------------------------------------------------------------------
    def do_GET(self) -> None:
        if self.headers.get("Content-Length") or self.headers.get("Transfer-Encoding"):
            self.close_connection = True  # a body left unread must not be taken for the next request
        try:
            self._get()
        except _RefusedError as refused:
            self._refuse(refused)
        except Exception as exc:
            self._failed(exc)

    def _get(self) -> None:
        if self._path == "/healthz":
            healthy = self.server.healthy()
            self._send(
                200 if healthy else 503, b"ok\n" if healthy else b"the deliverer stopped\n", "text/plain"
            )
        elif self._path == "/metrics":
            self._send(200, generate_latest(self.server.metrics.registry), CONTENT_TYPE_LATEST)
        elif self._path == "/triggers":
            self._authenticate(b"")
            query = parse_qs(urlsplit(self.path).query)
            state = query.get("state", [None])[0]
            try:
                limit = max(1, min(1000, int(query.get("limit", ["100"])[0])))
            except ValueError:
                raise _RefusedError(400, "malformed", "limit must be a number") from None
            self._json(200, {"triggers": self.server.outbox.triggers(limit, state)})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        try:
            body = self._body()
            self._authenticate(body)
            if self._path == "/alerts":
                self._alerts(body)
            elif match := _COMPLETE.match(self._path):
                self._complete(match.group(1), body)
            else:
                self._json(404, {"error": "not found"})
        except _RefusedError as refused:
            self._refuse(refused)
        except Exception as exc:
            self._failed(exc)

    def _alerts(self, body: bytes) -> None:
        content_type = self.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise _RefusedError(415, "unsupported_media_type", "send application/json")
        try:
            notification = parse_notification(body)
        except PayloadError as exc:
            raise _RefusedError(exc.status, exc.reason, str(exc)) from None
        accepted = self.server.intake.accept(notification)
        for outcome, count in accepted.outcomes.items():
            self.server.metrics.alerts.labels(outcome).inc(count)
        if accepted.triggers:
            self.server.on_accepted()
            logger.info(
                "notification %s: triggers %s", notification.group_key[:80], ", ".join(accepted.triggers)
            )
        self._json(200, {"outcomes": accepted.outcomes, "triggers": list(accepted.triggers)})

    def _complete(self, trigger_id: str, body: bytes) -> None:
        """The body names the trigger, so a signed request cannot be replayed on another trigger's path."""
        usage = 'send {"trigger_id": "<the id in the path>", "status": "succeeded" | "failed"}'
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise _RefusedError(400, "malformed", usage) from None
        if not isinstance(document, dict) or document.get("trigger_id") != trigger_id:
            raise _RefusedError(400, "malformed", usage)
        status = document.get("status", "succeeded")
        if not isinstance(status, str) or status not in _RUN_STATES:
            raise _RefusedError(400, "malformed", usage)
        if not self.server.outbox.finish(trigger_id, _RUN_STATES[status]):
            self._json(404, {"error": "no running trigger with that id"})
            return
        self._json(200, {"id": trigger_id, "state": str(_RUN_STATES[status])})
