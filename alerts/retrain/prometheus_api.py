"""Instant queries against Prometheus's HTTP API (standard library only)."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

__all__ = ["query_prometheus"]


def query_prometheus(base_url: str, promql: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Evaluate an instant query on the Prometheus at ``base_url``; raises on a query error."""
    url = f"{base_url.rstrip('/')}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - an operator-set URL
        body = json.load(response)
    if body.get("status") != "success":
        raise RuntimeError(f"query {promql!r} failed: {body}")
    return list(body["data"]["result"])
