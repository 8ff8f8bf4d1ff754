"""``POST /v1/labels``: an authenticated HTTP endpoint that publishes ground-truth labels to Kafka.

Posted labels are checked against the catalog, built into a wire-format batch and queued on a
:class:`~agent.publisher.Publisher` sending to the labels topic, which the aggregator consumes: labels
from HTTP and from Kafka take one path. Standard library only (``http.server`` on a background thread,
like ``prometheus_client``'s server). Usage, limits and status codes: docs/labels.md.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import socket
import socketserver
import ssl
import threading
import time
from collections import Counter
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from agent.catalog.model import Catalog, ModelSpec, QualitySpec, Task
from agent.errors import ConfigError, PublisherClosedError
from agent.publisher import Publisher
from agent.wire.encode import build_label_batch

__all__ = ["MAX_BODY_BYTES", "MAX_ITEMS", "ApiError", "LabelApi", "parse_labels"]

log = logging.getLogger(__name__)

_DRAIN_BYTES = 1_048_576

LABELS_PATH = "/v1/labels"
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_ITEMS = 100_000
_MAX_EPOCH = 253_402_300_799.0  # 9999-12-31T23:59:59Z
_ITEM_KEYS = frozenset({"request_id", "label", "labels", "event_time"})


class ApiError(Exception):
    """An error answer: status, a message free of secrets and label values, the reason it is counted under."""

    def __init__(self, message: str, reason: str, status: int = 400, labels: int = 0, **headers: str) -> None:
        super().__init__(message)
        self.status, self.message, self.reason, self.labels = status, message, reason, labels
        self.headers = {name.replace("_", "-"): value for name, value in headers.items()}  # Retry_After: ...


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _event_us(value: Any, where: str, now_us: int) -> int:
    if value is None:
        return now_us
    seconds = math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ApiError(f"{where}.event_time: not epoch seconds or ISO 8601", "bad_event_time") from None
        if parsed.tzinfo is None:
            raise ApiError(f"{where}.event_time: give a UTC offset (e.g. Z)", "bad_event_time")
        seconds = parsed.timestamp()
    if not 0 <= seconds <= _MAX_EPOCH:
        raise ApiError(
            f"{where}.event_time: not epoch seconds or ISO 8601, or out of range", "bad_event_time"
        )
    return round(seconds * 1_000_000)


def _label_value(value: Any, quality: QualitySpec, where: str) -> Any:
    if quality.task is Task.REGRESSION:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise ApiError(f"{where}: the label must be a finite number", "bad_label")
    # the join compares classes as strings (drift.core.join), so they travel as strings
    if isinstance(value, str | int | float | bool) and (not quality.classes or str(value) in quality.classes):
        return str(value)
    raise ApiError(f"{where}: the label must be one of the classes {list(quality.classes)}", "bad_label")


def _item(item: Any, quality: QualitySpec, where: str, now_us: int) -> tuple[str, Any, int]:
    if not isinstance(item, dict):
        raise ApiError(f"{where}: expected an object", "bad_item")
    if unknown := sorted(set(item) - _ITEM_KEYS)[:5]:
        raise ApiError(f"{where}: unknown field(s) {unknown}", "bad_item")
    request_id = item.get("request_id")
    if not isinstance(request_id, str) or not 0 < len(request_id) <= 1024:
        raise ApiError(f"{where}.request_id: expected a string of 1 to 1024 characters", "bad_request_id")
    if ("label" in item) == ("labels" in item):
        raise ApiError(f"{where}: give exactly one of 'label' and 'labels'", "bad_item")
    named = item.get("labels", {quality.label: item.get("label")})
    if not isinstance(named, dict) or list(named) != [quality.label]:
        raise ApiError(
            f"{where}.labels: expected only the catalog's label {quality.label!r}", "bad_label_name"
        )
    value = _label_value(named[quality.label], quality, where)
    return request_id, value, _event_us(item.get("event_time"), where, now_us)


def parse_labels(
    catalog: Catalog, body: bytes, max_items: int, now: float
) -> tuple[ModelSpec, pa.RecordBatch]:
    """The model and wire-format batch of a request body; raises :class:`ApiError` for anything wrong."""
    try:
        doc = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise ApiError("the body is not JSON", "bad_json") from None
    if not isinstance(doc, dict) or set(doc) != {"model", "labels"} or not isinstance(doc["labels"], list):
        raise ApiError('expected exactly {"model": "namespace/name", "labels": [...]}', "bad_body")
    items, name = doc["labels"], doc["model"]
    if len(items) > max_items:
        raise ApiError(f"{len(items)} labels; at most {max_items} per request", "too_many", 413, len(items))
    model = catalog.get(name) if isinstance(name, str) else None
    if model is None:
        raise ApiError(f"unknown model {str(name)[:200]!r}", "unknown_model", 404, len(items))
    if model.quality is None:
        raise ApiError(f"model {model.identity} has no quality section", "no_quality", 422, len(items))
    try:
        rows = [_item(item, model.quality, f"labels[{i}]", round(now * 1e6)) for i, item in enumerate(items)]
    except ApiError as exc:
        exc.labels = len(items)
        raise
    ids, values, times = zip(*rows, strict=True) if rows else ((), (), ())
    kind = pa.float64() if model.quality.task is Task.REGRESSION else pa.string()
    batch = build_label_batch(
        model.identity,
        {model.quality.label: pa.array(values, kind)},
        request_ids=pa.array(ids, pa.string()),
        event_times=pa.array(times, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
    )
    return model, batch


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "modelmon-labels"
    sys_version = ""
    timeout = 30  # seconds a connection may stall, the TLS handshake included
    disable_nagle_algorithm = True  # head and body go in two writes: no 40 ms delayed-ACK stall
    _unread = 0  # body bytes the client declared and that were not read

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s: " + format, self.address_string(), *args)

    def _reply(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.server.api._count(status)  # before the answer leaves: whoever got it sees it counted
        self.send_response(status)
        headers = {"Content-Type": "application/json", "Content-Length": str(len(data))} | (headers or {})
        if status >= 400:  # the body may be unread: the connection is not reused
            headers["Connection"] = "close"
            self.close_connection = True
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        # Let a client still sending its body read this answer: drain a little of it, in chunks,
        # never more than _DRAIN_BYTES (an unauthenticated client must not make us read much).
        left = min(self._unread, 65_536 if status == 401 else _DRAIN_BYTES)
        while left > 0:
            chunk = self.rfile.read(min(left, 65_536))
            if not chunk:
                break
            left -= len(chunk)

    def _refuse(self, exc: ApiError) -> None:
        level = logging.WARNING if exc.status >= 500 else logging.INFO
        log.log(level, "label request from %s: %d %s", self.client_address[0], exc.status, exc.message)
        self.server.api._count(None, rejected=(exc.reason, exc.labels))
        self._reply(exc.status, {"error": exc.message}, exc.headers)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/healthz":
            self._reply(200, {"status": "ok"})
        elif path == LABELS_PATH:
            self._refuse(ApiError("use POST", "method", 405, Allow="POST"))
        else:
            self._refuse(ApiError("not found", "path", 404))

    def _admit(self) -> None:
        """Check path, token and declared size, before the body is read."""
        api = self.server.api
        if urlsplit(self.path).path != LABELS_PATH:
            raise ApiError("not found", "path", 404)
        scheme, _, given = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), api._token):
            raise ApiError("missing or wrong bearer token", "unauthorized", 401, WWW_Authenticate="Bearer")
        if self.headers.get("Transfer-Encoding"):
            raise ApiError("send a Content-Length; chunked bodies are not supported", "no_length", 411)
        length = _declared_length(self.headers.get("Content-Length", ""))
        if length is None:
            raise ApiError("a Content-Length is required", "no_length", 411)
        if length > api.max_body_bytes:
            raise ApiError(f"the body is over {api.max_body_bytes} bytes", "too_large", 413)

    def handle_expect_100(self) -> bool:
        try:
            self._admit()
        except ApiError as exc:
            self._refuse(exc)  # the client waits for this answer before it sends the body
            return False
        return super().handle_expect_100()

    def do_POST(self) -> None:
        api = self.server.api
        self._unread = _declared_length(self.headers.get("Content-Length", "")) or 0
        try:
            self._admit()
            body, self._unread = self.rfile.read(self._unread), 0
            if len(body) != int(self.headers["Content-Length"]):
                raise ConnectionError("the body ended early")
            model, batch = parse_labels(api.catalog, body, api.max_items, time.time())
            try:
                queued = api.publisher.publish(model.identity, batch)
            except PublisherClosedError:
                queued = False
            if not queued:
                raise ApiError("the labels queue is full", "queue_full", 503, batch.num_rows, Retry_After="5")
        except ApiError as exc:
            self._refuse(exc)
            return
        except OSError as exc:  # the client went away or stalled while sending
            log.info("label request from %s: connection lost: %s", self.client_address[0], type(exc).__name__)
            self.close_connection = True
            return
        except Exception as exc:  # a bug must not stop the server; the message might hold values
            log.error("label request from %s failed: %s", self.client_address[0], type(exc).__name__)
            self._reply(500, {"error": "internal error"})
            return
        api._count(None, accepted=batch.num_rows)
        self._reply(202, {"accepted": batch.num_rows})


def _declared_length(header: str) -> int | None:
    return int(header) if header.isascii() and header.isdigit() else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api: LabelApi, host: str, port: int, context: ssl.SSLContext | None) -> None:
        self.api, self.context = api, context
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler)

    def server_bind(self) -> None:  # HTTPServer's looks up the host's FQDN, which can take seconds
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:  # instead of a traceback on stderr
        log.debug("label API connection from %s failed", client_address[0], exc_info=True)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(_Handler.timeout)  # the handshake runs on this connection's own thread
        try:
            request = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.debug("TLS handshake with %s failed: %s", client_address[0], exc)
            return
        with request:
            super().finish_request(request, client_address)


class LabelApi:
    """The label endpoint: ``start()`` serves it on a daemon thread, ``stop()`` ends it.

    ``counts`` (guarded by ``lock``; ``snapshot()`` copies it) holds ``requests`` by status code,
    ``labels_accepted``, and ``labels_rejected`` by reason. The publisher is the caller's to close.
    """

    def __init__(
        self,
        catalog: Catalog,
        publisher: Publisher,
        token_file: Path,
        *,
        host: str = "0.0.0.0",
        port: int = 9401,
        tls_cert_file: Path | None = None,
        tls_key_file: Path | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_items: int = MAX_ITEMS,
    ) -> None:
        if (tls_cert_file is None) != (tls_key_file is None):
            raise ConfigError("label API TLS needs both label_api_tls_cert_file and label_api_tls_key_file")
        self.catalog, self.publisher, self.token_file = catalog, publisher, token_file
        self._address, self._tls = (host, port), (tls_cert_file, tls_key_file)
        self.max_body_bytes, self.max_items = max_body_bytes, max_items
        self.lock = threading.Lock()
        self.counts: dict[str, Any] = {"requests": Counter(), "labels_accepted": 0}
        self.counts["labels_rejected"] = Counter()
        self._token = b""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def _count(self, status: int | None, accepted: int = 0, rejected: tuple[str, int] = ("", 0)) -> None:
        with self.lock:
            if status is not None:
                self.counts["requests"][status] += 1
            self.counts["labels_accepted"] += accepted
            if rejected[1]:
                self.counts["labels_rejected"][rejected[0]] += rejected[1]

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {k: dict(v) if isinstance(v, Counter) else v for k, v in self.counts.items()}

    @property
    def port(self) -> int:
        """The bound port (``port=0`` picks a free one)."""
        if self._server is None:
            raise RuntimeError("the label API is not running")
        return int(self._server.server_port)

    def start(self) -> LabelApi:
        """Read the token, bind, serve. Raises :class:`ConfigError` for a bad token, certificate or key."""
        try:
            self._token = self.token_file.read_text(encoding="utf-8").strip().encode()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the label API token file {self.token_file}: {exc}") from exc
        if not self._token:
            raise ConfigError(f"the label API token file {self.token_file} is empty")
        context = None
        if self._tls[0] is not None and self._tls[1] is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            try:
                context.load_cert_chain(self._tls[0], self._tls[1])
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"cannot load the label API certificate or key: {exc}") from exc
        self._server = _Server(self, *self._address, context)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="modelmon-label-api", daemon=True
        )
        self._thread.start()
        scheme = "https" if context else "http"
        log.info("label API: POST %s://%s:%d%s", scheme, self._address[0], self.port, LABELS_PATH)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving; idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout)
