"""Kubernetes naming rules, for the names and labels the job and argo targets derive from a trigger."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MAX_NAME", "dns1123_label", "label_value"]

MAX_NAME: Final = 63
_NOT_DNS: Final = re.compile(r"[^a-z0-9-]+")
_NOT_LABEL: Final = re.compile(r"[^A-Za-z0-9_.-]+")


def dns1123_label(name: str, limit: int = MAX_NAME) -> str:
    """``name`` as an RFC 1123 label: lower-case alphanumerics and ``-``, alphanumeric at both ends."""
    cleaned = _NOT_DNS.sub("-", name.lower())[:limit].strip("-")
    return cleaned or "x"


def label_value(value: str) -> str:
    """``value`` as a label value: at most 63 of ``[A-Za-z0-9_.-]``, alphanumeric at both ends."""
    cleaned = _NOT_LABEL.sub("-", value)[:MAX_NAME]
    return cleaned.strip("-_.")


def run_name(base: str, trigger_id: str, id_chars: int = 10) -> str:
    """``<base>-<first characters of the trigger id>``, a DNS-1123 name: the same for every attempt, so a
    retry after a lost answer gets ``409 AlreadyExists`` instead of starting a second run."""
    suffix = dns1123_label(trigger_id[:id_chars])
    return f"{dns1123_label(base, MAX_NAME - len(suffix) - 1)}-{suffix}"
