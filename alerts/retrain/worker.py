"""Delivers pending triggers to their targets, with retries, exponential backoff and jitter.

One thread. Each pass: runs that never reported back are timed out, then every due trigger gets one
attempt. A failed attempt is retried after ``initial × 2^(attempt-1)`` seconds (capped), of which a
random half is taken off ("equal jitter", so triggers failing together do not retry together).
Attempts run out at ``max_attempts``; a target's permanent refusal (a 4xx) fails the trigger at once.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace

from alerts.retrain.errors import DeliveryError
from alerts.retrain.metrics import RetrainMetrics
from alerts.retrain.outbox import Outbox
from alerts.retrain.settings import RetrainSettings
from alerts.retrain.targets import Target
from alerts.retrain.trigger import Trigger

__all__ = ["Deliverer", "backoff_seconds"]

logger = logging.getLogger(__name__)

Evidence = Callable[[Trigger], dict[str, object]]


def backoff_seconds(attempt: int, settings: RetrainSettings, draw: Callable[[], float]) -> float:
    """The wait after failed attempt number ``attempt`` (1-based); ``draw`` returns [0, 1)."""
    ceiling = min(settings.backoff_max_seconds, settings.backoff_initial_seconds * 2 ** (attempt - 1))
    return float(ceiling / 2 + draw() * ceiling / 2)


class Deliverer:
    def __init__(
        self,
        outbox: Outbox,
        targets: Mapping[str, Target],
        settings: RetrainSettings,
        *,
        evidence: Evidence,
        metrics: RetrainMetrics,
        clock: Callable[[], float],
        draw: Callable[[], float] = random.random,
        poll_seconds: float = 1.0,
    ) -> None:
        self._outbox = outbox
        self._targets = targets
        self._settings = settings
        self._evidence = evidence
        self._metrics = metrics
        self._clock = clock
        self._draw = draw
        self._poll = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="modelmon-retrain-deliverer", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A trigger was just stored: deliver it now rather than at the next poll."""
        self._wake.set()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop after the attempt in progress (a delivery is recorded before the outbox closes).
        Returns False when the thread did not end within ``timeout``."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.alive

    def _loop(self) -> None:
        while not self._stop.is_set():
            wait = self._poll
            try:
                self.run_once()
                due = self._outbox.next_due_at()
                if due is not None:
                    wait = min(self._poll, max(0.0, due - self._clock()))
            except Exception:  # the outbox failed (disk full, locked): keep the thread, try again
                logger.exception("delivery pass failed; retrying at the next poll")
            self._wake.wait(wait)
            self._wake.clear()

    def run_once(self) -> int:
        """One pass: time out silent runs, attempt every due trigger. Returns the attempts made."""
        self._outbox.expire_runs(self._settings.run_timeout_seconds)
        attempts = 0
        for trigger in self._outbox.due():
            if self._stop.is_set():
                break
            self._attempt(trigger)
            attempts += 1
        return attempts

    def _attempt(self, trigger: Trigger) -> None:
        target = self._targets.get(trigger.identity)
        if target is None:
            self._outbox.failed(trigger.id, "no retraining target is configured for the model any more")
            return
        try:
            if not trigger.evidence:
                trigger = replace(trigger, evidence=dict(self._evidence(trigger)))
                self._outbox.set_evidence(trigger.id, trigger.evidence)
            delivered = target.deliver(trigger)
        except DeliveryError as exc:
            self._failed_attempt(trigger, target.kind, exc)
            return
        except Exception as exc:  # a bug must cost this attempt only, not the other triggers; retried
            logger.exception("attempt of trigger %s (%s) raised unexpectedly", trigger.id, target.kind)
            self._failed_attempt(trigger, target.kind, DeliveryError(f"{type(exc).__name__}: {exc}"))
            return
        self._outbox.delivered(trigger.id, delivered.run_id)
        self._metrics.deliveries.labels(target.kind, "delivered").inc()
        logger.info(
            "trigger %s for %s delivered to %s (run %s, attempt %d)",
            trigger.id,
            trigger.identity,
            target.kind,
            delivered.run_id or "-",
            trigger.attempt,
        )

    def _failed_attempt(self, trigger: Trigger, kind: str, error: DeliveryError) -> None:
        if not error.retryable or trigger.attempt >= self._settings.max_attempts:
            self._outbox.failed(trigger.id, str(error))
            self._metrics.deliveries.labels(kind, "failed").inc()
            logger.error("trigger %s for %s failed for good: %s", trigger.id, trigger.identity, error)
            return
        wait = backoff_seconds(trigger.attempt, self._settings, self._draw)
        self._outbox.retry(trigger.id, str(error), self._clock() + wait)
        self._metrics.deliveries.labels(kind, "retry").inc()
        logger.warning(
            "trigger %s for %s: attempt %d failed (%s); next in %.1f s",
            trigger.id,
            trigger.identity,
            trigger.attempt,
            error,
            wait,
        )
