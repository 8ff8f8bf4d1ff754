"""The ``promtool test rules`` file of a rule group, from the cases its rules carry.

Every alert name gets a test per case: the input series, and at each check the alerts expected,
with their labels and their annotations as Prometheus expands them.
"""

from __future__ import annotations

from typing import Any

from alerts.catalog_rules import RuleGroup
from alerts.rule import AlertRule, Case, Check, duration

__all__ = ["EVALUATION_INTERVAL", "promtool_tests"]

EVALUATION_INTERVAL = 15  # seconds; the cases' intervals are multiples of it


def _expected(check: Check, rules: dict[str, AlertRule]) -> list[dict[str, Any]]:
    found = []
    for labels, severity, value in check.alerts:
        rule = rules[severity]
        present = {k: v for k, v in labels.items() if v}  # Prometheus drops empty labels
        found.append(
            {
                "exp_labels": dict(sorted((present | rule.all_labels()).items())),
                "exp_annotations": rule.annotations(present, value),
            }
        )
    return found


def _test(name: str, case: Case, rules: dict[str, AlertRule]) -> dict[str, Any]:
    return {
        "name": f"{name}: {case.name}",
        "interval": duration(case.interval_seconds),
        "input_series": [{"series": s.selector(), "values": s.values} for s in case.series],
        "alert_rule_test": [
            {
                "eval_time": duration(check.at_seconds),
                "alertname": name,
                "exp_alerts": _expected(check, rules),
            }
            for check in case.checks
        ],
    }


def promtool_tests(group: RuleGroup, rule_file: str) -> dict[str, Any]:
    """The test file's content; ``rule_file`` is the rules' path relative to the test file."""
    by_name: dict[str, dict[str, AlertRule]] = {}
    for rule in group.rules:
        by_name.setdefault(rule.alert, {})[rule.severity] = rule
    tests = []
    for rule in group.rules:
        for case in rule.cases:
            tests.append(_test(rule.alert, case, by_name[rule.alert]))
    missing = [name for name, rules in by_name.items() if not any(r.cases for r in rules.values())]
    if missing:
        raise ValueError(f"alerts without test cases: {missing}")
    return {"rule_files": [rule_file], "evaluation_interval": duration(EVALUATION_INTERVAL), "tests": tests}
