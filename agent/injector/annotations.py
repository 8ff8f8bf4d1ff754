"""What a pod asks for, in its annotations; problems are collected, never raised one at a time.

=================================  =======================================================================
``modelmon.io/inject``             ``"true"`` to inject (with the namespace label ``modelmon.io/injection:
                                   enabled``); ``"false"`` wins over everything
``modelmon.io/model``              ``namespace/name`` or ``name`` (the pod's namespace); default: the
                                   label ``app.kubernetes.io/name``, else ``app``
``modelmon.io/version``            default: the label ``app.kubernetes.io/version``, else ``default``
``modelmon.io/container``          the model's container; default: the pod's
                                   ``kubectl.kubernetes.io/default-container``, else the first that is
                                   no known proxy sidecar (``istio-proxy``, ``linkerd-proxy``, …)
``modelmon.io/model-port``         the model's port, a name or a number; default: the port named
                                   ``http``, else the container's first port
``modelmon.io/ready-path``         the model's readiness path (the agent's ``/readyz`` follows it)
``modelmon.io/sample-fraction``    the share of calls captured, 0 to 1
``modelmon.io/native-sidecar``     ``"false"``: an ordinary container (clusters before 1.29)
=================================  =======================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from agent.injector.defaults import InjectionDefaults

__all__ = ["ANNOTATIONS", "INJECT", "STATUS", "InjectionRequest", "InvalidAnnotations", "read_request"]

INJECT: Final = "modelmon.io/inject"
STATUS: Final = "modelmon.io/status"
_MODEL, _VERSION, _CONTAINER = "modelmon.io/model", "modelmon.io/version", "modelmon.io/container"
_PORT, _READY, _SAMPLE = "modelmon.io/model-port", "modelmon.io/ready-path", "modelmon.io/sample-fraction"
_NATIVE: Final = "modelmon.io/native-sidecar"
ANNOTATIONS: Final = (INJECT, STATUS, _MODEL, _VERSION, _CONTAINER, _PORT, _READY, _SAMPLE, _NATIVE)

_DEFAULT_CONTAINER: Final = "kubectl.kubernetes.io/default-container"
# Sidecars other injectors put first; never the model.
_PROXIES: Final = frozenset(
    {"istio-proxy", "linkerd-proxy", "vault-agent", "dapr-sidecar", "envoy", "oauth-proxy"}
)
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_VERSION_RE = re.compile(r"^[A-Za-z0-9._-]{1,63}$")
_PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$")  # IANA_SVC_NAME
_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


class InvalidAnnotations(ValueError):  # noqa: N818 - a set of problems, each a sentence
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class InjectionRequest:
    """A pod's validated request.

    Attributes:
        model: ``namespace/name``.
        container: index of the model's container in ``spec.containers``.
        port_index: index of the model's port in that container's ``ports``, or None when the port
            is a number the container does not declare.
        port: the model's port number on localhost.
        port_name: its name, which moves to the agent (None: nothing to move).
    """

    model: str
    version: str
    container: int
    port_index: int | None
    port: int
    port_name: str | None
    ready_path: str | None
    sample_fraction: float
    native: bool


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    text = value.strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def opted_out(pod: dict[str, Any]) -> bool:
    return _flag((pod.get("metadata", {}).get("annotations") or {}).get(INJECT)) is False


def read_request(pod: dict[str, Any], namespace: str, defaults: InjectionDefaults) -> InjectionRequest:
    """The pod's request; raises :class:`InvalidAnnotations` listing every problem found."""
    metadata = pod.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    labels = metadata.get("labels") or {}
    problems: list[str] = []
    if _flag(annotations.get(INJECT)) is None:
        problems.append(f'{INJECT} must be "true" or "false", not {annotations.get(INJECT)!r}')

    model = annotations.get(_MODEL) or labels.get("app.kubernetes.io/name") or labels.get("app")
    identity = ""
    if not model:
        problems.append(f"{_MODEL} is missing (and the pod has no app.kubernetes.io/name or app label)")
    else:
        model_namespace, _, name = model.rpartition("/")
        model_namespace = model_namespace or namespace
        if not (_DNS_LABEL.match(model_namespace) and _DNS_LABEL.match(name)):
            problems.append(f"{_MODEL} must be namespace/name or name (DNS-1123 labels), not {model!r}")
        identity = f"{model_namespace}/{name}"
    version = annotations.get(_VERSION) or labels.get("app.kubernetes.io/version") or "default"
    if not _VERSION_RE.match(version):
        problems.append(f"{_VERSION} must be 1 to 63 of [A-Za-z0-9._-], not {version!r}")

    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    if not containers:
        problems.append("the pod has no containers")
        raise InvalidAnnotations(problems)
    names = [c.get("name") for c in containers]
    index = next((i for i, name in enumerate(names) if name not in _PROXIES), 0)
    wanted = annotations.get(_CONTAINER) or annotations.get(_DEFAULT_CONTAINER)
    if wanted is not None:
        if wanted not in names:
            problems.append(f"{_CONTAINER} names no container of the pod ({names}): {wanted!r}")
        else:
            index = names.index(wanted)
    if (spec.get("securityContext") or {}).get("runAsUser") == 0:
        problems.append("the pod runs as root (runAsUser: 0), which the agent (runAsNonRoot) cannot share")
    port_index, port, port_name = _port(containers[index], annotations.get(_PORT), problems)

    ready = annotations.get(_READY)
    if ready is not None and not ready.startswith("/"):
        problems.append(f"{_READY} must be a path starting with '/', not {ready!r}")
    sample = defaults.sample_fraction
    if _SAMPLE in annotations:
        try:
            sample = float(annotations[_SAMPLE])
        except ValueError:
            sample = -1.0
        if not 0.0 <= sample <= 1.0:
            problems.append(f"{_SAMPLE} must be a number from 0 to 1, not {annotations[_SAMPLE]!r}")
    native = defaults.native_sidecar
    if _NATIVE in annotations:
        flag = _flag(annotations[_NATIVE])
        if flag is None:
            problems.append(f'{_NATIVE} must be "true" or "false", not {annotations[_NATIVE]!r}')
        else:
            native = flag
    every = containers + (spec.get("initContainers") or [])
    taken = {p.get("containerPort") for c in every for p in c.get("ports") or []}
    if defaults.agent_port == defaults.admin_port:
        problems.append(f"the injector's defaults give the agent one port ({defaults.agent_port}) twice")
    for name, value in (("agent_port", defaults.agent_port), ("admin_port", defaults.admin_port)):
        if value in taken or value == port:
            problems.append(
                f"the pod already uses port {value}, the agent's {name}: change it in the defaults"
            )
    if problems:
        raise InvalidAnnotations(problems)
    return InjectionRequest(identity, version, index, port_index, port, port_name, ready, sample, native)


def _port(
    container: dict[str, Any], wanted: str | None, problems: list[str]
) -> tuple[int | None, int, str | None]:
    ports = container.get("ports") or []
    if wanted is None:
        for i, declared in enumerate(ports):
            if declared.get("name") == "http":
                return i, int(declared["containerPort"]), "http"
        if ports:
            return 0, int(ports[0]["containerPort"]), ports[0].get("name")
        problems.append(f"the model's container declares no port: set {_PORT}")
        return None, 0, None
    if wanted.isdigit():
        number = int(wanted)
        if not 0 < number < 65536:
            problems.append(f"{_PORT} must be 1 to 65535, not {wanted}")
        for i, declared in enumerate(ports):
            if declared.get("containerPort") == number:
                return i, number, declared.get("name")
        return None, number, None
    if not _PORT_NAME.match(wanted):
        problems.append(f"{_PORT} must be a port name or number, not {wanted!r}")
        return None, 0, None
    for i, declared in enumerate(ports):
        if declared.get("name") == wanted:
            return i, int(declared["containerPort"]), wanted
    problems.append(f"the model's container has no port named {wanted!r}")
    return None, 0, None
