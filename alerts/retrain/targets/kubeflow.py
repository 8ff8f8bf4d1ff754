"""Kubeflow Pipelines v2: create a run of a pipeline version through the REST API (``v2beta1``).

KFP pipeline parameters are typed, and a struct parameter would need the pipeline to declare one: the
evidence goes as a JSON string, which any pipeline can take as ``str`` and parse.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final, Self

from agent.catalog.model import RetrainingTarget
from alerts.retrain.targets import options as opts
from alerts.retrain.targets.credentials import Secret, add_bearer
from alerts.retrain.targets.http import HttpClient, raise_for_status
from alerts.retrain.targets.payload import common_headers, encode_json, evidence_json
from alerts.retrain.trigger import Delivered, Trigger

__all__ = ["RUNS_PATH", "KubeflowTarget", "dashboard_link"]

logger = logging.getLogger(__name__)

RUNS_PATH: Final = "/apis/v2beta1/runs"
_OPTIONS: Final = (
    "pipeline_id",
    "pipeline_version_id",
    "experiment_id",
    "service_account",
    "token_file",
    "token_env",
)


class KubeflowTarget:
    """Creates a KFP run; the answer's ``run_id`` becomes the delivered run id.

    Args:
        url: the KFP API base, e.g. ``http://ml-pipeline.kubeflow:8888``.
        pipeline_id: the pipeline to run; ``pipeline_version_id`` None runs its latest version.
        experiment_id, service_account: as the KFP API takes them; None leaves them to KFP's defaults.
        token: sent as ``Authorization: Bearer``.
    """

    kind: Final = "kubeflow"

    def __init__(
        self,
        url: str,
        http: HttpClient,
        *,
        pipeline_id: str,
        pipeline_version_id: str | None = None,
        experiment_id: str | None = None,
        service_account: str | None = None,
        token: Secret | None = None,
    ) -> None:
        self.url = url
        self.http = http
        self.pipeline_id = pipeline_id
        self.pipeline_version_id = pipeline_version_id
        self.experiment_id = experiment_id
        self.service_account = service_account
        self.token = token

    @classmethod
    def from_spec(cls, spec: RetrainingTarget, *, http: HttpClient | None, env: Mapping[str, str]) -> Self:
        """Options: ``pipeline_id`` (required), ``pipeline_version_id``, ``experiment_id``,
        ``service_account``, ``token_file`` or ``token_env``, ``timeout``, ``ca_file``."""
        options = spec.options
        opts.warn_unknown(options, _OPTIONS, cls.kind)
        return cls(
            opts.require_url(spec.url, cls.kind),
            opts.http_client(options, cls.kind, http),
            pipeline_id=opts.require(options, "pipeline_id", cls.kind),
            pipeline_version_id=opts.optional(options, "pipeline_version_id"),
            experiment_id=opts.optional(options, "experiment_id"),
            service_account=opts.optional(options, "service_account"),
            token=Secret.from_options(options, "token", env, header_safe=True),
        )

    def run_request(self, trigger: Trigger) -> dict[str, Any]:
        """The ``V2beta1Run`` to create; optional fields are left out rather than sent empty."""
        reference = {"pipeline_id": self.pipeline_id}
        if self.pipeline_version_id is not None:
            reference["pipeline_version_id"] = self.pipeline_version_id
        link = dashboard_link(trigger.evidence)
        run: dict[str, Any] = {
            "display_name": f"modelmon-retrain-{trigger.namespace}-{trigger.model}-{trigger.id[:8]}",
            "description": f"{trigger.reason}\n{link}" if link else trigger.reason,
            "pipeline_version_reference": reference,
            "runtime_config": {
                "parameters": {
                    "model": trigger.model,
                    "namespace": trigger.namespace,
                    "version": trigger.version or "",
                    "trigger_id": trigger.id,
                    "reason": trigger.reason,
                    "evidence": evidence_json(trigger),
                }
            },
        }
        if self.experiment_id is not None:
            run["experiment_id"] = self.experiment_id
        if self.service_account is not None:
            run["service_account"] = self.service_account
        return run

    def deliver(self, trigger: Trigger) -> Delivered:
        url = self.url + RUNS_PATH
        headers = common_headers(trigger)
        redact = add_bearer(headers, self.token)
        body = encode_json(self.run_request(trigger))
        response = raise_for_status(self.http.post(url, body, headers), url, redact)
        run_id = (response.json_object() or {}).get("run_id")
        run_id = run_id if isinstance(run_id, str) and run_id else None
        logger.info("kubeflow created run %s for trigger %s (%s)", run_id, trigger.id, trigger.identity)
        return Delivered(response.status, run_id)


def dashboard_link(evidence: Mapping[str, Any]) -> str | None:
    """The model's dashboard URL: the evidence's ``links.dashboard``, else the first alert annotation's."""
    links = evidence.get("links")
    found = links.get("dashboard") if isinstance(links, dict) else None
    if isinstance(found, str) and found:
        return found
    alerts = evidence.get("alerts")
    for alert in alerts if isinstance(alerts, list) else ():
        annotations = alert.get("annotations") if isinstance(alert, dict) else None
        found = annotations.get("dashboard_url") if isinstance(annotations, dict) else None
        if isinstance(found, str) and found:
            return found
    return None
