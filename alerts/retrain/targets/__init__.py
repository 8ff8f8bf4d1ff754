"""Retraining targets: each turns a :class:`~alerts.retrain.trigger.Trigger` into one pipeline run.

:func:`build_target` makes the target a model's catalog entry names: a generic CloudEvents
``webhook``, a ``tekton`` EventListener, a ``kubeflow`` pipeline run, an ``argo`` workflow or a
Kubernetes ``job``. All speak HTTP through one :class:`HttpClient` (standard library only).
"""

from __future__ import annotations

from alerts.retrain.targets.argo import ArgoTarget
from alerts.retrain.targets.base import Target
from alerts.retrain.targets.credentials import Secret
from alerts.retrain.targets.factory import TARGET_TYPES, build_target
from alerts.retrain.targets.http import USER_AGENT, HttpClient, HttpResponse, raise_for_status
from alerts.retrain.targets.job import JobTarget, load_job_template
from alerts.retrain.targets.kubeflow import KubeflowTarget
from alerts.retrain.targets.payload import rfc3339, trigger_payload
from alerts.retrain.targets.signing import SignatureError, sign, verify
from alerts.retrain.targets.tekton import TektonTarget
from alerts.retrain.targets.webhook import WebhookTarget

__all__ = [
    "TARGET_TYPES",
    "USER_AGENT",
    "ArgoTarget",
    "HttpClient",
    "HttpResponse",
    "JobTarget",
    "KubeflowTarget",
    "Secret",
    "SignatureError",
    "Target",
    "TektonTarget",
    "WebhookTarget",
    "build_target",
    "load_job_template",
    "raise_for_status",
    "rfc3339",
    "sign",
    "trigger_payload",
    "verify",
]
