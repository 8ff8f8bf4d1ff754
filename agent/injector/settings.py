"""Settings of ``modelmon inject serve`` (built in ``deploy.config`` from YAML and ``MODELMON_INJECTOR_*``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["InjectorSettings"]


@dataclass(frozen=True, slots=True)
class InjectorSettings:
    """Attributes:
    host, port: where the webhook listens (HTTPS only; above 1024, so no capability is needed).
    cert_file, key_file: the serving certificate and key, from a mounted Secret (cert-manager's,
        or OpenShift's service CA); reloaded when they change.
    defaults_file: the mounted ConfigMap of injection defaults (see ``InjectionDefaults``); None:
        the built-in defaults.
    catalog_file: the mounted model catalog; each injected agent gets its model's entry. None:
        agents capture calls as metadata only.
    """

    host: str = "0.0.0.0"
    port: int = 8443
    cert_file: Path = Path("/etc/modelmon/tls/tls.crt")
    key_file: Path = Path("/etc/modelmon/tls/tls.key")
    defaults_file: Path | None = None
    catalog_file: Path | None = None
