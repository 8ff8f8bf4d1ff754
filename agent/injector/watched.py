"""A mounted file parsed once per change: ConfigMaps update in place (through a ``..data`` symlink)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from agent.errors import ConfigError

__all__ = ["WatchedFile"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class WatchedFile(Generic[T]):
    """``current()`` is the file parsed by ``parse``; re-parsed when its mtime or inode changed. A
    change that fails to parse keeps the previous value (logged); a file that never parsed raises."""

    def __init__(self, path: Path, parse: Callable[[str, str], T]) -> None:
        self.path = path
        self._parse = parse
        self._stamp: tuple[int, int] | None = None
        self._value: T | None = None
        self.current()  # a broken file fails at start

    def current(self) -> T:
        try:
            status = self.path.stat()
            stamp = (status.st_mtime_ns, status.st_ino)
            if stamp != self._stamp:
                self._value = self._parse(self.path.read_text(encoding="utf-8"), str(self.path))
                self._stamp = stamp
        except (OSError, ConfigError) as exc:
            if self._value is None:
                raise ConfigError(f"cannot use {self.path}: {exc}") from exc
            log.warning("keeping the previous %s: %s", self.path, exc)
        assert self._value is not None
        return self._value
