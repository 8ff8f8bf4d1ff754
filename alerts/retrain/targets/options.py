"""Reading a target's ``options`` (all strings, from the catalog) into checked values.

Every problem is a :class:`TargetConfigError` raised while the target is built, so that a typo in a model
catalog stops the service at start-up rather than at the first alert, days later.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Collection, Mapping
from pathlib import Path

from alerts.retrain.errors import TargetConfigError
from alerts.retrain.targets.http import DEFAULT_TIMEOUT, HttpClient

__all__ = ["http_client", "optional", "require", "require_url", "timeout", "warn_unknown"]

logger = logging.getLogger(__name__)

# Options every target understands.
COMMON_OPTIONS = frozenset({"timeout", "ca_file"})


def require(options: Mapping[str, str], key: str, kind: str) -> str:
    value = options.get(key, "").strip()
    if not value:
        raise TargetConfigError(f"{kind} target: option {key!r} is required")
    return value


def optional(options: Mapping[str, str], key: str) -> str | None:
    """The option's value, or None when it is absent or blank."""
    value = options.get(key, "").strip()
    return value or None


def require_url(url: str | None, kind: str) -> str:
    if not url or not url.startswith(("http://", "https://")):
        raise TargetConfigError(f"{kind} target: 'url' must be an http:// or https:// URL")
    return url.rstrip("/")


def timeout(options: Mapping[str, str], kind: str) -> float:
    raw = options.get("timeout")
    if raw is None:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw.strip().removesuffix("s"))
    except ValueError:
        value = -1.0
    if not 0 < value <= 600:
        raise TargetConfigError(f"{kind} target: option 'timeout' must be seconds in (0, 600], got {raw!r}")
    return value


def http_client(
    options: Mapping[str, str], kind: str, given: HttpClient | None, *, default_ca: str | None = None
) -> HttpClient:
    """``given`` when the caller passed a client (it brings its own timeout and CA), else one from options.

    ``default_ca`` is used only when that file exists (the in-cluster CA, absent outside a pod).
    """
    if given is not None:
        return given
    ca_file = optional(options, "ca_file")
    if ca_file is None and default_ca is not None and Path(default_ca).is_file():
        ca_file = default_ca
    try:
        return HttpClient(timeout=timeout(options, kind), ca_file=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise TargetConfigError(
            f"{kind} target: option 'ca_file': cannot load {ca_file!r}: {type(exc).__name__}"
        ) from None


def warn_unknown(options: Mapping[str, str], known: Collection[str], kind: str) -> None:
    """Log options this target ignores: most likely a typo, but the catalog may serve other readers too."""
    unknown = sorted(set(options) - set(known) - COMMON_OPTIONS)
    if unknown:
        logger.warning("%s target ignores unknown options %s", kind, unknown)
