"""A static check of dashboard PromQL against the catalogue.

Finds every series name in an expression and checks it is a sample of a catalogue
metric (or one of Prometheus's own per-target series), and that rate/irate/increase
only ever read a counter or a histogram's `_bucket` series. Not a full PromQL parser:
it knows the subset the dashboards use, and says so when it meets something else.
"""
from __future__ import annotations

import re

from ...catalogue import CATALOGUE, Kind, Metric
from .promql import PROMETHEUS_SERIES

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_LABEL_LIST = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_NAME = re.compile(r"(?<![\w:.$])([a-zA-Z_:][\w:]*)(?!\w)(\s*\()?")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
             "group_right", "inf", "nan"}
_COUNTING = re.compile(r"\b(rate|irate|increase)\s*\(\s*([a-zA-Z_:][\w:]*)")


def samples(namespace: str) -> dict[str, tuple[Metric | None, str]]:
    """{series name: (catalogue metric or None for Prometheus's own, suffix)}."""
    out: dict[str, tuple[Metric | None, str]] = {name: (None, "") for name in PROMETHEUS_SERIES}
    for m in CATALOGUE:
        for sample in m.sample_names(namespace):
            out[sample] = (m, sample[len(m.family(namespace)):])
    return out


def series_names(expr: str) -> list[str]:
    """The series names an expression reads, in order of appearance."""
    text = _STRING.sub('""', expr)
    text = _LABEL_LIST.sub(" ", text)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    names = []
    for m in _NAME.finditer(text):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in _KEYWORDS:
            continue  # a function call or a keyword, not a series
        names.append(word)
    return names


def problems(expr: str, namespace: str) -> list[str]:
    """What is wrong with `expr`; empty when every series is known and correctly used."""
    known = samples(namespace)
    found = []
    for name in series_names(expr):
        if name not in known:
            found.append(f"unknown series {name!r}: not in the metric catalogue")
    for func, name in _COUNTING.findall(_STRING.sub('""', expr)):
        metric, suffix = known.get(name, (None, ""))
        if name not in known:
            continue  # already reported
        if metric is None or not (metric.kind is Kind.COUNTER or (metric.kind is Kind.HISTOGRAM and
                                                                 suffix == "_bucket")):
            kind = metric.kind.value if metric else "Prometheus gauge"
            found.append(f"{func}() on {name!r}, a {kind}{' ' + suffix + ' series' if suffix else ''}: "
                         "only counters and histogram buckets may be rated")
    buckets = [n for n in series_names(expr) if known.get(n, (None, ""))[1] == "_bucket"]
    if buckets and not re.search(r"histogram_quantile\(.*\bby \(le\b", expr):
        found.append(f"{buckets[0]!r} read outside histogram_quantile(q, sum by (le, ...) (...))")
    if not series_names(expr):
        found.append("no series found: the checker does not understand this expression")
    return found
