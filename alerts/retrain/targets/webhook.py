"""The generic target: a CloudEvent (HTTP binary content mode), optionally HMAC-signed.

Binary mode keeps the body the plain trigger JSON and puts the event's attributes in ``ce-*`` headers,
so a receiver that knows nothing of CloudEvents still reads the body, and Knative or any CloudEvents SDK
still sees an event. The signature (see :mod:`alerts.retrain.targets.signing`) covers a timestamp taken
at each attempt, so a receiver can refuse replays.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Final, Self

from agent.catalog.model import RetrainingTarget
from alerts.retrain.targets import options as opts
from alerts.retrain.targets.credentials import Secret
from alerts.retrain.targets.http import HttpClient, raise_for_status
from alerts.retrain.targets.payload import common_headers, encode_json, rfc3339, trigger_payload
from alerts.retrain.targets.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from alerts.retrain.trigger import Delivered, Trigger

__all__ = ["CLOUDEVENT_TYPE", "DEFAULT_SOURCE", "WebhookTarget"]

logger = logging.getLogger(__name__)

CLOUDEVENT_TYPE: Final = "io.modelmon.retrain.requested"
DEFAULT_SOURCE: Final = "modelmon/retrain"
_OPTIONS: Final = ("source", "secret_file", "secret_env")


class WebhookTarget:
    """POSTs the trigger as a CloudEvent to ``url``.

    Args:
        url: the receiver.
        http: the transport.
        secret: signs each request when given.
        source: the CloudEvent ``source`` attribute.
        clock: Unix time now, for the signature's timestamp.
    """

    kind: Final = "webhook"

    def __init__(
        self,
        url: str,
        http: HttpClient,
        *,
        secret: Secret | None = None,
        source: str = DEFAULT_SOURCE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.http = http
        self.secret = secret
        self.source = source
        self.clock = clock

    @classmethod
    def from_spec(cls, spec: RetrainingTarget, *, http: HttpClient | None, env: Mapping[str, str]) -> Self:
        """Options: ``source``, ``secret_file`` or ``secret_env``, ``timeout``, ``ca_file``."""
        options = spec.options
        opts.warn_unknown(options, _OPTIONS, cls.kind)
        return cls(
            opts.require_url(spec.url, cls.kind),
            opts.http_client(options, cls.kind, http),
            secret=Secret.from_options(options, "secret", env),
            source=opts.optional(options, "source") or DEFAULT_SOURCE,
        )

    def deliver(self, trigger: Trigger) -> Delivered:
        body = encode_json(trigger_payload(trigger))
        headers = common_headers(trigger) | {
            "ce-specversion": "1.0",
            "ce-id": trigger.id,
            "ce-source": self.source,
            "ce-type": CLOUDEVENT_TYPE,
            "ce-subject": trigger.identity,
            "ce-time": rfc3339(trigger.created_at),
        }
        redact: tuple[bytes, ...] = ()
        if self.secret is not None:
            redact = (self.secret.read(),)
            timestamp = int(self.clock())
            headers[TIMESTAMP_HEADER] = str(timestamp)
            headers[SIGNATURE_HEADER] = sign(redact[0], timestamp, body)
        response = raise_for_status(self.http.post(self.url, body, headers), self.url, redact)
        # A receiver may name the run it started; the generic contract does not require it.
        run_id = (response.json_object() or {}).get("run_id")
        run_id = run_id if isinstance(run_id, str) and run_id else None
        logger.info("webhook accepted trigger %s for %s: %s", trigger.id, trigger.identity, response.status)
        return Delivered(response.status, run_id)
