"""A TCP relay that can play a broker outage: ``down()`` refuses and cuts every connection, ``up()`` is back.

Tansu keeps its data in memory, so stopping it would also erase what was delivered before the
outage. Clients are told the relay's address (the broker advertises it), so through the relay
they see exactly a broker that went away and came back, while the data stays.
"""

from __future__ import annotations

import asyncio
import contextlib

from tests.agent.running import LoopThread


class Relay:
    def __init__(self, loop: LoopThread, port: int, target_port: int) -> None:
        self.loop = loop
        self.port = port
        self.target_port = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}

    def up(self) -> None:
        async def start() -> None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

        self.loop.call(start)

    def down(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()
                self._server = None
            for writer in list(self._writers):
                writer.transport.abort()

        self.loop.call(stop)
