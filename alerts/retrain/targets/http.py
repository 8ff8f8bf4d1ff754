"""The one HTTP transport every target uses: stdlib ``urllib``, no redirects, bounded reads.

Targets take an :class:`HttpClient` in their constructor so that the transport can be swapped (a fake in
unit tests, a client with another CA). The client never raises on an HTTP status: it returns the
response, and :func:`raise_for_status` decides what a status means for retrying, in one place.
"""

from __future__ import annotations

import http.client
import json
import logging
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from alerts.retrain.errors import DeliveryError

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_RESPONSE_BYTES",
    "USER_AGENT",
    "HttpClient",
    "HttpResponse",
    "raise_for_status",
    "redact_url",
]

logger = logging.getLogger(__name__)

USER_AGENT: Final = "modelmon-retrain/0.1"
DEFAULT_TIMEOUT: Final = 10.0
# A pipeline API answers with a run object; anything bigger is not worth holding in memory.
MAX_RESPONSE_BYTES: Final = 1 << 20
# Statuses where the same request may succeed later: timeout, too early, rate limited.
_RETRYABLE_4XX: Final = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A response of any status. ``headers`` keys are lower-case."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json_object(self) -> dict[str, Any] | None:
        """The body as a JSON object, or None when it is not one (targets only peek at ids in it)."""
        try:
            parsed = json.loads(self.body)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect: urllib would turn a redirected POST into a GET and drop the body."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class HttpClient:
    """POSTs bytes over HTTP(S) with a timeout and an explicit TLS context.

    Args:
        timeout: seconds for connecting and for each read.
        ca_file: a PEM bundle to trust instead of the system's (an in-cluster CA, a private PKI).
        context: a ready TLS context; overrides ``ca_file``.
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        ca_file: str | None = None,
        context: ssl.SSLContext | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.timeout = timeout
        self.context = context or ssl.create_default_context(cafile=ca_file)
        self._opener = urllib.request.build_opener(
            _NoRedirect(), urllib.request.HTTPSHandler(context=self.context)
        )

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> HttpResponse:
        """POST ``body``; returns the response whatever its status.

        Raises:
            DeliveryError: retryable, when no response came (refused, reset, timed out, TLS failure).
        """
        if not url.startswith(("http://", "https://")):
            raise DeliveryError(f"not an http(s) URL: {redact_url(url)}", retryable=False)
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (scheme checked)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return _response(response.status, response.headers, response.read(MAX_RESPONSE_BYTES))
        except urllib.error.HTTPError as error:  # a status urllib calls an error: still an answer
            with error:
                return _response(error.code, error.headers, error.read(MAX_RESPONSE_BYTES))
        except ValueError as error:  # http.client refuses a header value; its message would quote it
            raise DeliveryError(
                f"POST {redact_url(url)}: invalid request ({type(error).__name__})", retryable=False
            ) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", None) or error
            logger.debug("POST %s failed: %s", redact_url(url), type(reason).__name__)
            raise DeliveryError(f"POST {redact_url(url)} failed: {_describe(reason)}") from None


def raise_for_status(response: HttpResponse, url: str, redact: Iterable[bytes] = ()) -> HttpResponse:
    """Return a 2xx response; raise :class:`DeliveryError` for any other, retryable when waiting may help.

    3xx is refused (redirects are not followed, and a moved endpoint is a configuration to fix);
    4xx are final except 408, 425 and 429; 5xx are retryable. The error quotes the start of the body
    (APIs say there what was wrong) with ``redact``'s secrets blanked, in case the server echoes them.
    """
    status = response.status
    if 200 <= status < 300:
        return response
    retryable = status >= 500 or status in _RETRYABLE_4XX
    what = "redirect not followed" if 300 <= status < 400 else _snippet(response.body, redact)
    raise DeliveryError(
        f"POST {redact_url(url)} answered {status}: {what}", retryable=retryable, status=status
    )


def redact_url(url: str) -> str:
    """The URL without user info, query or fragment: what is safe to put in logs and errors."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _response(status: int, headers: Any, body: bytes) -> HttpResponse:
    return HttpResponse(status, {k.lower(): v for k, v in headers.items()} if headers else {}, body)


def _describe(reason: object) -> str:
    """The error's type and text (socket and TLS errors carry no credentials; the URL is checked first)."""
    if isinstance(reason, str):
        return reason
    text = str(reason)
    return f"{type(reason).__name__}: {text}" if text else type(reason).__name__


def _snippet(body: bytes, redact: Iterable[bytes], limit: int = 200) -> str:
    for secret in redact:
        body = body.replace(secret, b"[redacted]") if secret else body
    text = body[:limit].decode("utf-8", "replace").replace("\n", " ").strip()
    return text or "(empty body)"
