"""Checks of the rule files promtool does not make (pint cannot be installed here): our alert
conventions, recording-rule names, and every expression through the PromQL linter
(generators/promql/lint.py).

`problems(groups, options, runbooks)` takes parsed rule groups and returns one message per problem,
prefixed by the rule's name; empty means clean.
"""

from __future__ import annotations

import re

from ...catalogue import CATALOGUE
from ..fields import SEVERITIES
from ..promql import lint as promql_lint
from .alerts import Inputs

ALERT_NAME = re.compile(r"Litellm[A-Z][A-Za-z0-9]*")
RECORD_NAME = re.compile(r"(?P<level>[a-z][a-z_]*):(?P<metric>[a-zA-Z_][a-zA-Z0-9_]*):(?P<ops>[a-z0-9_]+)")


def recorded(groups: list[dict]) -> frozenset[str]:
    """The names the recording rules of `groups` record."""
    return frozenset(r["record"] for g in groups for r in g.get("rules", []) if "record" in r)


def _alert_problems(rule: dict, options: Inputs, runbooks: str | None) -> list[str]:
    name = rule["alert"]
    out = []
    if not ALERT_NAME.fullmatch(name):
        out.append("name must be CamelCase with the Litellm prefix")
    if not rule.get("for"):
        out.append("has no `for`")
    severity = (rule.get("labels") or {}).get("severity")
    if severity not in SEVERITIES:
        out.append(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    notes = rule.get("annotations") or {}
    summary, description = notes.get("summary", ""), notes.get("description", "")
    if not summary:
        out.append("has no summary")
    elif "{{" in summary or not summary.endswith("."):
        out.append("summary must be a plain sentence (no template) ending with a period")
    if not description:
        out.append("has no description")
    elif "$value" not in description or ("$labels." not in description and " by (" in rule.get("expr", "")):
        out.append("description must be templated with $labels and $value")
    want = f"{options.alerts.runbook_base_url}#{name.lower()}"
    if notes.get("runbook_url") != want:
        out.append(f"runbook_url must be {want}")
    elif runbooks is not None and not re.search(rf"^## {re.escape(name)}$", runbooks, re.M):
        out.append("has no section in the runbooks")
    return out


def _record_problems(name: str, namespace: str) -> list[str]:
    m = RECORD_NAME.fullmatch(name)
    if not m:
        return ["recording rule name must be level:metric:operations"]
    if m["metric"] not in {metric.family(namespace) for metric in CATALOGUE}:
        return [f"recording rule's metric part {m['metric']} is not a catalogue metric"]
    return []


def problems(groups: list[dict], options: Inputs, runbooks: str | None = None) -> list[str]:
    records = recorded(groups)
    out = []
    for rule in (r for g in groups for r in g.get("rules", [])):
        if "record" in rule:
            name, found = rule["record"], _record_problems(rule["record"], options.settings.namespace)
        else:
            name, found = rule.get("alert", "?"), _alert_problems(rule, options, runbooks)
        found += promql_lint.problems(str(rule.get("expr", "")), options.settings.namespace, records)
        out += [f"{name}: {p}" for p in found]
    return out
