"""What the side-by-side benchmarks share: each engine runs in its own process, measured by the
peak of its resident memory."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

__all__ = ["PeakRss", "measure_in_child"]


def measure_in_child(script: str, engine: str, rows: int) -> dict[str, Any]:
    """Run ``script --child ENGINE --rows N`` in a fresh interpreter; its last stdout line is JSON."""
    out = subprocess.run(
        [sys.executable, script, "--child", engine, "--rows", str(rows)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


class PeakRss:
    """Peak resident memory above the level at start, sampled every 2 ms from /proc/self/statm."""

    def __init__(self) -> None:
        self._page = resource.getpagesize()
        self.start = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _rss(self) -> int:
        with Path("/proc/self/statm").open() as statm:
            return int(statm.read().split()[1]) * self._page

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def mb(self) -> float:
        return (self.peak - self.start) / 1_048_576
