"""A server TLS context that follows its certificate files: rotation without a restart.

cert-manager and OpenShift's service CA rewrite a mounted Secret in place before the certificate
expires. Each new connection asks :meth:`ReloadingTLS.context`, which re-reads the files when their
modification time, size or inode changed. A half-written pair that fails to load keeps the previous
context (and is retried at the next connection), so a rotation never takes the server down.
"""

from __future__ import annotations

import logging
import ssl
import threading
from pathlib import Path

from agent.errors import ConfigError

__all__ = ["ReloadingTLS"]

log = logging.getLogger(__name__)


def _stamp(path: Path) -> tuple[int, int, int]:
    status = path.stat()  # follows the ..data symlink of a mounted Secret
    return status.st_mtime_ns, status.st_size, status.st_ino


class ReloadingTLS:
    def __init__(self, cert_file: Path, key_file: Path) -> None:
        self.cert_file, self.key_file = cert_file, key_file
        self._lock = threading.Lock()
        try:
            self._stamps = (_stamp(cert_file), _stamp(key_file))
            self._context = self._load()
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot load the TLS certificate {cert_file} or key {key_file}: {exc}"
            ) from exc
        self.reloads = 0

    def _load(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def context(self) -> ssl.SSLContext:
        """The context for a new connection: reloaded first if the files changed since."""
        with self._lock:
            try:
                stamps = (_stamp(self.cert_file), _stamp(self.key_file))
            except OSError as exc:  # mid-rotation: the old files are gone, the new not there yet
                log.warning("TLS files unreadable (%s); keeping the current certificate", exc)
                return self._context
            if stamps != self._stamps:
                try:
                    self._context = self._load()
                except (OSError, ssl.SSLError) as exc:
                    log.warning("new TLS files do not load yet (%s); keeping the current certificate", exc)
                    return self._context
                self._stamps = stamps
                self.reloads += 1
                log.info("reloaded the TLS certificate %s", self.cert_file)
            return self._context
