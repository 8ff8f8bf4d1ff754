"""Stable addresses derived from the catalog: dashboard uids and the runbooks.

The dashboard generator names its dashboards with these uids and the alert generator links to them,
so an alert's ``dashboard_url`` opens the dashboard generated from the same catalog. Both generators
sit on one layer and may not import each other; the catalog is what they share.
"""

from __future__ import annotations

import hashlib
from typing import Final

from agent.catalog.model import ModelSpec

__all__ = ["FLEET_UID", "PIPELINE_UID", "RUNBOOKS", "model_dashboard_uid", "stable_uid"]

RUNBOOKS: Final = "https://github.com/modelmon/modelmon/blob/main/docs/runbooks.md"


def stable_uid(*parts: str) -> str:
    """A Grafana uid (≤ 40 characters) that depends only on ``parts``: re-generation keeps links."""
    readable = "-".join(p.replace("/", "-") for p in parts)[:28]
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:10]
    return f"{readable}-{digest}"


def model_dashboard_uid(model: ModelSpec) -> str:
    return stable_uid("modelmon-model", model.identity)


FLEET_UID: Final = stable_uid("modelmon-fleet")
PIPELINE_UID: Final = stable_uid("modelmon-pipeline")
