"""The catalog entry an injected agent needs, passed as text (its pod cannot mount modelmon's ConfigMap).

The injector mounts the catalog (``modelmon-catalog``) and gives each injected agent its model's
entry with the catalog's ``defaults``, as ``MODELMON_CATALOG_YAML``: the features and outputs it
types captured rows with. Without an entry, the agent captures calls as metadata only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from agent.catalog.load import parse_catalog
from agent.injector.watched import WatchedFile

__all__ = ["CatalogEntries"]

# What the agent does not use: references and retraining targets stay with the aggregator and the service.
_LEFT_OUT = ("reference", "references", "retraining")


def _entries(text: str, where: str) -> dict[str, str]:
    parse_catalog(text, Path(where))  # the whole catalog must be valid
    doc: dict[str, Any] = yaml.safe_load(text) or {}
    found = {}
    for model in doc.get("models") or []:
        entry = {k: v for k, v in model.items() if k not in _LEFT_OUT}
        single = {k: v for k, v in doc.items() if k != "models"} | {"models": [entry]}
        found[f"{model['namespace']}/{model['name']}"] = yaml.safe_dump(single, sort_keys=False)
    return found


class CatalogEntries:
    """Per model identity, its one-model catalog as YAML; re-read when the mounted file changes."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file = WatchedFile(path, _entries) if path is not None else None

    @property
    def configured(self) -> bool:
        return self._file is not None

    def text_for(self, identity: str) -> str | None:
        return self._file.current().get(identity) if self._file is not None else None
