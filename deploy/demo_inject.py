"""What the injector does to the demo model's pod, written out for the demo (no cluster needed).

The webhook's own decision function answers an AdmissionReview for a pod of the demo model as a
Deployment would create it; the patch is applied as the API server applies it.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import jsonpatch
import yaml

from agent.catalog.model import ModelSpec
from agent.injector import CatalogEntries, InjectionDefaults, admit
from deploy.demo_model import READY_PATH

__all__ = ["write_injected_pod"]


def _pod(model: ModelSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": f"{model.name}-7d9f8b6c5-",
            "namespace": model.namespace,
            "labels": {"app.kubernetes.io/name": model.name, "app.kubernetes.io/version": model.versions[0]},
            "annotations": {"modelmon.io/inject": "true", "modelmon.io/ready-path": READY_PATH},
        },
        "spec": {
            "containers": [
                {
                    "name": "model",
                    "image": f"registry.example/{model.name}:{model.versions[0]}",
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "readinessProbe": {"httpGet": {"path": READY_PATH, "port": "http"}},
                }
            ]
        },
    }


def write_injected_pod(catalog: Path, model: ModelSpec, folder: Path) -> tuple[Path, Path]:
    """``pod.yaml`` as submitted and ``pod-injected.yaml`` as stored, in ``folder``."""
    pod = _pod(model)
    review = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "namespace": model.namespace,
            "operation": "CREATE",
            "object": pod,
        },
    }
    answer, _ = admit(review, InjectionDefaults(), CatalogEntries(catalog))
    patch = json.loads(base64.b64decode(answer["response"]["patch"]))
    folder.mkdir(parents=True, exist_ok=True)
    before, after = folder / "pod.yaml", folder / "pod-injected.yaml"
    before.write_text(yaml.safe_dump(pod, sort_keys=False))
    after.write_text(yaml.safe_dump(jsonpatch.apply_patch(pod, patch), sort_keys=False))
    return before, after
