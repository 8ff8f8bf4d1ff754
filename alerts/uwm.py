"""Rules for a Prometheus that renames the model's namespace: OpenShift user-workload monitoring.

That Prometheus runs with ``overrideHonorLabels`` and ``enforcedNamespaceLabel: namespace``: the
aggregator's series, scraped in modelmon's namespace, carry ``namespace="modelmon"`` (the target's)
and the model's namespace as ``exported_namespace``; a PrometheusRule only sees series of its own
namespace. So the rules on the aggregator's series select and group by ``exported_namespace`` and
live in modelmon's namespace, and the rules on the agents' series (scraped in the model's namespace,
where ``namespace`` is the model's) live in the model's namespace, unchanged.

:func:`relabel` rewrites a rule and its promtool cases alike, so the cases prove the rewritten rule.
"""

from __future__ import annotations

import re
from dataclasses import replace

from alerts.rule import AlertRule, Case, Check, Text

__all__ = ["relabel"]

_MATCHER = re.compile(r'\bnamespace="([^"]*)"')
_GROUPING = re.compile(r"\b(by|on) \(namespace, ")


def _labels(labels: dict[str, str], label: str, rules_namespace: str) -> dict[str, str]:
    if "namespace" not in labels:
        return labels
    moved = {label if k == "namespace" else k: v for k, v in labels.items()}
    return moved | {"namespace": rules_namespace}


def _case(case: Case, label: str, rules_namespace: str) -> Case:
    series = tuple(replace(s, labels=_labels(s.labels, label, rules_namespace)) for s in case.series)
    checks = tuple(
        Check(c.at_seconds, tuple((_labels(ids, label, rules_namespace), sev, v) for ids, sev, v in c.alerts))
        for c in case.checks
    )
    return replace(case, series=series, checks=checks)


def _expr(expr: str, label: str, rules_namespace: str) -> str:
    """Selectors match the model's namespace on ``label`` and the enforced ``namespace`` explicitly
    (so ``absent()`` gives the labels the enforced rule gives); groupings keep both labels."""
    expr = _MATCHER.sub(lambda m: f'namespace="{rules_namespace}", {label}="{m.group(1)}"', expr)
    return _GROUPING.sub(lambda m: f"{m.group(1)} (namespace, {label}, ", expr)


def relabel(rule: AlertRule, label: str, rules_namespace: str) -> AlertRule:
    """``rule`` with the model's namespace read from ``label``, as a rule of ``rules_namespace`` sees it."""
    return replace(
        rule,
        expr=_expr(rule.expr, label, rules_namespace),
        summary=Text(rule.summary.template.replace("{namespace}", "{" + label + "}")),
        description=Text(rule.description.template.replace("{namespace}", "{" + label + "}")),
        cases=tuple(_case(case, label, rules_namespace) for case in rule.cases),
    )
