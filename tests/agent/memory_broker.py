"""An in-memory Kafka producer for the agent's unit tests; decodes what it received."""

from __future__ import annotations

import threading

import pandas as pd

from drift.core.decode import DecodedBatch, decode_predictions


class Delivered:
    """A future that has already succeeded."""

    def add_callback(self, fn):
        fn(None)

    def add_errback(self, fn):
        return None

    def get(self, timeout=None):
        return None


class MemoryBroker:
    """Takes every send (refuses them while ``down`` is set)."""

    def __init__(self):
        self.down = threading.Event()
        self.messages: list[tuple[bytes, bytes, list]] = []
        self.lock = threading.Lock()

    def send(self, topic, value, key, headers):
        if self.down.is_set():
            raise ConnectionError("broker down")
        with self.lock:
            self.messages.append((key, value, headers))
        return Delivered()

    def flush(self, timeout=None):
        return None

    def close(self, timeout=None):
        return None

    def factory(self, *_):
        return self

    def decoded(self) -> list[DecodedBatch]:
        with self.lock:
            messages = list(self.messages)
        out = []
        for key, value, headers in messages:
            batch = decode_predictions(key, value, headers)
            assert isinstance(batch, DecodedBatch), batch
            out.append(batch)
        return out

    def frame(self) -> pd.DataFrame:
        frames = [b.frame for b in self.decoded()]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
