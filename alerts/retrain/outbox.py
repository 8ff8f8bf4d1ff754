"""The durable outbox: accepted alerts become triggers in SQLite before the webhook is answered.

WAL mode with ``synchronous=FULL``: a trigger is on disk when :meth:`Outbox.record` returns, so a
crash after Alertmanager's 2xx loses nothing, and a restart delivers what is still pending. One
transaction decides and stores, so two notifications racing for one model cannot both trigger.

Tables: ``triggers`` (one per retraining request, with its state, attempts and last error) and
``incidents`` (one per alert series and start time, with what became of it), the de-duplication key.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alerts.retrain.errors import RetrainError
from alerts.retrain.notification import Alert
from alerts.retrain.trigger import Trigger, TriggerState

__all__ = ["Outbox", "OutboxError", "Recorded"]


class OutboxError(RetrainError):
    """The database failed (locked too long, disk full, corrupt); the request may be retried."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS triggers (
    id TEXT PRIMARY KEY,
    namespace TEXT NOT NULL,
    model TEXT NOT NULL,
    version TEXT,
    reason TEXT NOT NULL,
    group_key TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    delivered_at REAL,
    finished_at REAL,
    run_id TEXT,
    alerts TEXT NOT NULL,
    evidence TEXT
);
CREATE INDEX IF NOT EXISTS triggers_by_model ON triggers (namespace, model, created_at);
CREATE INDEX IF NOT EXISTS triggers_by_state ON triggers (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS incidents (
    fingerprint TEXT NOT NULL,
    starts_at REAL NOT NULL,
    alertname TEXT NOT NULL,
    namespace TEXT NOT NULL,
    model TEXT NOT NULL,
    received_at REAL NOT NULL,
    outcome TEXT NOT NULL,
    trigger_id TEXT,
    resolved_at REAL,
    PRIMARY KEY (fingerprint, starts_at)
);
"""


@dataclass(frozen=True, slots=True)
class Recorded:
    """What became of a model's new alerts: ``triggered``, ``in_flight``, ``cooldown`` or ``duplicate``.

    ``trigger_id`` is the new trigger, or the one in flight that the alerts were attached to.
    """

    outcome: str
    trigger_id: str | None
    new_alerts: int


class Outbox:
    def __init__(self, path: Path, *, clock: Callable[[], float]) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise RetrainError(f"cannot open the outbox {path}: {exc}") from exc
        self._db.row_factory = sqlite3.Row

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; any failure (a full disk at COMMIT included) rolls it back, so the
        connection never stays inside a transaction, and surfaces as :class:`OutboxError`."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise OutboxError(f"the outbox {self.path}: {exc}") from exc
                raise

    def _read(self, query: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db.execute(query, args).fetchall()
            except sqlite3.Error as exc:
                raise OutboxError(f"the outbox {self.path}: {exc}") from exc

    # --- intake -------------------------------------------------------------------------------
    def record(
        self,
        namespace: str,
        model: str,
        alerts: Sequence[Alert],
        *,
        group_key: str,
        cooldown_seconds: float,
        run_timeout_seconds: float,
    ) -> Recorded:
        """Store a model's firing alerts and decide, in one transaction, whether they trigger a run."""
        now = self._clock()
        unique = list({a.incident: a for a in alerts}.values())  # one alert listed twice counts once
        with self._transaction() as db:
            new = [a for a in unique if not self._seen(db, a, now - run_timeout_seconds)]
            if not new:
                return Recorded("duplicate", None, 0)
            active = db.execute(
                "SELECT id FROM triggers WHERE namespace = ? AND model = ? AND (state = ? OR "
                "(state = ? AND delivered_at > ?)) ORDER BY created_at DESC LIMIT 1",
                (namespace, model, TriggerState.PENDING, TriggerState.RUNNING, now - run_timeout_seconds),
            ).fetchone()
            if active is not None:
                self._incidents(db, new, namespace, model, "in_flight", active["id"], now)
                return Recorded("in_flight", active["id"], len(new))
            last = db.execute(
                "SELECT MAX(created_at) FROM triggers WHERE namespace = ? AND model = ? AND state != ?",
                (namespace, model, TriggerState.FAILED),
            ).fetchone()[0]
            if last is not None and now - last < cooldown_seconds:
                self._incidents(db, new, namespace, model, "cooldown", None, now)
                return Recorded("cooldown", None, len(new))
            trigger_id = uuid.uuid4().hex
            versions = {a.labels.get("version") for a in new}
            db.execute(
                "INSERT INTO triggers (id, namespace, model, version, reason, group_key, state, created_at,"
                " next_attempt_at, alerts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    trigger_id,
                    namespace,
                    model,
                    versions.pop() if len(versions) == 1 else None,
                    ",".join(sorted({a.name for a in new})),
                    group_key,
                    TriggerState.PENDING,
                    now,
                    now,
                    json.dumps([a.to_json() for a in new], sort_keys=True),
                ),
            )
            self._incidents(db, new, namespace, model, "triggered", trigger_id, now)
            return Recorded("triggered", trigger_id, len(new))

    @staticmethod
    def _seen(db: sqlite3.Connection, alert: Alert, since: float) -> bool:
        """The same incident, or the same alert series still unresolved from a recent notification:
        its ``startsAt`` can change without a new incident (an HA Prometheus pair's alerts merged, a
        Prometheus restart that lost its ``for`` state)."""
        row = db.execute(
            "SELECT 1 FROM incidents WHERE fingerprint = ? AND (starts_at = ? OR"
            " (resolved_at IS NULL AND received_at > ?)) LIMIT 1",
            (alert.fingerprint, alert.starts_at, since),
        ).fetchone()
        return row is not None

    @staticmethod
    def _incidents(
        db: sqlite3.Connection,
        alerts: Sequence[Alert],
        namespace: str,
        model: str,
        outcome: str,
        trigger_id: str | None,
        now: float,
    ) -> None:
        db.executemany(
            "INSERT INTO incidents (fingerprint, starts_at, alertname, namespace, model, received_at, outcome,"
            " trigger_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(*a.incident, a.name, namespace, model, now, outcome, trigger_id) for a in alerts],
        )

    def resolved(self, alerts: Sequence[Alert]) -> int:
        """Note when known incidents resolved; returns how many were known."""
        with self._transaction() as db:
            found = 0
            for alert in alerts:
                cursor = db.execute(
                    "UPDATE incidents SET resolved_at = ? WHERE fingerprint = ? AND starts_at = ?"
                    " AND resolved_at IS NULL",
                    (alert.ends_at or self._clock(), *alert.incident),
                )
                found += cursor.rowcount
            return found

    # --- delivery -----------------------------------------------------------------------------
    def due(self, limit: int = 16) -> list[Trigger]:
        """Pending triggers whose next attempt is due, oldest first."""
        rows = self._read(
            "SELECT * FROM triggers WHERE state = ? AND next_attempt_at <= ? ORDER BY created_at LIMIT ?",
            (TriggerState.PENDING, self._clock(), limit),
        )
        return [_trigger(row) for row in rows]

    def next_due_at(self) -> float | None:
        value = self._read(
            "SELECT MIN(next_attempt_at) FROM triggers WHERE state = ?", (TriggerState.PENDING,)
        )[0][0]
        return float(value) if value is not None else None

    def alerts_of(self, trigger_id: str) -> list[dict[str, Any]]:
        rows = self._read("SELECT alerts FROM triggers WHERE id = ?", (trigger_id,))
        return list(json.loads(rows[0]["alerts"])) if rows else []

    def set_evidence(self, trigger_id: str, evidence: dict[str, Any]) -> None:
        """Keep the evidence gathered for the first attempt, so every retry sends the same payload."""
        with self._transaction() as db:
            db.execute(
                "UPDATE triggers SET evidence = ? WHERE id = ?",
                (json.dumps(evidence, sort_keys=True), trigger_id),
            )

    def delivered(self, trigger_id: str, run_id: str | None) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE triggers SET state = ?, attempts = attempts + 1, delivered_at = ?, run_id = ?,"
                " last_error = NULL WHERE id = ? AND state = ?",
                (TriggerState.RUNNING, self._clock(), run_id, trigger_id, TriggerState.PENDING),
            )

    def retry(self, trigger_id: str, error: str, next_attempt_at: float) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE triggers SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
                " WHERE id = ? AND state = ?",
                (error[:500], next_attempt_at, trigger_id, TriggerState.PENDING),
            )

    def failed(self, trigger_id: str, error: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE triggers SET state = ?, attempts = attempts + 1, last_error = ?, finished_at = ?"
                " WHERE id = ? AND state = ?",
                (TriggerState.FAILED, error[:500], self._clock(), trigger_id, TriggerState.PENDING),
            )

    def finish(self, trigger_id: str, state: TriggerState = TriggerState.COMPLETED) -> bool:
        """A running trigger's run reported back (completed or failed). False if no such running trigger."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE triggers SET state = ?, finished_at = ? WHERE id = ? AND state = ?",
                (state, self._clock(), trigger_id, TriggerState.RUNNING),
            )
            return cursor.rowcount == 1

    def expire_runs(self, run_timeout_seconds: float) -> int:
        """Runs that never reported back within ``run_timeout_seconds`` stop counting as in flight."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE triggers SET state = ?, finished_at = ? WHERE state = ? AND delivered_at <= ?",
                (
                    TriggerState.TIMED_OUT,
                    self._clock(),
                    TriggerState.RUNNING,
                    self._clock() - run_timeout_seconds,
                ),
            )
            return cursor.rowcount

    # --- reading --------------------------------------------------------------------------------
    def triggers(self, limit: int = 100, state: str | None = None) -> list[dict[str, Any]]:
        """The newest triggers, as the ``/triggers`` endpoint shows them (evidence and alerts left out)."""
        query = (
            "SELECT id, namespace, model, version, reason, state, attempts, last_error, created_at,"
            " next_attempt_at, delivered_at, finished_at, run_id FROM triggers"
        )
        args: tuple[Any, ...] = ()
        if state is not None:
            query += " WHERE state = ?"
            args = (state,)
        rows = self._read(query + " ORDER BY created_at DESC LIMIT ?", (*args, limit))
        return [dict(row) for row in rows]

    def state_counts(self) -> dict[str, int]:
        rows = self._read("SELECT state, COUNT(*) FROM triggers GROUP BY state")
        return dict.fromkeys(TriggerState, 0) | {row[0]: row[1] for row in rows}

    def oldest_pending_at(self) -> float | None:
        value = self._read("SELECT MIN(created_at) FROM triggers WHERE state = ?", (TriggerState.PENDING,))[
            0
        ][0]
        return float(value) if value is not None else None

    def incident_counts(self) -> dict[str, int]:
        rows = self._read("SELECT outcome, COUNT(*) FROM incidents GROUP BY outcome")
        return {row[0]: row[1] for row in rows}


def _trigger(row: sqlite3.Row) -> Trigger:
    return Trigger(
        id=row["id"],
        namespace=row["namespace"],
        model=row["model"],
        version=row["version"],
        created_at=row["created_at"],
        reason=row["reason"],
        evidence=json.loads(row["evidence"]) if row["evidence"] else {},
        attempt=row["attempts"] + 1,
    )
