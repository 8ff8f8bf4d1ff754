"""A Kubernetes Job per trigger, made from a Job manifest template and created through the API server.

The Job's name is derived from the trigger id, so a retry after a lost response gets ``409 AlreadyExists``
instead of starting a second training run: that answer counts as delivered. The service-account token is
read again at every delivery, because projected tokens rotate (about hourly) in place.
"""

from __future__ import annotations

import copy
import logging
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Self

import yaml

from agent.catalog.model import RetrainingTarget
from alerts.retrain.errors import TargetConfigError
from alerts.retrain.targets import options as opts
from alerts.retrain.targets.credentials import Secret, add_bearer
from alerts.retrain.targets.http import HttpClient, raise_for_status
from alerts.retrain.targets.kube import label_value, run_name
from alerts.retrain.targets.payload import common_headers, encode_json, evidence_json
from alerts.retrain.trigger import Delivered, Trigger

__all__ = ["DEFAULT_CA_FILE", "DEFAULT_TOKEN_FILE", "JobTarget", "api_url_from_env", "load_job_template"]

logger = logging.getLogger(__name__)

_SERVICE_ACCOUNT: Final = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULT_TOKEN_FILE: Final = f"{_SERVICE_ACCOUNT}/token"
DEFAULT_CA_FILE: Final = f"{_SERVICE_ACCOUNT}/ca.crt"
_OPTIONS: Final = ("template_file", "namespace", "api_url", "token_file", "token_env")
_ID_CHARS: Final = 10


class JobTarget:
    """Creates a Job from ``template`` in ``namespace`` (None: the model's); the Job's name is the run id."""

    kind: Final = "job"

    def __init__(
        self,
        api_url: str,
        http: HttpClient,
        *,
        template: Mapping[str, Any],
        namespace: str | None = None,
        token: Secret | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.http = http
        self.template = copy.deepcopy(dict(template))
        self.namespace = namespace
        self.token = token

    @classmethod
    def from_spec(cls, spec: RetrainingTarget, *, http: HttpClient | None, env: Mapping[str, str]) -> Self:
        """Options: ``template_file`` (required), ``namespace``, ``api_url`` (else the in-cluster
        ``KUBERNETES_SERVICE_HOST``/``_PORT`` of ``env``), ``token_file`` (default: the pod's service
        account token) or ``token_env``, ``ca_file`` (default: the pod's CA, when present), ``timeout``."""
        options = spec.options
        opts.warn_unknown(options, _OPTIONS, cls.kind)
        api_url = opts.optional(options, "api_url") or api_url_from_env(env)
        if api_url is None:
            raise TargetConfigError("job target: set option 'api_url' (KUBERNETES_SERVICE_HOST is unset)")
        return cls(
            opts.require_url(api_url, cls.kind),
            opts.http_client(options, cls.kind, http, default_ca=DEFAULT_CA_FILE),
            template=load_job_template(opts.require(options, "template_file", cls.kind)),
            namespace=opts.optional(options, "namespace"),
            token=Secret.from_options(
                options, "token", env, default_file=DEFAULT_TOKEN_FILE, header_safe=True
            ),
        )

    def job_name(self, trigger: Trigger) -> str:
        """``<template name>-<first 10 of the trigger id>``: the same for every attempt, ≤ 63 characters."""
        metadata = self.template.get("metadata") or {}
        base = str(metadata.get("name") or metadata.get("generateName") or "modelmon-retrain")
        return run_name(base, trigger.id, _ID_CHARS)

    def manifest(self, trigger: Trigger, namespace: str) -> dict[str, Any]:
        """The template, named and labelled for this trigger, its containers given the trigger as env."""
        job = copy.deepcopy(self.template)
        metadata = job.setdefault("metadata", {})
        metadata.pop("generateName", None)
        metadata["name"] = self.job_name(trigger)
        metadata["namespace"] = namespace
        metadata["labels"] = (metadata.get("labels") or {}) | {
            "modelmon.io/trigger-id": label_value(trigger.id),
            "modelmon.io/model": label_value(trigger.model),
            "app.kubernetes.io/managed-by": "modelmon",
        }
        metadata["annotations"] = (metadata.get("annotations") or {}) | {"modelmon.io/reason": trigger.reason}
        variables = {
            "MODELMON_TRIGGER_ID": trigger.id,
            "MODELMON_MODEL": trigger.model,
            "MODELMON_NAMESPACE": trigger.namespace,
            "MODELMON_MODEL_VERSION": trigger.version or "",
            "MODELMON_REASON": trigger.reason,
            "MODELMON_EVIDENCE": evidence_json(trigger),
        }
        for container in job["spec"]["template"]["spec"]["containers"]:
            # Ours replace same-named ones: duplicate names are ambiguous to readers of the Job.
            kept = [
                e
                for e in container.get("env") or []
                if not isinstance(e, dict) or e.get("name") not in variables
            ]
            container["env"] = kept + [{"name": name, "value": value} for name, value in variables.items()]
        return job

    def deliver(self, trigger: Trigger) -> Delivered:
        namespace = self.namespace or trigger.namespace
        url = f"{self.api_url}/apis/batch/v1/namespaces/{urllib.parse.quote(namespace, safe='')}/jobs"
        headers = common_headers(trigger)
        redact = add_bearer(headers, self.token)
        manifest = self.manifest(trigger, namespace)
        name = manifest["metadata"]["name"]
        response = self.http.post(url, encode_json(manifest), headers)
        if response.status == 409:
            # The name is the trigger's: an earlier attempt created this Job and its answer was lost.
            logger.info("job %s/%s for trigger %s already exists", namespace, name, trigger.id)
            return Delivered(response.status, name)
        raise_for_status(response, url, redact)
        logger.info("created job %s/%s for trigger %s (%s)", namespace, name, trigger.id, trigger.identity)
        return Delivered(response.status, name)


def api_url_from_env(env: Mapping[str, str]) -> str | None:
    """The in-cluster API server, from the variables the kubelet sets in every pod; None outside one."""
    host = env.get("KUBERNETES_SERVICE_HOST")
    if not host:
        return None
    host = f"[{host}]" if ":" in host else host
    return f"https://{host}:{env.get('KUBERNETES_SERVICE_PORT', '443')}"


def load_job_template(path: str) -> dict[str, Any]:
    """A ``batch/v1`` Job manifest with at least one container and a restart policy Jobs accept.

    Raises:
        TargetConfigError: the file cannot be read or parsed, or is not such a Job.
    """

    def problem(what: str) -> TargetConfigError:
        return TargetConfigError(f"job target: option 'template_file' ({path!r}): {what}")

    try:
        manifest = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise problem(f"cannot read it: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise problem(f"not YAML: {type(exc).__name__}") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != "Job":
        raise problem("must be a manifest of kind Job")
    if manifest.get("apiVersion", "batch/v1") != "batch/v1":
        raise problem("must have apiVersion batch/v1")
    metadata = manifest.get("metadata") or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(metadata.get(key) or {}, dict) for key in ("labels", "annotations")
    ):
        raise problem("metadata, its labels and its annotations must be mappings")
    pod = _mapping(_mapping(_mapping(manifest.get("spec")).get("template")).get("spec"))
    containers = pod.get("containers")
    if not isinstance(containers, list) or not containers or not all(isinstance(c, dict) for c in containers):
        raise problem("spec.template.spec.containers must list at least one container")
    if pod.get("restartPolicy") not in ("Never", "OnFailure"):
        raise problem("spec.template.spec.restartPolicy must be Never or OnFailure")
    return manifest


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
