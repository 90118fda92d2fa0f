"""promtool unit-test files (`promtool test rules`), one per alert name plus the recording rules."""

from __future__ import annotations

from .context import words
from .model import Case, Spec


def file_name(spec_name: str) -> str:
    """LitellmHighErrorRate -> high-error-rate.yaml"""
    return words(spec_name, "-") + ".yaml"


def _header(rule_files: list[str], group_order: list[str], interval: str = "1m") -> dict:
    # Without an explicit order promtool evaluates groups in map order; recording rules go first
    # so alerts read this step's ratios, as they would a step later in Prometheus.
    return {
        "rule_files": [f"../{f}" for f in rule_files],
        "evaluation_interval": interval,
        "group_eval_order": group_order,
    }


def _inputs(series) -> list[dict]:
    return [{"series": s, "values": v} for s, v in series]


def _case(spec: Spec, case: Case) -> dict:
    checks = []
    for minute, expected in case.checks:
        checks.append(
            {
                "eval_time": f"{minute}m",
                "alertname": spec.name,
                "exp_alerts": [
                    {
                        "exp_labels": {**e.alert.labels, "severity": e.alert.severity, **e.labels},
                        "exp_annotations": e.alert.annotations(e.labels, e.value),
                    }
                    for e in expected
                ],
            }
        )
    return {
        "name": f"{spec.name}: {case.name}",
        "interval": "1m",
        "input_series": _inputs(case.series),
        "alert_rule_test": checks,
    }


def alert_tests(spec: Spec, rule_files: list[str], group_order: list[str]) -> dict:
    return {**_header(rule_files, group_order), "tests": [_case(spec, c) for c in spec.cases]}


def recording_tests(case: dict, rule_files: list[str], group_order: list[str]) -> dict:
    return {
        **_header(rule_files, group_order, case["interval"]),
        "tests": [
            {
                "name": case["name"],
                "interval": case["interval"],
                "input_series": _inputs(case["inputs"]),
                "promql_expr_test": case["tests"],
            }
        ],
    }
