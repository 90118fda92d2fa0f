"""Checks promtool does not make (pint cannot be installed here): our rule conventions,
metric names against the catalogue, rate() only on counters, histogram thresholds on bucket edges.

`problems(groups, options, runbooks)` takes parsed rule groups and returns one message per
problem, prefixed by the rule's name; empty means clean.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable

from ...catalogue import CATALOGUE, Kind
from ..fields import SEVERITIES
from .promql import PROMETHEUS_UP

if TYPE_CHECKING:
    from ..options import Options

ALERT_NAME = re.compile(r"^Litellm[A-Z][A-Za-z0-9]*$")
RECORD_NAME = re.compile(r"^(?P<level>[a-z][a-z_]*):(?P<metric>[a-zA-Z_][a-zA-Z0-9_]*):(?P<ops>[a-z0-9_]+)$")
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
             "offset", "inf", "nan"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")
_RATE = re.compile(r"\b(rate|irate|increase)\s*\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)")
_AGGREGATION = re.compile(r"\b(sum|min|max|avg|count)\s*(\b(by|without)\s*\([^)]*\)\s*)?\(")


def _series_kinds(namespace: str) -> dict[str, tuple[Kind, object]]:
    """Every stored series name -> (kind of its metric, the metric)."""
    return {name: (m.kind, m) for m in CATALOGUE for name in m.sample_names(namespace)}


def metric_names(expr: str) -> list[str]:
    """Series and recording-rule names an expression selects (not functions, labels or keywords)."""
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = _GROUPING.sub("", text)
    return [n for n, call in _IDENT.findall(text) if not call and n not in _KEYWORDS]


def _closing(text: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i
    return len(text)


def _quantile_thresholds(expr: str) -> Iterable[tuple[str, float]]:
    """(bucket series, threshold) for each `histogram_quantile(...) <op> number`."""
    for m in re.finditer(r"histogram_quantile\s*\(", expr):
        end = _closing(expr, m.end() - 1)
        inner = expr[m.end():end]
        after = re.match(r"\s*(?:>|<|>=|<=)\s*([0-9.eE+-]+)", expr[end + 1:])
        for name in metric_names(inner):
            if after:
                yield name, float(after.group(1))


def _expr_problems(expr: str, kinds: dict, records: set[str]) -> list[str]:
    out = []
    names = metric_names(expr)
    for name in names:
        if ":" in name:
            if name not in records:
                out.append(f"uses recording rule {name}, which no rule records")
        elif name not in kinds and name != PROMETHEUS_UP:
            out.append(f"uses {name}, which is not in the metric catalogue")
    if any(n in kinds for n in names) and not _AGGREGATION.search(expr):
        out.append("selects catalogue metrics without aggregating over replicas (sum/min/max by ...)")
    for func, name in _RATE.findall(expr):
        kind = kinds.get(name, (None,))[0]
        if kind not in (Kind.COUNTER, Kind.HISTOGRAM):
            out.append(f"applies {func}() to {name}, which is not a counter or histogram series")
    for name, threshold in _quantile_thresholds(expr):
        if name not in kinds or not name.endswith("_bucket"):
            out.append(f"histogram_quantile over {name}, which is not a histogram's _bucket series")
            continue
        buckets = kinds[name][1].buckets
        if threshold not in buckets[:-1]:
            out.append(f"threshold {threshold:g} on {name} is not a bucket edge below the last "
                       f"({', '.join(f'{b:g}' for b in buckets[:-1])}), so the quantile cannot be compared exactly")
    return out


def _alert_problems(rule: dict, options: Options, runbooks: str | None) -> list[str]:
    name = rule["alert"]
    out = []
    if not ALERT_NAME.match(name):
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


def problems(groups: list[dict], options: Options, runbooks: str | None = None) -> list[str]:
    kinds = _series_kinds(options.namespace)
    families = {m.family(options.namespace) for m in CATALOGUE}
    rules = [r for g in groups for r in g.get("rules", [])]
    records = {r["record"] for r in rules if "record" in r}
    out = []
    for rule in rules:
        if "record" in rule:
            name, found = rule["record"], []
            m = RECORD_NAME.match(name)
            if not m:
                found.append("recording rule name must be level:metric:operations")
            elif m["metric"] not in families:
                found.append(f"recording rule's metric part {m['metric']} is not a catalogue metric")
        else:
            name, found = rule.get("alert", "?"), _alert_problems(rule, options, runbooks)
        found += _expr_problems(str(rule.get("expr", "")), kinds, records)
        out += [f"{name}: {p}" for p in found]
    return out
