"""Settings of the retraining service (built in ``deploy.config`` from YAML and ``MODELMON_RETRAIN_*``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["RetrainSettings"]


@dataclass(frozen=True, slots=True)
class RetrainSettings:
    """How ``modelmon retrain serve`` listens, authenticates, stores and delivers.

    Attributes:
        host, port: where the webhook listens.
        database: the SQLite outbox (put it on a persistent volume: it is what survives a restart).
        token_file: a file holding the bearer token callers (Alertmanager) must send.
        hmac_secret_file: a file holding the HMAC key of signed callers (``X-Modelmon-Signature``).
            At least one of the two is required; when both are set, both are checked.
        timestamp_tolerance_seconds: a signature older or newer than this is refused (replays).
        max_body_bytes: larger notifications are refused with 413 before being read.
        alertnames: the alerts that trigger retraining; empty: every alert labelled
            ``modelmon_action="retrain"`` (what the generated rules put on drift and accuracy alerts).
        run_timeout_seconds: a delivered trigger counts as a run in flight until it reports back
            (``POST /triggers/<id>/complete``) or this long has passed.
        max_attempts: delivery attempts before a trigger is ``failed``.
        backoff_initial_seconds, backoff_max_seconds: exponential backoff between attempts, with jitter.
        prometheus_url: where the evidence bundle's metric values are read (unset: alerts only).
        report_url: a link template for the evidence bundle, with ``{namespace}``, ``{model}`` and
            ``{version}`` (unset: the ``modelmon report`` command line is given instead).
    """

    host: str = "0.0.0.0"
    port: int = 8080
    database: Path = Path("retrain.db")
    token_file: Path | None = None
    hmac_secret_file: Path | None = None
    timestamp_tolerance_seconds: float = 300.0
    max_body_bytes: int = 1_048_576
    alertnames: tuple[str, ...] = ()
    run_timeout_seconds: float = 6 * 3600.0
    max_attempts: int = 12
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 300.0
    prometheus_url: str | None = None
    report_url: str | None = None
