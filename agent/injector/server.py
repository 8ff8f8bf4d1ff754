"""``modelmon inject serve``: the mutating admission webhook over HTTPS.

``POST /mutate`` takes an AdmissionReview v1 and answers one; ``GET /healthz`` and ``/metrics`` are
served on the same port (the API server speaks TLS only; probes use ``scheme: HTTPS``). The
certificate comes from a mounted Secret and is reloaded when it rotates (:class:`agent.tls.ReloadingTLS`).
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from agent import metric_catalog as mc
from agent.injector.catalog_entry import CatalogEntries
from agent.injector.defaults import DefaultsFile
from agent.injector.review import OUTCOMES, ReviewError, admit
from agent.tls import ReloadingTLS

__all__ = ["InjectorServer"]

log = logging.getLogger(__name__)

MAX_BODY = 4 * 1_048_576  # the API server's objects are at most ~1.5 MiB


class _Reloads(Collector):
    def __init__(self, tls: ReloadingTLS) -> None:
        self._tls = tls

    def collect(self) -> Iterator[Metric]:
        spec = mc.INJECTOR_TLS_RELOADS
        yield CounterMetricFamily(spec.name.removesuffix("_total"), spec.help, value=self._tls.reloads)


class InjectorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        host: str,
        port: int,
        tls: ReloadingTLS,
        defaults: DefaultsFile,
        catalog: CatalogEntries | None = None,
    ) -> None:
        self.tls, self.defaults = tls, defaults
        self.catalog = catalog or CatalogEntries(None)
        self.registry = CollectorRegistry()
        self.reviews = Counter(
            mc.INJECTOR_REVIEWS.name.removesuffix("_total"),
            mc.INJECTOR_REVIEWS.help,
            ["outcome"],
            registry=self.registry,
        )
        self.rejected = Counter(
            mc.INJECTOR_REQUESTS_REJECTED.name.removesuffix("_total"),
            mc.INJECTOR_REQUESTS_REJECTED.help,
            ["reason"],
            registry=self.registry,
        )
        for outcome in OUTCOMES:
            self.reviews.labels(outcome)
        for reason in ("malformed", "too_large", "not_found"):
            self.rejected.labels(reason)
        self.registry.register(_Reloads(tls))
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _Handler)

    def server_bind(self) -> None:  # HTTPServer's looks up the host's FQDN, which can take seconds
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s failed", client_address[0], exc_info=True)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(_Handler.timeout)  # the handshake runs on this connection's own thread
        try:
            request = self.tls.context().wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.debug("TLS handshake with %s failed: %s", client_address[0], exc)
            return
        with request:
            super().finish_request(request, client_address)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server_port}"

    def start(self) -> InjectorServer:
        self._thread = threading.Thread(target=self.serve_forever, name="modelmon-injector", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(5)


class _Handler(BaseHTTPRequestHandler):
    server: InjectorServer
    protocol_version = "HTTP/1.1"
    server_version = "modelmon-injector"
    sys_version = ""
    # Also the idle time of a kept-alive connection: above the API server's 90 s, so it does not send
    # a review on a connection this end is closing (an EOF there admits the pod uninjected).
    timeout = 120
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _refuse(self, status: int, reason: str, message: str) -> None:
        self.server.rejected.labels(reason).inc()
        self._send(status, json.dumps({"error": message}).encode())

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._send(200, b"ok\n", "text/plain")
        elif self.path == "/metrics":
            self._send(200, generate_latest(self.server.registry), CONTENT_TYPE_LATEST)
        else:
            self._refuse(404, "not_found", "not found")

    def do_POST(self) -> None:
        if self.path.split("?")[0] != "/mutate":
            self.close_connection = True
            self._refuse(404, "not_found", "not found")
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            self._refuse(411, "malformed", "send a Content-Length")
            return
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self._refuse(413, "too_large", f"the body is over {MAX_BODY} bytes")
            return
        try:
            review = json.loads(self.rfile.read(length))
            answer, outcome = admit(review, self.server.defaults.current(), self.server.catalog)
        except (ValueError, RecursionError) as exc:  # not JSON, or no AdmissionReview
            message = str(exc) if isinstance(exc, ReviewError) else "the body is not JSON"
            self._refuse(400, "malformed", message)
            return
        self.server.reviews.labels(outcome).inc()
        self._send(200, json.dumps(answer).encode())
