"""The reverse proxy: every byte to the model and back, untouched, and a :class:`Call` per exchange.

Per client connection one coroutine parses requests as they arrive and forwards each piece at
once: the head (with ``X-Request-Id`` added when absent), then body pieces, then the model's
response the same way. Bodies are copied for capture only when the call is sampled and small
enough. The finished call goes to the sink, which must not block; nothing the capture side does can
delay or fail the exchange. See docs/agent.md for why asyncio on uvloop with httptools.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from agent.calls import Call, CallSink, status_class
from agent.proxy.http1 import BODY, END, HEAD, Head, MessageStream, ParseError, chunk, encode_head, last_chunk
from agent.proxy.upstream import Upstream, UpstreamPool
from agent.sampling import Sampler
from agent.settings import ProxySettings

__all__ = ["NullObserver", "ProxyObserver", "ProxyServer"]

log = logging.getLogger(__name__)

_HIGH_WATER: Final = 256 * 1024  # wait for a slow reader beyond this much unsent
_REPLAY_MAX: Final = 1_048_576  # a request up to this size is kept to resend on a stale connection
# Resent after a stale kept-alive connection only when repeating them is harmless (RFC 9110 §9.2.2).
_IDEMPOTENT: Final = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE"})
_BAD_GATEWAY: Final = (
    b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\ncontent-length: 26\r\n"
    b"connection: close\r\n\r\nthe model is not reachable"
)


class ProxyObserver(Protocol):
    """What the proxy reports as it goes (the agent's metrics implement it)."""

    def call_done(self, status_class: str, latency_seconds: float) -> None: ...
    def upstream_error(self, reason: str) -> None: ...
    def tunnelled(self, reason: str) -> None: ...


class NullObserver:
    def call_done(self, status_class: str, latency_seconds: float) -> None:
        pass

    def upstream_error(self, reason: str) -> None:
        pass

    def tunnelled(self, reason: str) -> None:
        pass


class _ClientGoneError(Exception):
    """The client closed its connection in the middle of a request."""


class _UpstreamError(Exception):
    def __init__(self, reason: str, *, sent_to_client: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sent_to_client = sent_to_client


@dataclass(slots=True)
class _Response:
    """What relaying the model's response gave."""

    head: Head
    body: bytes | None  # kept for capture (sampled and within the bound)
    size: int
    ttfb: float | None
    reusable: bool  # the connection to the model can serve another call
    streamed: bool = False
    too_large: bool = False
    close_client: bool = False  # the body ended with the model's connection


async def _drain_if_full(writer: asyncio.StreamWriter) -> None:
    transport = writer.transport
    if transport.get_write_buffer_size() > _HIGH_WATER:
        await writer.drain()


class ProxyServer:
    """Listens on the agent's port and forwards to the model; see the module's docstring."""

    def __init__(
        self,
        settings: ProxySettings,
        sink: CallSink,
        *,
        sampler: Sampler | None = None,
        observer: ProxyObserver | None = None,
        clock: Callable[[], float] = time.perf_counter,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.sink = sink
        self.sampler = sampler or Sampler(1.0)
        self.observer: ProxyObserver = observer or NullObserver()
        self._clock = clock
        self._wall = wall_clock
        self.pool = UpstreamPool(settings.upstream_host, settings.upstream_port, settings.max_idle_upstream)
        self._id_header = settings.request_id_header.lower().encode()
        self._id_header_out = b"-".join(p.capitalize() for p in self._id_header.split(b"-"))
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._busy: set[asyncio.Task[None]] = set()  # connections with a call in flight
        self._closing = False

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.settings.listen_host, self.settings.listen_port, backlog=1024
        )

    @property
    def port(self) -> int:
        """The port bound (useful with ``listen_port=0``)."""
        assert self._server is not None, "start() first"
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self, grace: float = 10.0) -> None:
        """Stop taking connections; let calls in flight finish for up to ``grace`` seconds, then cut."""
        if self._server is not None:
            self._server.close()
            self._closing = True
            for task in [t for t in self._connections if t not in self._busy]:
                task.cancel()  # idle keep-alive connections: nothing to finish
            if self._connections:
                await asyncio.wait(list(self._connections), timeout=grace)
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()
        self.pool.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        requests = MessageStream(reader, response=False, keep_raw=True)
        try:
            while True:
                try:
                    async with asyncio.timeout(self.settings.client_idle_timeout_seconds):
                        event = await requests.next()
                except TimeoutError:
                    return
                if event is None:
                    return
                requests.stop_keeping_raw()
                head = event[1]
                assert isinstance(head, Head)
                if head.upgrade:
                    await self._tunnel(encode_head(head) + requests.tail, reader, writer, "upgrade")
                    return
                self._busy.add(task)
                try:
                    keep_open = await self._exchange(head, requests, writer)
                finally:
                    self._busy.discard(task)
                if not keep_open or self._closing:
                    return
        except ParseError as exc:
            if requests.raw_prefix is not None:  # the first request is not HTTP: let the model judge
                await self._tunnel(bytes(requests.raw_prefix), reader, writer, "not_http")
            else:
                log.debug("a request that is not HTTP/1.x after valid ones: %s", exc)
                self.observer.tunnelled("bad_request")
                writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        except (_ClientGoneError, ConnectionError, RuntimeError):  # uvloop: RuntimeError on a closed handle
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._connections.discard(task)
            with contextlib.suppress(RuntimeError):
                writer.close()

    async def _exchange(self, head: Head, requests: MessageStream, client: asyncio.StreamWriter) -> bool:
        """Forward one request and its response; whether the client connection stays open."""
        started = self._clock()
        wall = self._wall()
        given = head.header(self._id_header)
        extra = None
        if given is None:
            given = uuid.uuid4().hex.encode()
            extra = [(self._id_header_out, given)]
        request_id = given.decode("latin-1")
        keep = self.sampler(request_id)
        limit = self.settings.max_capture_bytes
        head_bytes = encode_head(head, extra)
        replay: list[bytes] | None = [head_bytes]
        replay_size = len(head_bytes)
        request_body: bytearray | None = bytearray() if keep else None
        request_bytes = 0
        too_large = False

        upstream = await self._connect(client)
        if upstream is None:
            self._failed(started)
            return False
        try:
            upstream.writer.write(head_bytes)
            while True:
                event = await requests.next()
                if event is None:
                    upstream.close()
                    raise _ClientGoneError
                kind, data = event
                if kind == BODY:
                    assert isinstance(data, bytes)
                    piece = chunk(data) if head.chunked else data
                    if not upstream.writer.is_closing():  # the model may have answered early and closed
                        upstream.writer.write(piece)
                    request_bytes += len(data)
                    if replay is not None:
                        replay_size += len(piece)
                        if replay_size <= _REPLAY_MAX:
                            replay.append(piece)
                        else:
                            replay = None
                    if request_body is not None:
                        if len(request_body) + len(data) > limit:
                            request_body, too_large = None, True
                        else:
                            request_body += data
                    await _drain_if_full(upstream.writer)
                elif kind == END:
                    if head.chunked and not upstream.writer.is_closing():
                        end = last_chunk(data)
                        upstream.writer.write(end)
                        if replay is not None:
                            replay.append(end)
                    break

            try:
                outcome = await self._relay_response(head, upstream, client, request_id, keep, started)
            except _UpstreamError as failure:
                upstream.close()
                if (
                    failure.sent_to_client
                    or replay is None
                    or not upstream.reused
                    or failure.reason not in ("closed", "reset")
                    or head.method not in _IDEMPOTENT
                ):
                    self._give_up(failure, client, started)
                    return False
                # A kept-alive connection the model had closed, and a request that may be repeated:
                # send it again on a new connection (not another pooled one), once.
                fresh = await self._connect(client, pooled=False)
                if fresh is None:
                    self._failed(started)
                    return False
                upstream = fresh
                upstream.writer.writelines(replay)
                try:
                    outcome = await self._relay_response(head, upstream, client, request_id, keep, started)
                except _UpstreamError as again:
                    upstream.close()
                    self._give_up(again, client, started)
                    return False
        except BaseException:  # cancelled at shutdown, or the client went away: never leak the socket
            upstream.close()
            raise
        if outcome.reusable:
            self.pool.release(upstream)
        else:
            upstream.close()
        latency = self._clock() - started
        status = outcome.head.status
        too_large = too_large or outcome.too_large
        self.observer.call_done(status_class(status), latency)
        if keep:
            self.sink.offer(
                Call(
                    request_id=request_id,
                    started=wall,
                    latency_seconds=latency,
                    ttfb_seconds=outcome.ttfb,
                    status=status,
                    method=head.method.decode("latin-1"),
                    path=head.target.decode("latin-1"),
                    request_body=None if too_large else bytes(request_body or b""),
                    response_body=None if too_large else outcome.body,
                    request_bytes=request_bytes,
                    response_bytes=outcome.size,
                    streamed=outcome.streamed,
                    too_large=too_large,
                    traceparent=_text(head.header(b"traceparent")),
                )
            )
        return head.keep_alive and outcome.head.keep_alive and not outcome.close_client

    async def _relay_response(
        self,
        request: Head,
        upstream: Upstream,
        client: asyncio.StreamWriter,
        request_id: str,
        keep: bool,
        started: float,
    ) -> _Response:
        """Forward the model's response as it arrives: (head, kept body, bytes, ttfb, reusable, streamed, too large)."""
        responses = upstream.responses
        limit = self.settings.max_capture_bytes
        body: bytearray | None = bytearray() if keep else None
        head: Head | None = None
        ttfb: float | None = None
        informational = False
        size = 0
        too_large = False
        while True:
            try:
                event = await responses.next()
            except (ConnectionError, ParseError) as exc:
                reason = "reset" if isinstance(exc, ConnectionError) else "bad_response"
                raise _UpstreamError(reason, sent_to_client=head is not None) from exc
            if event is None:
                raise _UpstreamError("closed", sent_to_client=head is not None)
            kind, data = event
            if kind == HEAD:
                assert isinstance(data, Head)
                if 100 <= data.status < 200:  # 100 Continue, 103 Early Hints: pass on, then the real one
                    informational = True
                    client.write(encode_head(data))
                    continue
                head = data
                ttfb = self._clock() - started
                extra = (
                    None
                    if head.header(self._id_header) is not None
                    else [(self._id_header_out, request_id.encode("latin-1"))]
                )
                client.write(encode_head(head, extra))
                if request.method == b"HEAD":  # no body follows, whatever the headers say
                    return _Response(head, b"" if keep else None, 0, ttfb, reusable=False)
            elif kind == BODY:
                assert isinstance(data, bytes) and head is not None
                if client.is_closing():  # the client went away (e.g. cancelled a stream): stop reading it
                    raise _ClientGoneError
                client.write(chunk(data) if head.chunked else data)
                size += len(data)
                if body is not None:
                    if len(body) + len(data) > limit:
                        body, too_large = None, True
                    else:
                        body += data
                await _drain_if_full(client)
            else:
                if informational and head is None:
                    informational = False
                    continue
                assert head is not None
                close_delimited = (
                    not head.chunked
                    and head.header(b"content-length") is None
                    and head.status not in (204, 304)
                )
                if head.chunked:
                    client.write(last_chunk(data))
                # A body that ended with the model's connection ends the client's too.
                return _Response(
                    head,
                    bytes(body) if body is not None else None,
                    size,
                    ttfb,
                    reusable=head.keep_alive and not close_delimited,
                    streamed=head.chunked or close_delimited,
                    too_large=too_large,
                    close_client=close_delimited,
                )

    async def _connect(self, client: asyncio.StreamWriter, *, pooled: bool = True) -> Upstream | None:
        try:
            return await (self.pool.acquire() if pooled else self.pool.connect())
        except OSError as exc:
            log.debug("the model at %s:%d is not reachable: %s", self.pool.host, self.pool.port, exc)
            self.observer.upstream_error("connect")
            if self.settings.upstream_unreachable == "502":
                client.write(_BAD_GATEWAY)
            else:
                _reset(client)
            return None

    def _give_up(self, failure: _UpstreamError, client: asyncio.StreamWriter, started: float) -> None:
        """The model failed the call: count it; a client that got nothing gets a connection error."""
        self.observer.upstream_error(failure.reason)
        self._failed(started)
        if not failure.sent_to_client:
            _reset(client)

    def _failed(self, started: float) -> None:
        self.observer.call_done("error", self._clock() - started)

    async def _tunnel(
        self, first: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reason: str
    ) -> None:
        """Pass bytes both ways unparsed (protocol upgrades, bytes that are not HTTP)."""
        self.observer.tunnelled(reason)
        try:
            up_reader, up_writer = await asyncio.open_connection(self.pool.host, self.pool.port)
        except OSError:
            self.observer.upstream_error("connect")
            _reset(writer)
            return
        up_writer.write(first)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except ConnectionError:
                pass
            finally:
                with contextlib.suppress(OSError, RuntimeError):
                    if sink.can_write_eof():
                        sink.write_eof()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            up_writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset: the client sees a connection error, as from a model that is down."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None
