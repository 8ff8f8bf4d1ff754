"""The agent's hardware loop: run the collectors every interval and publish their samples.

Each cycle's samples become one Arrow batch on ``modelmon.hardware.v1``, keyed by the model, with
the model version and the pod. A collector that fails is counted and skipped; the others still report.
Hardware samples are not spooled: the next cycle reports the same counters again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence

from agent.publisher import Publisher
from agent.wire.encode import build_hardware_batch
from collectors.samples import Collector

__all__ = ["HardwareLoop"]

log = logging.getLogger(__name__)


class HardwareLoop:
    """Runs ``collectors`` every ``interval`` seconds on a thread; ``cycle()`` runs one now."""

    def __init__(
        self,
        collectors: Sequence[Collector],
        publisher: Publisher,
        *,
        model: str,
        version: str,
        pod: str,
        interval: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.collectors = list(collectors)
        self.publisher = publisher
        self.model, self.version, self.pod = model, version, pod
        self.interval = interval
        self._clock = clock
        self.cycles = 0
        self.samples = 0
        self.failures: Counter[str] = Counter()  # by collector
        self.cycle_seconds = 0.0  # CPU time of the last cycle
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="modelmon-hardware", daemon=True)

    def cycle(self) -> int:
        """Collect from every collector and publish one batch; returns the number of samples."""
        started = time.thread_time()
        rows: list[tuple[str, float, dict[str, str]]] = []
        for collector in self.collectors:
            try:
                rows += [(s.metric, s.value, s.labels) for s in collector.collect()]
            except Exception:  # a collector's bug must not stop the others, nor the model
                log.exception("collector %s failed", collector.name)
                self.failures[collector.name] += 1
        if rows:
            try:
                batch = build_hardware_batch(self.model, self.version, self.pod, rows, now=self._clock())
                self.publisher.publish(self.model, batch)
            except Exception:  # a bad sample or a closed publisher: this cycle is lost, the loop goes on
                log.exception("publishing %d hardware samples failed", len(rows))
                self.failures["publish"] += 1
        self.cycles += 1
        self.samples += len(rows)
        self.cycle_seconds = time.thread_time() - started
        return len(rows)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.cycle()
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
