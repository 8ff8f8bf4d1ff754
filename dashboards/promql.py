"""PromQL built from the metric catalog: a metric's name is never typed here, only its spec used.

Selectors take the dashboards' template variables: ``$namespace``, ``$model`` (exact) and
``$version`` (a regex, so "All" works). ``$__rate_interval`` is Grafana's own.
"""

from __future__ import annotations

from agent import metric_catalog as mc
from agent.metric_catalog import MetricSpec, selector

__all__ = ["IDENTITY", "MODEL", "WHOLE", "histogram_quantile", "rate", "select"]

MODEL = {"namespace": "$namespace", "model": "$model", "version": "=~$version"}
WHOLE = MODEL | {"segment": ""}  # the model version as a whole, not one of its segments


def select(spec: MetricSpec, matchers: dict[str, str] | None = None, suffix: str = "") -> str:
    """``name{label="value", …}``: see :func:`agent.metric_catalog.selector`."""
    return selector(spec, matchers, suffix)


def rate(spec: MetricSpec, matchers: dict[str, str] | None = None, suffix: str = "") -> str:
    return f"rate({select(spec, matchers, suffix)}[$__rate_interval])"


def histogram_quantile(
    quantile: float, spec: MetricSpec, matchers: dict[str, str], by: tuple[str, ...] = ()
) -> str:
    labels = ", ".join(("le", *by))
    return f"histogram_quantile({quantile}, sum by ({labels}) ({rate(spec, matchers, '_bucket')}))"


# A model's identity on every hardware and agent series, for joins with the quality metrics.
IDENTITY = ", ".join(mc.MODEL_LABELS)
