"""HMAC-SHA256 request signatures: modelmon's timestamped scheme and GitHub's body-only one.

modelmon's scheme signs ``f"{timestamp}.".encode() + body`` and sends the timestamp alongside, so a
receiver can refuse replays of an old request; the retraining service's inbound webhook checks its
callers with the same :func:`sign`/:func:`verify`. GitHub's scheme (:func:`github_signature`) signs the
body alone; Tekton's GitHub interceptor checks it. Everything here is pure: the caller passes the time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Final

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "MalformedSignatureError",
    "SignatureError",
    "SignatureMismatchError",
    "StaleSignatureError",
    "github_signature",
    "sign",
    "verify",
]

TIMESTAMP_HEADER: Final = "X-Modelmon-Timestamp"
SIGNATURE_HEADER: Final = "X-Modelmon-Signature"
# Five minutes, as Stripe and Slack: room for clock skew and queueing, little for a replay.
DEFAULT_TOLERANCE_SECONDS: Final = 300.0

_PREFIX: Final = "sha256="
_SIGNATURE: Final = re.compile(r"sha256=([0-9a-fA-F]{64})")
_TIMESTAMP: Final = re.compile(r"[0-9]{1,12}")


class SignatureError(ValueError):
    """A signed request that does not check out. The message says why and never holds a secret."""


class MalformedSignatureError(SignatureError):
    """The timestamp or signature header is missing or not in the expected form."""


class SignatureMismatchError(SignatureError):
    """The signature is well-formed but was not made with this secret over this body and timestamp."""


class StaleSignatureError(SignatureError):
    """The signature is right but its timestamp is too far from now: possibly a replay."""


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Modelmon-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of ``f"{timestamp}.".encode() + body``."""
    if not secret:
        raise ValueError("an empty secret signs nothing")
    mac = hmac.new(secret, f"{int(timestamp)}.".encode() + body, hashlib.sha256)
    return _PREFIX + mac.hexdigest()


def github_signature(secret: bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends: ``sha256=`` + hex HMAC-SHA256 of the body."""
    if not secret:
        raise ValueError("an empty secret signs nothing")
    return _PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(
    secret: bytes,
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes,
    now: float,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Check a request signed with :func:`sign`; return None when it is good.

    The signature is checked before the timestamp, so a forged request is reported as such and not as
    merely late. The comparison takes constant time.

    Raises:
        MalformedSignatureError: a header is missing or malformed.
        SignatureMismatchError: the signature does not match.
        StaleSignatureError: the timestamp is more than ``tolerance_seconds`` from ``now``, either way.
    """
    if timestamp_header is None or not _TIMESTAMP.fullmatch(timestamp_header.strip()):
        raise MalformedSignatureError(f"{TIMESTAMP_HEADER} must be Unix seconds (an integer)")
    if signature_header is None:
        raise MalformedSignatureError(f"{SIGNATURE_HEADER} is missing")
    match = _SIGNATURE.fullmatch(signature_header.strip())
    if match is None:
        raise MalformedSignatureError(f"{SIGNATURE_HEADER} must be 'sha256=' and 64 hex digits")
    timestamp = int(timestamp_header.strip())
    expected = sign(secret, timestamp, body)[len(_PREFIX) :]
    if not hmac.compare_digest(expected, match.group(1).lower()):
        raise SignatureMismatchError(f"{SIGNATURE_HEADER} does not match the body and timestamp")
    if abs(now - timestamp) > tolerance_seconds:
        raise StaleSignatureError(
            f"{TIMESTAMP_HEADER} is {abs(now - timestamp):.0f} s from now (tolerance {tolerance_seconds:.0f} s)"
        )
