"""Run the proxy or a whole sidecar on its own event loop (uvloop), in a thread, for a test."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop


class LoopThread:
    """An event loop in a thread; ``call(coro_fn)`` runs a coroutine there and returns its result."""

    def __init__(self) -> None:
        self.loop = uvloop.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def call(self, make: Callable[[], Awaitable[Any]], timeout: float = 30) -> Any:
        async def run() -> Any:
            return await make()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class RecordingCalls:
    """An in-memory call sink."""

    def __init__(self) -> None:
        self.calls: list[Any] = []
        self.lock = threading.Lock()

    def offer(self, call: Any) -> None:
        with self.lock:
            self.calls.append(call)


def start_sidecar(
    loop: LoopThread,
    model_port: int,
    spec: Any,
    *,
    kafka: Any = None,
    proxy: dict[str, Any] | None = None,
    capture: dict[str, Any] | None = None,
    publisher: dict[str, Any] | None = None,
    **options: Any,
) -> Any:
    """A whole sidecar for ``ns/m`` v1 on free loopback ports in front of ``model_port``, started."""
    from agent.settings import CaptureSettings, KafkaSettings, ProxySettings, PublisherSettings
    from agent.sidecar import Sidecar

    car = Sidecar(
        ProxySettings(
            **{
                "listen_host": "127.0.0.1",
                "listen_port": 0,
                "upstream_port": model_port,
                "admin_host": "127.0.0.1",
                "admin_port": 0,
            }
            | (proxy or {})
        ),
        CaptureSettings(**{"model": "ns/m", "version": "v1", "batch_max_seconds": 0.1} | (capture or {})),
        kafka or KafkaSettings(),
        PublisherSettings(**(publisher or {})),
        spec,
        **options,
    )
    loop.call(car.start)
    return car
