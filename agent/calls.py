"""A captured call: what the proxy hands to the capture pipeline once the model has answered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Call", "CallSink", "status_class"]


@dataclass(slots=True)
class Call:
    """One request to the model and its response, joined.

    Attributes:
        request_id: the ``X-Request-Id`` the call carried, or the one the agent gave it.
        started: wall-clock time the request's head arrived (epoch seconds).
        latency_seconds: from the request's head to the response's last byte.
        ttfb_seconds: from the request's head to the response's head (time to first byte).
        status: the model's status code; 0 when the model gave no response.
        method: the request's method.
        path: the request's target.
        request_body: the request's body, when kept (sampled and within the capture bound).
        response_body: the response's body, when kept.
        request_bytes: body bytes forwarded to the model, kept or not.
        response_bytes: body bytes forwarded to the client.
        streamed: the response came in chunks, or until the connection closed (e.g. server-sent events).
        too_large: a body was over the capture bound; the call is forwarded, not captured.
        traceparent: the W3C trace context of the request, if it had one.
    """

    request_id: str
    started: float
    latency_seconds: float
    ttfb_seconds: float | None
    status: int
    method: str
    path: str
    request_body: bytes | None
    response_body: bytes | None
    request_bytes: int
    response_bytes: int
    streamed: bool = False
    too_large: bool = False
    traceparent: str | None = None


class CallSink(Protocol):
    """Where the proxy hands calls; must return at once (it runs on the proxy's event loop)."""

    def offer(self, call: Call) -> None: ...


def status_class(status: int) -> str:
    """``2xx``, ``4xx``…; ``error`` when the model gave no response."""
    return f"{status // 100}xx" if 100 <= status < 600 else "error"
