"""AdmissionReview v1 in, AdmissionReview v1 out: decide, and patch when injecting.

The injector never blocks a pod: every path answers ``allowed: true``. Pods it does not inject get
no patch, and, when that is because of a mistake in their annotations, a warning ``kubectl`` shows.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any, Final

from agent.injector.annotations import INJECT, STATUS, InvalidAnnotations, opted_out, read_request
from agent.injector.catalog_entry import CatalogEntries
from agent.injector.defaults import InjectionDefaults
from agent.injector.patch import AGENT_CONTAINER, injection_patch

__all__ = ["OUTCOMES", "ReviewError", "admit"]

log = logging.getLogger(__name__)

# What became of a review (the ``outcome`` label of the injector's counter).
OUTCOMES: Final = (
    "injected",
    "not_requested",
    "opted_out",
    "already_injected",
    "skipped_namespace",
    "host_network",
    "invalid",
    "not_a_pod",
    "error",
)


class ReviewError(ValueError):
    """The body is not an AdmissionReview v1 (answered 400: the API server sent something else)."""


def _response(uid: str, warnings: list[str], patch: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"uid": uid, "allowed": True}
    if warnings:
        response["warnings"] = [w[:250] for w in warnings]
    if patch is not None:
        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(json.dumps(patch).encode()).decode()
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}


def admit(
    review: Any, defaults: InjectionDefaults, catalog: CatalogEntries | None = None
) -> tuple[dict[str, Any], str]:
    """The answer to ``review`` and its outcome. Raises :class:`ReviewError` if it is no AdmissionReview."""
    if not isinstance(review, dict) or review.get("kind") != "AdmissionReview":
        raise ReviewError("expected an AdmissionReview")
    if review.get("apiVersion") != "admission.k8s.io/v1":
        raise ReviewError(f"expected admission.k8s.io/v1, not {review.get('apiVersion')!r}")
    request = review.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("uid"), str):
        raise ReviewError("the AdmissionReview has no request with a uid")
    uid = request["uid"]
    try:
        return _decide(request, defaults, catalog or CatalogEntries(None))
    except Exception:  # a bug of ours must not block the pod (nor, with failurePolicy Ignore, need to)
        log.exception("review %s failed; admitting the pod without injection", uid)
        return _response(
            uid, ["modelmon: the injector failed; the pod is admitted without the agent"]
        ), "error"


def _decide(
    request: dict[str, Any], defaults: InjectionDefaults, catalog: CatalogEntries
) -> tuple[dict[str, Any], str]:
    uid = request["uid"]
    kind = (request.get("kind") or {}).get("kind")
    pod = request.get("object")
    if kind != "Pod" or request.get("operation") != "CREATE" or not isinstance(pod, dict):
        return _response(uid, []), "not_a_pod"
    metadata = pod.get("metadata") or {}
    namespace = request.get("namespace") or metadata.get("namespace") or ""
    annotations = metadata.get("annotations") or {}
    spec = pod.get("spec") or {}
    if defaults.skips(namespace):
        return _response(uid, []), "skipped_namespace"
    names = {c.get("name") for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])}
    if STATUS in annotations or AGENT_CONTAINER in names:
        return _response(uid, []), "already_injected"  # reinvocation, or a copy of an injected pod
    if opted_out(pod):
        return _response(uid, []), "opted_out"
    if INJECT not in annotations:
        return _response(uid, []), "not_requested"
    if spec.get("hostNetwork"):
        warning = "modelmon: not injected: hostNetwork pods share the node's ports"
        return _response(uid, [warning]), "host_network"
    try:
        wanted = read_request(pod, namespace, defaults)
    except InvalidAnnotations as exc:
        return _response(uid, [f"modelmon: not injected: {problem}" for problem in exc.problems]), "invalid"
    warnings = []
    if wanted.port_name is None:
        warnings.append(
            f"modelmon: the model's port {wanted.port} has no name: Services that target it bypass the "
            f"agent; target port {defaults.agent_port} (or name the model's port)"
        )
    entry = catalog.text_for(wanted.model)
    if entry is None and catalog.configured:
        warnings.append(
            f"modelmon: {wanted.model} is not in the catalog: its calls are captured as metadata only"
        )
    log.info("injecting the agent into a pod of %s (%s %s)", namespace, wanted.model, wanted.version)
    return _response(uid, warnings, injection_patch(pod, wanted, defaults, entry)), "injected"
