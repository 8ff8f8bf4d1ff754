"""What an injected sidecar gets unless the pod's annotations say otherwise: read from a ConfigMap.

The injector's Deployment mounts the ConfigMap ``modelmon-injector`` as a YAML file; it is re-read
when it changes, so a new default (an image, a Kafka address) applies to the next pod admitted.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agent.errors import ConfigError
from agent.injector.watched import WatchedFile

__all__ = ["DefaultsFile", "InjectionDefaults", "parse_defaults"]

log = logging.getLogger(__name__)

_ENV_NAME = re.compile(r"^(MODELMON|OTEL)_[A-Z0-9_]+$")


@dataclass(frozen=True, slots=True)
class InjectionDefaults:
    """Attributes:
    image, image_pull_policy: the modelmon image (its ``modelmon-agent`` entry point runs the agent).
    kafka_bootstrap: the Kafka the agents publish to (``host:port``, comma-separated).
    agent_port: where the agent listens for the model's traffic (the model's named port moves here).
    admin_port: the agent's ``/metrics``, ``/healthz`` and ``/readyz``.
    native_sidecar: inject as a native sidecar (an init container with ``restartPolicy: Always``,
        Kubernetes 1.29+), so Jobs finish; false: an ordinary container, for older clusters.
    sample_fraction: the share of calls captured.
    cpu_request, memory_request, cpu_limit, memory_limit: the agent container's resources (a
        ResourceQuota refuses pods whose containers lack them).
    spool_size_limit: the emptyDir holding the agent's disk spool.
    skip_namespaces: never injected, whatever their labels; a trailing ``*`` matches a prefix.
    agent_env: more settings of every agent, ``NAME=value`` with ``MODELMON_*`` or ``OTEL_*`` names
        (e.g. ``MODELMON_KAFKA_SECURITY_PROTOCOL=SSL``, ``MODELMON_TRACING_EXPORTER=otlp``). Not for
        secrets: they would be readable in every pod's spec.
    """

    image: str = "quay.io/modelmon/modelmon:0.1.0"
    image_pull_policy: str = "IfNotPresent"
    kafka_bootstrap: str = "modelmon-kafka-bootstrap.modelmon.svc:9092"
    agent_port: int = 8180
    admin_port: int = 9180
    native_sidecar: bool = True
    sample_fraction: float = 1.0
    cpu_request: str = "50m"
    memory_request: str = "128Mi"
    cpu_limit: str = "1"
    memory_limit: str = "256Mi"
    spool_size_limit: str = "1Gi"
    skip_namespaces: tuple[str, ...] = (
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "openshift",
        "openshift-*",
        "modelmon",
    )
    agent_env: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for item in self.agent_env:
            name, equals, _ = item.partition("=")
            if not equals or not _ENV_NAME.match(name):
                raise ValueError(f"agent_env takes NAME=value with a MODELMON_* or OTEL_* name, not {item!r}")
        if self.agent_port == self.admin_port:
            raise ValueError(f"agent_port and admin_port are both {self.agent_port}")

    def skips(self, namespace: str) -> bool:
        return any(
            namespace.startswith(pattern[:-1]) if pattern.endswith("*") else namespace == pattern
            for pattern in self.skip_namespaces
        )


def _converted(field: dataclasses.Field[Any], value: Any) -> Any:
    default = field.default
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a list of strings")
        return tuple(value)
    kind: type[Any] = type(default)
    return kind(value)


def parse_defaults(text: str, where: str = "the injector defaults") -> InjectionDefaults:
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping")
    fields = {f.name: f for f in dataclasses.fields(InjectionDefaults)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(fields)}")
    values = {}
    for key, value in raw.items():
        try:
            values[key] = _converted(fields[key], value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {key}: {exc}") from exc
    try:
        return InjectionDefaults(**values)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


class DefaultsFile:
    """The defaults of a mounted ConfigMap, re-read when it changes; None: the built-in defaults."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file = WatchedFile(path, parse_defaults) if path is not None else None

    def current(self) -> InjectionDefaults:
        return self._file.current() if self._file is not None else InjectionDefaults()
