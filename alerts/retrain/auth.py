"""Who may call the retraining service: a bearer token, an HMAC signature, or both.

Alertmanager sends the bearer token (``http_config.authorization``); other senders can sign instead,
with the scheme of ``targets.signing``: HMAC-SHA256 over ``"<timestamp>." + body``, refused when the
timestamp is further from now than the tolerance (a replay). Every credential configured is required.
Comparisons take constant time; messages never contain what was sent or expected.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Protocol

from alerts.retrain.errors import AuthError
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
    """Checks a request's headers and body. ``headers`` lookups must be case-insensitive."""

    def __init__(
        self,
        *,
        token: bytes | None = None,
        hmac_secret: bytes | None = None,
        tolerance_seconds: float = 300.0,
        clock: Callable[[], float],
    ) -> None:
        if not token and not hmac_secret:
            raise ValueError("the retraining service needs a bearer token, an HMAC secret, or both")
        self._token = token
        self._secret = hmac_secret
        self._tolerance = tolerance_seconds
        self._clock = clock

    def check(self, headers: Headers, body: bytes) -> None:
        """Return None when the request is authenticated; raise :class:`AuthError` (with a reason) if not."""
        if self._token:
            self._check_token(headers.get("Authorization"))
        if self._secret:
            try:
                verify(
                    self._secret,
                    headers.get(TIMESTAMP_HEADER),
                    headers.get(SIGNATURE_HEADER),
                    body,
                    now=self._clock(),
                    tolerance_seconds=self._tolerance,
                )
            except StaleSignatureError as exc:
                raise AuthError(str(exc), status=401, reason="stale_timestamp") from exc
            except SignatureError as exc:
                raise AuthError(str(exc), status=401, reason="bad_signature") from exc

    def _check_token(self, header: str | None) -> None:
        assert self._token is not None
        if not header:
            raise AuthError("missing Authorization header", status=401, reason="missing_token")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(credentials.strip().encode(), self._token):
            raise AuthError("wrong bearer token", status=401, reason="wrong_token")
