"""Secrets named by a target's options: ``<name>_file`` (a mounted Secret) or ``<name>_env``.

A secret is read once when the target is built, so that a wrong path fails at start-up with a
:class:`TargetConfigError`; a file is read again at each delivery, because mounted Secrets and projected
service-account tokens rotate in place. Neither the value nor its length appears in messages or ``repr``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from alerts.retrain.errors import DeliveryError, TargetConfigError

__all__ = ["Secret", "add_bearer"]

logger = logging.getLogger(__name__)

# What a bearer token may hold: printable ASCII, no spaces (anything else would break the header).
_HEADER_SAFE: Final = re.compile(rb"[\x21-\x7e]+")


class Secret:
    """One secret and where it comes from. Build it with :meth:`from_options`."""

    __slots__ = ("_path", "_value", "header_safe", "option")

    def __init__(
        self, option: str, *, value: bytes, path: str | None = None, header_safe: bool = False
    ) -> None:
        self.option = option
        self.header_safe = header_safe
        self._value = _checked(value, option, header_safe, TargetConfigError) if value else value
        self._path = path

    def __repr__(self) -> str:
        return f"Secret(option={self.option!r})"

    @classmethod
    def from_options(
        cls,
        options: Mapping[str, str],
        name: str,
        env: Mapping[str, str],
        *,
        default_file: str | None = None,
        header_safe: bool = False,
    ) -> Secret | None:
        """The secret of options ``<name>_file`` or ``<name>_env``; ``default_file`` when neither is set.

        ``header_safe`` (bearer tokens) refuses anything but printable ASCII without spaces, which would
        break the header or smuggle another one in. Returns None when no option and no default is given:
        the target then sends no credential.

        Raises:
            TargetConfigError: both options are set, or the file or variable is missing or empty.
        """
        file_option, env_option = f"{name}_file", f"{name}_env"
        if file_option in options and env_option in options:
            raise TargetConfigError(f"set one of options {file_option!r} and {env_option!r}, not both")
        if env_option in options:
            variable = options[env_option]
            value = env.get(variable, "").strip().encode()
            if not value:
                raise TargetConfigError(
                    f"option {env_option!r}: environment variable {variable!r} is unset or empty"
                )
            return cls(env_option, value=value, header_safe=header_safe)
        path = options.get(file_option, default_file)
        if path is None:
            return None
        secret = cls(file_option, value=b"", path=path, header_safe=header_safe)
        secret._value = secret._read_file(TargetConfigError)
        return secret

    def read(self) -> bytes:
        """The current value: the file read again, or the variable's value from build time.

        Raises:
            DeliveryError: retryable, when the file cannot be read now (it may be mid-rotation).
        """
        if self._path is None:
            return self._value
        self._value = self._read_file(DeliveryError)
        return self._value

    def _read_file(self, error: type[TargetConfigError] | type[DeliveryError]) -> bytes:
        assert self._path is not None
        try:
            value = Path(self._path).read_bytes().strip()
        except OSError as exc:
            # strerror only: the path is the configured one, the rest is the OS's reason.
            raise error(f"option {self.option!r}: cannot read {self._path!r}: {exc.strerror}") from None
        if not value:
            raise error(f"option {self.option!r}: {self._path!r} is empty")
        return _checked(value, self.option, self.header_safe, error)


def add_bearer(headers: dict[str, str], token: Secret | None) -> tuple[bytes, ...]:
    """Set ``Authorization: Bearer`` from ``token`` (when there is one); returns the values to redact."""
    if token is None:
        return ()
    value = token.read()
    headers["Authorization"] = "Bearer " + value.decode("ascii")
    return (value,)


def _checked(
    value: bytes, option: str, header_safe: bool, error: type[TargetConfigError] | type[DeliveryError]
) -> bytes:
    if header_safe and not _HEADER_SAFE.fullmatch(value):
        raise error(f"option {option!r}: the secret must be printable ASCII without spaces")
    return value
