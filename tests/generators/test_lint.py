"""The rule lint: clean on the generated rules, and each check catches a broken rule."""

from __future__ import annotations

import copy

import pytest
import yaml

from litellm_observe.generators import rules
from litellm_observe.generators.options import load
from litellm_observe.generators.rules import lint

S = load(section={}, environ={})
FILES = rules.outputs(S)
GROUPS = [g for rel in (rules.RULES_FILE, rules.ALERTS_FILE) for g in yaml.safe_load(FILES[rel])["groups"]]
RUNBOOKS = FILES[rules.RUNBOOKS]


def with_rule(name: str, **changes) -> list[dict]:
    """The generated groups with one rule (first of that name) changed; a None value deletes the key."""
    groups = copy.deepcopy(GROUPS)
    for group in groups:
        for rule in group["rules"]:
            if rule.get("alert", rule.get("record")) == name:
                for key, value in changes.items():
                    target, _, leaf = key.rpartition(".")
                    holder = rule[target] if target else rule
                    if value is None:
                        holder.pop(leaf)
                    else:
                        holder[leaf] = value
                return groups
    raise KeyError(name)


def test_generated_rules_are_clean():
    assert lint.problems(GROUPS, S, RUNBOOKS) == []


@pytest.mark.parametrize(
    "name, changes, expected",
    [
        ("LitellmHighErrorRate", {"alert": "HighErrorRate"}, "CamelCase with the Litellm prefix"),
        ("LitellmHighErrorRate", {"for": None}, "has no `for`"),
        ("LitellmHighErrorRate", {"labels.severity": "page"}, "severity 'page'"),
        ("LitellmHighErrorRate", {"annotations.summary": None}, "has no summary"),
        ("LitellmHighErrorRate", {"annotations.summary": "Provider {{ $labels.provider }} fails."}, "plain sentence"),
        ("LitellmHighErrorRate", {"annotations.summary": "A provider fails"}, "ending with a period"),
        ("LitellmHighErrorRate", {"annotations.description": "Errors are high."}, "templated with $labels and $value"),
        ("LitellmHighErrorRate", {"annotations.description": None}, "has no description"),
        ("LitellmHighErrorRate", {"annotations.runbook_url": "https://example.com/x"}, "runbook_url must be"),
        (
            "LitellmRetryStorm",
            {"expr": "sum by (provider) (rate(litellm_retrys_total[5m])) > 1"},
            "unknown series 'litellm_retrys_total'",
        ),
        (
            "LitellmRetryStorm",
            {"expr": "sum by (provider) (rate(litellm_current_load[5m])) > 1"},
            "rate() on 'litellm_current_load', a gauge",
        ),
        (
            "LitellmRetryStorm",
            {"expr": "sum by (provider) (increase(litellm_requests_remaining[5m])) > 1"},
            "increase() on 'litellm_requests_remaining'",
        ),
        (
            "LitellmRetryStorm",
            {"expr": "rate(litellm_retries_total[5m]) > 1"},
            "selected without aggregating over replicas",
        ),
        (
            "LitellmHighErrorRate",
            {"expr": "provider:litellm_provider_errors:ratio_rate7m > 0.05"},
            "recording rule 'provider:litellm_provider_errors:ratio_rate7m' is recorded by no rule",
        ),
        (
            "LitellmHighP99Latency",
            {
                "expr": "histogram_quantile(0.99, sum by (model, le) "
                "(rate(litellm_request_duration_seconds_bucket[5m]))) > 25"
            },
            "threshold 25 on 'litellm_request_duration_seconds_bucket' is not a bucket edge",
        ),
        (
            "LitellmHighP99Latency",  # the last edge: the quantile is clamped to it, so `>` never holds
            {
                "expr": "histogram_quantile(0.99, sum by (model, le) "
                "(rate(litellm_request_duration_seconds_bucket[5m]))) > 327.68"
            },
            "is not a bucket edge below the last",
        ),
        (
            "LitellmHighP99Latency",
            {
                "expr": "histogram_quantile(0.99, sum by (model, le) "
                "(rate(litellm_request_duration_seconds_sum[5m]))) > 30"
            },
            "not a histogram's _bucket series",
        ),
        (
            "provider:litellm_provider_errors:ratio_rate5m",
            {"record": "litellm_provider_error_ratio"},
            "level:metric:operations",
        ),
        (
            "provider:litellm_provider_errors:ratio_rate5m",
            {"record": "provider:litellm_failures:ratio_rate5m"},
            "metric part litellm_failures is not a catalogue metric",
        ),
    ],
)
def test_lint_catches(name, changes, expected):
    found = lint.problems(with_rule(name, **changes), S, RUNBOOKS)
    assert any(expected in p for p in found), found


def test_missing_runbook_section_is_caught():
    runbooks = RUNBOOKS.replace("## LitellmRetryStorm\n", "## Something else\n")
    assert lint.problems(GROUPS, S, runbooks) == ["LitellmRetryStorm: has no section in the runbooks"]


def test_namespace_is_respected():
    s = load(section={"namespace": "gw"}, environ={})
    files = rules.outputs(s)
    groups = [g for rel in (rules.RULES_FILE, rules.ALERTS_FILE) for g in yaml.safe_load(files[rel])["groups"]]
    assert lint.problems(groups, s, files[rules.RUNBOOKS]) == []
    assert lint.problems(groups, S, files[rules.RUNBOOKS])  # gw_ names are not litellm_ names
