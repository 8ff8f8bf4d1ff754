"""A Kafka producer that takes every message at once: what a benchmark of the agent's own work uses."""

from __future__ import annotations

__all__ = ["NullProducer"]


class _Delivered:
    def add_callback(self, fn: object) -> None:
        fn(None)  # type: ignore[operator]

    def add_errback(self, fn: object) -> None:
        return None


class NullProducer:
    def send(self, *args: object, **kwargs: object) -> _Delivered:
        return _Delivered()

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        return None
