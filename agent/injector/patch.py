"""The JSONPatch that injects the agent into a pod (RFC 6902, as AdmissionReview v1 takes it).

Capture needs no iptables: the agent listens on its own port and forwards to the model on localhost.
The model container's named port (``http``) moves to the agent, so a Service whose ``targetPort`` is
that name reaches the agent; the model keeps its port number, and its own probes that named the
port are rewritten to the number (a probe resolves names within its container only).

The container is restricted-v2 safe (OpenShift's default SCC, and the ``restricted`` Pod Security
Standard): no user or group ids, no privilege escalation, every capability dropped, the runtime's
seccomp profile, a read-only root filesystem with emptyDirs for the spool and ``/tmp``, resources
set so a ResourceQuota admits the pod.
"""

from __future__ import annotations

import json
from typing import Any, Final

from agent.injector.annotations import STATUS, InjectionRequest
from agent.injector.defaults import InjectionDefaults

__all__ = ["AGENT_CONTAINER", "INJECTED_LABEL", "agent_container", "injection_patch"]

AGENT_CONTAINER: Final = "modelmon-agent"
INJECTED_LABEL: Final = "modelmon.io/injected"
SPOOL_VOLUME, TMP_VOLUME = "modelmon-spool", "modelmon-tmp"
SPOOL_DIR: Final = "/var/lib/modelmon"
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_VERSION: Final = "0.1.0"


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _field_env(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def agent_container(
    request: InjectionRequest, defaults: InjectionDefaults, catalog_yaml: str | None = None
) -> dict[str, Any]:
    env: list[dict[str, Any]] = [
        {"name": "MODELMON_MODEL", "value": request.model},
        {"name": "MODELMON_MODEL_VERSION", "value": request.version},
        {"name": "MODELMON_KAFKA_BOOTSTRAP", "value": defaults.kafka_bootstrap},
        {"name": "MODELMON_LISTEN_PORT", "value": str(defaults.agent_port)},
        {"name": "MODELMON_UPSTREAM_PORT", "value": str(request.port)},
        {"name": "MODELMON_ADMIN_PORT", "value": str(defaults.admin_port)},
        {"name": "MODELMON_SAMPLE_FRACTION", "value": repr(request.sample_fraction)},
        {"name": "MODELMON_SPOOL_DIR", "value": f"{SPOOL_DIR}/spool"},
        _field_env("MODELMON_POD_NAME", "metadata.name"),
        _field_env("MODELMON_POD_NAMESPACE", "metadata.namespace"),
        _field_env("MODELMON_POD_UID", "metadata.uid"),
    ]
    if request.ready_path:
        env.append({"name": "MODELMON_MODEL_READY_PATH", "value": request.ready_path})
    if catalog_yaml:
        env.append({"name": "MODELMON_CATALOG_YAML", "value": catalog_yaml})
    for item in defaults.agent_env:
        name, _, value = item.partition("=")
        env.append({"name": name, "value": value})
    admin = defaults.admin_port
    container: dict[str, Any] = {
        "name": AGENT_CONTAINER,
        "image": defaults.image,
        "imagePullPolicy": defaults.image_pull_policy,
        "command": ["modelmon-agent"],
        "ports": [
            {
                "name": request.port_name or "modelmon-proxy",
                "containerPort": defaults.agent_port,
                "protocol": "TCP",
            },
            {"name": "modelmon-admin", "containerPort": admin, "protocol": "TCP"},
        ],
        "env": env,
        "resources": {
            "requests": {"cpu": defaults.cpu_request, "memory": defaults.memory_request},
            "limits": {"cpu": defaults.cpu_limit, "memory": defaults.memory_limit},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": SPOOL_VOLUME, "mountPath": SPOOL_DIR},
            {"name": TMP_VOLUME, "mountPath": "/tmp"},  # noqa: S108 - an emptyDir of the pod's own
        ],
        # A native sidecar's startup probe holds the model's containers until the agent listens.
        "startupProbe": {
            "httpGet": {"path": "/healthz", "port": admin},
            "periodSeconds": 1,
            "failureThreshold": 60,
        },
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": admin}, "periodSeconds": 5},
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": admin},
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
    }
    if request.native:
        container["restartPolicy"] = "Always"
    return container


def _probe_ops(container: dict[str, Any], index: int, name: str, number: int) -> list[dict[str, Any]]:
    """Probes and lifecycle hooks of the model's container that name the moved port: use its number."""
    ops = []
    base = f"/spec/containers/{index}"
    handlers = [(probe, container.get(probe)) for probe in _PROBES]
    lifecycle = container.get("lifecycle") or {}
    handlers += [(f"lifecycle/{hook}", lifecycle.get(hook)) for hook in ("postStart", "preStop")]
    for path, handler in handlers:
        for kind in ("httpGet", "tcpSocket"):
            if isinstance(handler, dict) and (handler.get(kind) or {}).get("port") == name:
                ops.append({"op": "replace", "path": f"{base}/{path}/{kind}/port", "value": number})
    return ops


def injection_patch(
    pod: dict[str, Any],
    request: InjectionRequest,
    defaults: InjectionDefaults,
    catalog_yaml: str | None = None,
) -> list[dict[str, Any]]:
    spec = pod.get("spec") or {}
    container = spec["containers"][request.container]
    ops: list[dict[str, Any]] = []
    if request.port_name and request.port_index is not None:
        ops.append(
            {"op": "remove", "path": f"/spec/containers/{request.container}/ports/{request.port_index}/name"}
        )
        ops += _probe_ops(container, request.container, request.port_name, request.port)
    agent = agent_container(request, defaults, catalog_yaml)
    where = "initContainers" if request.native else "containers"
    if spec.get(where):
        ops.append({"op": "add", "path": f"/spec/{where}/-", "value": agent})
    else:
        ops.append({"op": "add", "path": f"/spec/{where}", "value": [agent]})
    volumes = [
        {"name": SPOOL_VOLUME, "emptyDir": {"sizeLimit": defaults.spool_size_limit}},
        {"name": TMP_VOLUME, "emptyDir": {"sizeLimit": "64Mi"}},
    ]
    if spec.get("volumes"):
        ops += [{"op": "add", "path": "/spec/volumes/-", "value": volume} for volume in volumes]
    else:
        ops.append({"op": "add", "path": "/spec/volumes", "value": volumes})
    status = json.dumps(
        {
            "version": _VERSION,
            "container": AGENT_CONTAINER,
            "mode": "native-sidecar" if request.native else "container",
            "model": request.model,
            "modelVersion": request.version,
            "movedPort": request.port_name,
        },
        sort_keys=True,
    )
    metadata = pod.get("metadata") or {}
    # The label the PodMonitor selects injected pods by (and nothing else's modelmon-admin port).
    if metadata.get("labels"):
        ops.append({"op": "add", "path": f"/metadata/labels/{_escape(INJECTED_LABEL)}", "value": "true"})
    else:
        ops.append({"op": "add", "path": "/metadata/labels", "value": {INJECTED_LABEL: "true"}})
    if metadata.get("annotations"):
        ops.append({"op": "add", "path": f"/metadata/annotations/{_escape(STATUS)}", "value": status})
    else:
        ops.append({"op": "add", "path": "/metadata/annotations", "value": {STATUS: status}})
    return ops
