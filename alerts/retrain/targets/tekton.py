"""Tekton Triggers: POST plain JSON to an EventListener, signed as GitHub signs its webhooks.

Tekton has no interceptor for modelmon's own signature, but its GitHub interceptor checks
``X-Hub-Signature-256`` against a Kubernetes Secret, so signing the same way needs no custom code
in the cluster. The body's top-level keys are flat so that TriggerBindings can say ``$(body.model)``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final, Self

from agent.catalog.model import RetrainingTarget
from alerts.retrain.targets import options as opts
from alerts.retrain.targets.credentials import Secret
from alerts.retrain.targets.http import HttpClient, raise_for_status
from alerts.retrain.targets.payload import common_headers, encode_json, trigger_payload
from alerts.retrain.targets.signing import github_signature
from alerts.retrain.trigger import Delivered, Trigger

__all__ = ["GITHUB_SIGNATURE_HEADER", "TektonTarget"]

logger = logging.getLogger(__name__)

GITHUB_SIGNATURE_HEADER: Final = "X-Hub-Signature-256"
_OPTIONS: Final = ("secret_file", "secret_env")


class TektonTarget:
    """POSTs the trigger to a Tekton EventListener at ``url``; its ``eventID`` becomes the run id."""

    kind: Final = "tekton"

    def __init__(self, url: str, http: HttpClient, *, secret: Secret | None = None) -> None:
        self.url = url
        self.http = http
        self.secret = secret

    @classmethod
    def from_spec(cls, spec: RetrainingTarget, *, http: HttpClient | None, env: Mapping[str, str]) -> Self:
        """Options: ``secret_file`` or ``secret_env`` (the GitHub interceptor's secret), ``timeout``, ``ca_file``."""
        options = spec.options
        opts.warn_unknown(options, _OPTIONS, cls.kind)
        return cls(
            opts.require_url(spec.url, cls.kind),
            opts.http_client(options, cls.kind, http),
            secret=Secret.from_options(options, "secret", env),
        )

    def deliver(self, trigger: Trigger) -> Delivered:
        body = encode_json(trigger_payload(trigger))
        headers = common_headers(trigger)
        redact: tuple[bytes, ...] = ()
        if self.secret is not None:
            redact = (self.secret.read(),)
            headers[GITHUB_SIGNATURE_HEADER] = github_signature(redact[0], body)
        response = raise_for_status(self.http.post(self.url, body, headers), self.url, redact)
        # The EventListener answers 202 {"eventListener": ..., "eventID": ...}.
        event_id = (response.json_object() or {}).get("eventID")
        run_id = event_id if isinstance(event_id, str) and event_id else None
        logger.info("tekton accepted trigger %s for %s: event %s", trigger.id, trigger.identity, run_id)
        return Delivered(response.status, run_id)
