"""From a model's ``retraining`` entry in the catalog to a ready target."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Final

from agent.catalog.model import RetrainingTarget
from alerts.retrain.errors import TargetConfigError
from alerts.retrain.targets.argo import ArgoTarget
from alerts.retrain.targets.base import Target
from alerts.retrain.targets.http import HttpClient
from alerts.retrain.targets.job import JobTarget
from alerts.retrain.targets.kubeflow import KubeflowTarget
from alerts.retrain.targets.tekton import TektonTarget
from alerts.retrain.targets.webhook import WebhookTarget

__all__ = ["TARGET_TYPES", "build_target"]

_Builder = Callable[..., Target]
_BUILDERS: Final[dict[str, _Builder]] = {
    "webhook": WebhookTarget.from_spec,
    "tekton": TektonTarget.from_spec,
    "kubeflow": KubeflowTarget.from_spec,
    "argo": ArgoTarget.from_spec,
    "job": JobTarget.from_spec,
}
TARGET_TYPES: Final = tuple(_BUILDERS)


def build_target(
    spec: RetrainingTarget, *, http: HttpClient | None = None, env: Mapping[str, str] | None = None
) -> Target:
    """The target ``spec.type`` names, with its options checked and its secrets read now.

    Args:
        spec: the model's ``retraining`` entry.
        http: a transport to use instead of one made from the options ``timeout`` and ``ca_file``.
        env: where ``*_env`` options and the in-cluster API address are looked up; ``os.environ`` (read
            now, not at import) when None.

    Raises:
        TargetConfigError: the type is unknown, an option is missing or wrong, a secret is unreadable.
    """
    builder = _BUILDERS.get(spec.type)
    if builder is None:
        raise TargetConfigError(f"unknown retraining target type {spec.type!r}; one of {list(TARGET_TYPES)}")
    return builder(spec, http=http, env=os.environ if env is None else env)
