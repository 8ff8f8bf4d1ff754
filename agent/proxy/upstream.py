"""Keep-alive connections to the model server, reused across calls."""

from __future__ import annotations

import asyncio
import contextlib

from agent.proxy.http1 import MessageStream

__all__ = ["Upstream", "UpstreamPool"]


class Upstream:
    """One connection to the model, with the stream of its responses."""

    __slots__ = ("reader", "responses", "reused", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.responses = MessageStream(reader, response=True)
        self.reused = False

    def usable(self) -> bool:
        """Still open, and nothing unasked-for pending (a server that closed shows EOF here)."""
        return not (
            self.writer.is_closing() or self.reader.at_eof() or self.responses.eof or self.responses.pending()
        )

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop may already be closed at shutdown
            self.writer.close()


class UpstreamPool:
    """Idle connections to ``host:port``, most recently used first (warm sockets, fewer reconnects)."""

    def __init__(self, host: str, port: int, max_idle: int) -> None:
        self.host = host
        self.port = port
        self.max_idle = max_idle
        self._idle: list[Upstream] = []
        self.opened = 0  # connections made, for tests and the docs' reuse figures

    async def connect(self) -> Upstream:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self.opened += 1
        return Upstream(reader, writer)

    async def acquire(self) -> Upstream:
        while self._idle:
            upstream = self._idle.pop()
            if upstream.usable():
                upstream.reused = True
                return upstream
            upstream.close()
        return await self.connect()

    def release(self, upstream: Upstream) -> None:
        if len(self._idle) < self.max_idle and upstream.usable():
            self._idle.append(upstream)
        else:
            upstream.close()

    def close(self) -> None:
        for upstream in self._idle:
            upstream.close()
        self._idle.clear()
