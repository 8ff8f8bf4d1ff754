"""The agent's admin port: ``/metrics``, ``/healthz`` (the agent runs) and ``/readyz`` (the model is ready).

Readiness follows the model's: a background check connects to the model (and, with
``model_ready_path``, expects a 2xx from it) every ``ready_check_seconds``, so the pod leaves the
Service's endpoints when the model is not ready, exactly as without the sidecar. Only GET is
served; nothing here changes state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from agent.settings import ProxySettings

__all__ = ["AdminServer", "ModelReadiness"]

log = logging.getLogger(__name__)
_MAX_HEAD: Final = 16384


class ModelReadiness:
    """Whether the model answers; checked in the background on the agent's event loop."""

    def __init__(self, settings: ProxySettings) -> None:
        self.settings = settings
        self.ready = False
        self._task: asyncio.Task[None] | None = None

    async def check(self) -> bool:
        s = self.settings
        try:
            async with asyncio.timeout(max(1.0, s.ready_check_seconds)):
                reader, writer = await asyncio.open_connection(s.upstream_host, s.upstream_port)
                try:
                    if s.model_ready_path is None:
                        return True
                    writer.write(
                        f"GET {s.model_ready_path} HTTP/1.1\r\nHost: {s.upstream_host}\r\n"
                        "Connection: close\r\n\r\n".encode()
                    )
                    status_line = await reader.readline()
                    parts = status_line.split()
                    return len(parts) >= 2 and parts[1].startswith(b"2")
                finally:
                    writer.close()
        except (OSError, TimeoutError):
            return False

    async def _loop(self) -> None:
        while True:
            ready = await self.check()
            if ready != self.ready:
                log.info("the model is %s", "ready" if ready else "not ready")
            self.ready = ready
            await asyncio.sleep(self.settings.ready_check_seconds)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class AdminServer:
    """A minimal HTTP/1.1 server for the probes and the scrape."""

    def __init__(self, host: str, port: int, registry: CollectorRegistry, readiness: ModelReadiness) -> None:
        self.host = host
        self.port = port
        self.registry = registry
        self.readiness = readiness
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                if len(head) > _MAX_HEAD:
                    return
                request_line = head.split(b"\r\n", 1)[0].split()
                method = request_line[0] if request_line else b""
                path = request_line[1].split(b"?", 1)[0] if len(request_line) > 1 else b""
                status, content_type, body = await asyncio.to_thread(self._respond, method, path)
                close = b"connection: close" in head.lower()
                writer.write(
                    b"HTTP/1.1 %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n%s\r\n"
                    % (status, content_type, len(body), b"connection: close\r\n" if close else b"")
                    + (b"" if method == b"HEAD" else body)  # HEAD: the length, not the body
                )
                await writer.drain()
                if close:
                    return
        finally:
            writer.close()

    def _respond(self, method: bytes, path: bytes) -> tuple[bytes, bytes, bytes]:
        text = b"text/plain; charset=utf-8"
        if method not in (b"GET", b"HEAD"):
            return b"405 Method Not Allowed", text, b"only GET\n"
        if path == b"/metrics":
            return b"200 OK", CONTENT_TYPE_LATEST.encode(), generate_latest(self.registry)
        if path == b"/healthz":
            return b"200 OK", text, b"ok\n"
        if path == b"/readyz":
            if self.readiness.ready:
                return b"200 OK", text, b"the model is ready\n"
            return b"503 Service Unavailable", text, b"the model is not ready\n"
        return b"404 Not Found", text, b"/metrics, /healthz or /readyz\n"
