"""HTTP/1.1 message framing for the proxy, on httptools (the llhttp parser Node.js uses).

A :class:`MessageStream` turns the bytes of one connection direction into events — a message's
head, its body pieces as they arrive, its end — so the proxy can forward each piece the moment it
is parsed. Heads keep header names, values and their order byte for byte. Bodies arrive de-chunked;
:func:`chunk` frames a piece again for a chunked message, one chunk per piece, so a streamed
response reaches the client as the model wrote it, with no added buffering; the END event carries
a chunked body's trailers, which :func:`last_chunk` writes back.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Final

import httptools

__all__ = ["BODY", "END", "HEAD", "Head", "MessageStream", "ParseError", "chunk", "encode_head", "last_chunk"]

HEAD: Final = 0
BODY: Final = 1
END: Final = 2
LAST_CHUNK: Final = b"0\r\n\r\n"
_READ_SIZE: Final = 65536


class ParseError(Exception):
    """The peer sent bytes that are not HTTP/1.x."""


@dataclass(slots=True)
class Head:
    """A request's or a response's head, as received.

    ``method``/``target`` are set for requests, ``status``/``reason`` for responses.
    """

    version: str
    headers: list[tuple[bytes, bytes]]
    keep_alive: bool
    chunked: bool
    upgrade: bool = False
    method: bytes = b""
    target: bytes = b""
    status: int = 0
    reason: bytes = b""

    def header(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (lower case), or None."""
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


class _Callbacks:
    """httptools' callbacks, queued as events."""

    __slots__ = ("close_delimited", "events", "headers", "in_body", "parser", "reason", "response", "target")

    def __init__(self, response: bool) -> None:
        self.events: deque[tuple[int, object]] = deque()
        self.response = response
        self.parser: httptools.HttpRequestParser | httptools.HttpResponseParser | None = None
        self.target = b""
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.in_body = False  # between a head and its message's end
        self.close_delimited = False  # a response body that ends when the connection does

    def on_message_begin(self) -> None:
        self.target = b""
        self.reason = b""
        self.headers = []

    def on_url(self, url: bytes) -> None:
        self.target += url  # llhttp may deliver the target in pieces

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self.parser
        assert parser is not None
        chunked = any(k.lower() == b"transfer-encoding" and b"chunked" in v.lower() for k, v in self.headers)
        head = Head(
            version=parser.get_http_version(),
            headers=self.headers,
            keep_alive=parser.should_keep_alive(),
            chunked=chunked,
            upgrade=parser.should_upgrade(),
        )
        self.in_body = True
        self.close_delimited = (
            self.response and not chunked and not any(k.lower() == b"content-length" for k, _ in self.headers)
        )
        if self.response:
            head.status = parser.get_status_code()  # type: ignore[union-attr]
            head.reason = self.reason
        else:
            head.method = parser.get_method()  # type: ignore[union-attr]
            head.target = self.target
        self.events.append((HEAD, head))
        self.headers = []  # what arrives now are a chunked body's trailers, for the END event

    def on_body(self, body: bytes) -> None:
        self.events.append((BODY, body))

    def on_message_complete(self) -> None:
        self.in_body = False
        self.events.append((END, self.headers))  # the trailers (usually none)


class MessageStream:
    """Events of the HTTP messages arriving on ``reader`` (requests, or responses with ``response``).

    ``raw_prefix`` keeps every byte read until ``stop_keeping_raw()``, so a connection whose
    first bytes are not HTTP can still be tunnelled to the model untouched.
    """

    __slots__ = ("_callbacks", "_parser", "eof", "raw_prefix", "reader", "tail")

    def __init__(self, reader: asyncio.StreamReader, *, response: bool, keep_raw: bool = False) -> None:
        self.reader = reader
        self._callbacks = _Callbacks(response)
        self._parser: httptools.HttpRequestParser | httptools.HttpResponseParser = (
            httptools.HttpResponseParser(self._callbacks)
            if response
            else httptools.HttpRequestParser(self._callbacks)
        )
        self._callbacks.parser = self._parser
        if response:
            # A response with both Transfer-Encoding: chunked and Content-Length: clients take the
            # chunked framing (RFC 9112 §6.3), so the proxy does too rather than refuse it.
            self._parser.set_dangerous_leniencies(lenient_chunked_length=True)
        self.raw_prefix: bytearray | None = bytearray() if keep_raw else None
        self.tail = b""  # bytes after an upgrade's head: the new protocol's, to tunnel
        self.eof = False

    def stop_keeping_raw(self) -> None:
        self.raw_prefix = None

    def pending(self) -> bool:
        return bool(self._callbacks.events)

    async def next(self) -> tuple[int, object] | None:
        """The next event; None when the peer closed before one was complete."""
        events = self._callbacks.events
        while not events:
            if self.eof:
                return None
            data = await self.reader.read(_READ_SIZE)
            if not data:
                self.eof = True
                callbacks = self._callbacks
                if callbacks.in_body and callbacks.close_delimited:
                    callbacks.in_body = False  # the body ends with the connection
                    callbacks.events.append((END, None))
                continue
            self.feed(data)
        return events.popleft()

    def feed(self, data: bytes) -> None:
        if self.raw_prefix is not None:
            self.raw_prefix += data
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self.tail = data[upgrade.args[0] :]
        except httptools.HttpParserError as exc:
            raise ParseError(str(exc)) from exc


def encode_head(head: Head, extra_headers: list[tuple[bytes, bytes]] | None = None) -> bytes:
    """The head's bytes again: start line, every header as received (plus ``extra_headers``)."""
    if head.status:
        start = b"HTTP/%s %d %s\r\n" % (head.version.encode(), head.status, head.reason)
    else:
        start = b"%s %s HTTP/%s\r\n" % (head.method, head.target, head.version.encode())
    lines = [start]
    for name, value in head.headers:
        lines.append(name + b": " + value + b"\r\n")
    if extra_headers:
        for name, value in extra_headers:
            lines.append(name + b": " + value + b"\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


def last_chunk(trailers: object) -> bytes:
    """The end of a chunked body, with its trailer fields as received."""
    if not trailers:
        return LAST_CHUNK
    assert isinstance(trailers, list)
    return b"0\r\n" + b"".join(name + b": " + value + b"\r\n" for name, value in trailers) + b"\r\n"


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body."""
    return b"%x\r\n%s\r\n" % (len(data), data)
