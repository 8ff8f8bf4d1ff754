"""Who may call the retraining service: a bearer token, an HMAC signature, or both.

Alertmanager sends the bearer token (``http_config.authorization``); other senders can sign instead,
with the scheme of ``targets.signing``: HMAC-SHA256 over ``"<timestamp>." + body``, refused when the
timestamp is further from now than the tolerance (a replay). Endpoints whose body could be replayed
elsewhere bind it to themselves (``/triggers/<id>/complete`` must name its trigger in the body).
Comparisons take constant time; messages never contain what was sent or expected.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Protocol

from alerts.retrain.errors import AuthError, RetrainError
from alerts.retrain.targets.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    StaleSignatureError,
    verify,
)

__all__ = ["Authenticator", "Headers"]


class Headers(Protocol):
    """Case-insensitive header lookup, as ``http.server``'s ``Message`` and ``Mapping`` give it."""

    def get(self, name: str, /) -> str | None: ...


class Authenticator:
    """Checks a request's headers and body.

    A request passes with any credential the service is configured for (Alertmanager can send only
    the bearer token; a signing caller may send only the signature). A credential that is sent must be
    right: a wrong token fails even beside a good signature.
    """

    def __init__(
        self,
        *,
        token: bytes | None = None,
        hmac_secret: bytes | None = None,
        tolerance_seconds: float = 300.0,
        clock: Callable[[], float],
    ) -> None:
        if not token and not hmac_secret:
            raise RetrainError("the retraining service needs a bearer token, an HMAC secret, or both")
        self._token = token
        self._secret = hmac_secret
        self._tolerance = tolerance_seconds
        self._clock = clock

    def check(self, headers: Headers, body: bytes) -> None:
        """Return None when the request is authenticated; raise :class:`AuthError` (with a reason) if not."""
        authorization = headers.get("Authorization") if self._token else None
        signature = headers.get(SIGNATURE_HEADER) if self._secret else None
        if authorization is None and signature is None:
            what = " or ".join(
                name for name, on in (("a bearer token", self._token), ("a signature", self._secret)) if on
            )
            raise AuthError(f"send {what}", status=401, reason="missing_token")
        if authorization is not None:
            self._check_token(authorization)
        if signature is not None:
            self._check_signature(headers, signature, body)

    def _check_token(self, header: str) -> None:
        assert self._token is not None
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(credentials.strip().encode(), self._token):
            raise AuthError("wrong bearer token", status=401, reason="wrong_token")

    def _check_signature(self, headers: Headers, signature: str, body: bytes) -> None:
        assert self._secret is not None
        try:
            verify(
                self._secret,
                headers.get(TIMESTAMP_HEADER),
                signature,
                body,
                now=self._clock(),
                tolerance_seconds=self._tolerance,
            )
        except StaleSignatureError as exc:
            raise AuthError(str(exc), status=401, reason="stale_timestamp") from exc
        except SignatureError as exc:
            raise AuthError(str(exc), status=401, reason="bad_signature") from exc
