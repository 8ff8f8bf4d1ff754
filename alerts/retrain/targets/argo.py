"""Argo Workflows: submit a (Cluster)WorkflowTemplate through the Argo Server's REST API.

``submit`` instantiates the template with parameters, as ``argo submit --from`` does; the labels let
``argo list -l modelmon.io/trigger-id=...`` find the workflow of a trigger.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Mapping
from typing import Any, Final, Self

from agent.catalog.model import RetrainingTarget
from alerts.retrain.errors import TargetConfigError
from alerts.retrain.targets import options as opts
from alerts.retrain.targets.credentials import Secret, add_bearer
from alerts.retrain.targets.http import HttpClient, raise_for_status
from alerts.retrain.targets.kube import label_value, run_name
from alerts.retrain.targets.payload import common_headers, encode_json, evidence_json
from alerts.retrain.trigger import Delivered, Trigger

__all__ = ["RESOURCE_KINDS", "ArgoTarget"]

logger = logging.getLogger(__name__)

RESOURCE_KINDS: Final = ("WorkflowTemplate", "ClusterWorkflowTemplate")
_OPTIONS: Final = ("template", "namespace", "resource_kind", "token_file", "token_env")


class ArgoTarget:
    """Submits ``template`` in ``namespace`` (None: the model's); the Workflow's name is the run id.

    Args:
        url: the Argo Server, e.g. ``https://argo-server.argo:2746``.
        template: the (Cluster)WorkflowTemplate's name.
        resource_kind: ``WorkflowTemplate`` or ``ClusterWorkflowTemplate``.
        token: sent as ``Authorization: Bearer`` (Argo Server's ``client`` auth mode).
    """

    kind: Final = "argo"

    def __init__(
        self,
        url: str,
        http: HttpClient,
        *,
        template: str,
        namespace: str | None = None,
        resource_kind: str = "WorkflowTemplate",
        token: Secret | None = None,
    ) -> None:
        if resource_kind not in RESOURCE_KINDS:
            raise TargetConfigError(
                f"argo target: option 'resource_kind' must be one of {list(RESOURCE_KINDS)}"
            )
        self.url = url
        self.http = http
        self.template = template
        self.namespace = namespace
        self.resource_kind = resource_kind
        self.token = token

    @classmethod
    def from_spec(cls, spec: RetrainingTarget, *, http: HttpClient | None, env: Mapping[str, str]) -> Self:
        """Options: ``template`` (required), ``namespace``, ``resource_kind``, ``token_file`` or
        ``token_env``, ``timeout``, ``ca_file``."""
        options = spec.options
        opts.warn_unknown(options, _OPTIONS, cls.kind)
        return cls(
            opts.require_url(spec.url, cls.kind),
            opts.http_client(options, cls.kind, http),
            template=opts.require(options, "template", cls.kind),
            namespace=opts.optional(options, "namespace"),
            resource_kind=opts.optional(options, "resource_kind") or "WorkflowTemplate",
            token=Secret.from_options(options, "token", env, header_safe=True),
        )

    def submit_request(self, trigger: Trigger, namespace: str) -> dict[str, Any]:
        """The ``WorkflowSubmitRequest``; parameters are ``name=value`` strings, as the API takes them.

        The ``namespace`` parameter is the model's, so the workflow knows which model to retrain even when
        it runs in another namespace than the model.
        """
        labels = {"modelmon.io/trigger-id": trigger.id, "modelmon.io/model": trigger.model}
        return {
            "namespace": namespace,
            "resourceKind": self.resource_kind,
            "resourceName": self.template,
            "submitOptions": {
                "name": run_name(self.template, trigger.id),
                "labels": ",".join(f"{key}={label_value(value)}" for key, value in labels.items()),
                "parameters": [
                    f"model={trigger.model}",
                    f"namespace={trigger.namespace}",  # the model's, not the workflow's
                    f"version={trigger.version or ''}",
                    f"trigger_id={trigger.id}",
                    f"reason={trigger.reason}",
                    f"evidence={evidence_json(trigger)}",
                ],
            },
        }

    def deliver(self, trigger: Trigger) -> Delivered:
        namespace = self.namespace or trigger.namespace
        url = f"{self.url}/api/v1/workflows/{urllib.parse.quote(namespace, safe='')}/submit"
        headers = common_headers(trigger)
        redact = add_bearer(headers, self.token)
        body = encode_json(self.submit_request(trigger, namespace))
        response = self.http.post(url, body, headers)
        if response.status == 409:
            # The workflow's name is the trigger's: an earlier attempt submitted it and its answer was lost.
            existing = run_name(self.template, trigger.id)
            logger.info("argo workflow %s for trigger %s already exists", existing, trigger.id)
            return Delivered(response.status, existing)
        raise_for_status(response, url, redact)
        metadata = (response.json_object() or {}).get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        run_id = name if isinstance(name, str) and name else None
        logger.info("argo submitted workflow %s for trigger %s (%s)", run_id, trigger.id, trigger.identity)
        return Delivered(response.status, run_id)
