"""A static check of the PromQL the dashboards and the rules are built from, against the catalogue.

One tokenizer reads an expression (keywords in any case, strings, ranges, label lists and matchers
skipped) into the series it selects, each with the calls and aggregations around it. `problems`
then checks what promtool and Prometheus do not:

- every series is a sample of a catalogue metric, one of Prometheus's own per-target series, or a
  recording rule some rule records;
- rate(), irate() and increase() only read a counter or a histogram's `_bucket` series;
- a `_bucket` series is only read by histogram_quantile over an aggregation `by (le, ...)`, and a
  quantile compared with a number is compared with a bucket edge below the last;
- every catalogue series is aggregated (sum, min, max, ...) across proxy replicas.

Not a full PromQL parser: it knows the subset the generators write, and says so when it meets
something it cannot read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...catalogue import CATALOGUE, Kind, Metric
from .build import PROMETHEUS_SERIES

_TOKEN = re.compile(
    r"""
    (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<range>\[[^\[\]]*\])
  | (?P<number>(?:[0-9]+(?:ms|s|m|h|d|w|y))+(?![\w:])|0[xX][0-9a-fA-F]+
               |(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<variable>\$\{[^}]*\}|\$[a-zA-Z_][a-zA-Z0-9_]*)
  | (?P<op>=~|!~|[=!<>]=|[-+*/%^<>=(){},@])
  | (?P<space>\s+)
""",
    re.X,
)
KEYWORDS = {"and", "or", "unless", "atan2", "bool", "offset", "inf", "nan"}
LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
AGGREGATIONS = {
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
}
COUNTING = {"rate", "irate", "increase"}
COMPARISONS = {">", "<", ">=", "<="}


class Unreadable(ValueError):
    """The expression uses something the tokenizer does not know."""


@dataclass(frozen=True)
class Sample:
    metric: Metric | None  # None: one of Prometheus's own series
    suffix: str  # "", "_total", "_bucket", "_sum" or "_count"


def samples(namespace: str) -> dict[str, Sample]:
    """Every series name a query may read: Prometheus's own and every catalogue metric's."""
    out = {name: Sample(None, "") for name in PROMETHEUS_SERIES}
    for m in CATALOGUE:
        for name in m.sample_names(namespace):
            out[name] = Sample(m, name[len(m.family(namespace)) :])
    return out


@dataclass(eq=False)
class Frame:
    """A call or an aggregation around part of an expression (a bare parenthesis has no name)."""

    name: str
    labels: tuple[str, ...] = ()  # an aggregation's `by (...)` labels
    threshold: float | None = None  # for histogram_quantile: the number it is compared with


@dataclass(frozen=True)
class Selection:
    name: str
    frames: tuple[Frame, ...] = field(default=())  # outermost first


def _tokens(expr: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            raise Unreadable(f"cannot read {expr[pos : pos + 20]!r}")
        if m.lastgroup is not None and m.lastgroup != "space":
            out.append((m.lastgroup, m.group()))
        pos = m.end()
    return out


def _closing(tokens: list[tuple[str, str]], start: int, open_: str, close: str) -> int:
    depth = 0
    for i in range(start, len(tokens)):
        depth += {open_: 1, close: -1}.get(tokens[i][1], 0)
        if depth == 0:
            return i
    raise Unreadable(f"unbalanced {open_}")


def selections(expr: str) -> list[Selection]:
    """The series an expression selects, in order, each with its enclosing frames."""
    tokens = _tokens(expr)
    found: list[Selection] = []
    stack: list[Frame] = []
    pending, last_closed, i = None, None, 0
    while i < len(tokens):
        kind, text = tokens[i]
        after = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if text == "{":
            i = _closing(tokens, i, "{", "}") + 1
            continue
        if kind == "name" and text.lower() in LABEL_LISTS:
            labels: tuple[str, ...] = ()
            if after == "(":
                end = _closing(tokens, i + 1, "(", ")")
                labels, i = tuple(t for k, t in tokens[i + 2 : end] if k == "name"), end + 1
            else:
                i += 1
            if text.lower() == "by" and pending is not None:
                pending.labels = labels
            elif text.lower() == "by" and last_closed is not None and last_closed.name in AGGREGATIONS:
                last_closed.labels = labels  # `sum (...) by (x)`
            continue
        if kind == "name" and text.lower() in KEYWORDS:
            i += 1
            continue
        if kind == "name" and (after == "(" or (text.lower() in AGGREGATIONS and after.lower() in ("by", "without"))):
            pending = Frame(text.lower())  # aggregations are keywords, in any case
            i += 1
            continue
        if kind == "name":
            found.append(Selection(text, tuple(stack)))
        elif text == "(":
            stack.append(pending or Frame(""))
            pending = None
        elif text == ")":
            if not stack:
                raise Unreadable("unbalanced )")
            last_closed = stack.pop()
            compared = tokens[i + 1 : i + 3]
            if (
                last_closed.name == "histogram_quantile"
                and len(compared) == 2
                and compared[0][1] in COMPARISONS
                and compared[1][0] == "number"
            ):
                last_closed.threshold = float(compared[1][1])
        i += 1
    if stack:
        raise Unreadable("unbalanced (")
    return found


def series_names(expr: str) -> list[str]:
    return [s.name for s in selections(expr)]


def problems(expr: str, namespace: str, records: frozenset[str] = frozenset()) -> list[str]:
    """What is wrong with `expr`; empty when every series is known and correctly used. `records`
    are the names the recording rules record."""
    try:
        found = selections(expr)
    except Unreadable as e:
        return [f"the checker cannot read this expression: {e}"]
    if not found:
        return ["no series found: the checker does not understand this expression"]
    known = samples(namespace)
    out = []
    for s in found:
        if ":" in s.name:
            if s.name not in records:
                out.append(f"recording rule {s.name!r} is recorded by no rule")
        elif s.name not in known:
            out.append(f"unknown series {s.name!r}: not in the metric catalogue")
        else:
            out += _use_problems(s, known[s.name])
    return list(dict.fromkeys(out))


def _use_problems(s: Selection, sample: Sample) -> list[str]:
    out = []
    names = [f.name for f in s.frames]
    m, bucket = sample.metric, sample.suffix == "_bucket"
    # a histogram's _count is a counter of its observations (how many requests); its _sum alone means nothing
    counts = sample.suffix == "_count"
    if names and names[-1] in COUNTING and not (m and (m.kind is Kind.COUNTER or bucket or counts)):
        kind = (
            f"a {m.kind.value}" + (f" {sample.suffix} series" if sample.suffix else "") if m else "a Prometheus gauge"
        )
        out.append(f"{names[-1]}() on {s.name!r}, {kind}: only counters, histogram buckets and _count may be rated")
    quantile = next((i for i, f in enumerate(s.frames) if f.name == "histogram_quantile"), None)
    if quantile is not None and not bucket:
        out.append(f"histogram_quantile over {s.name!r}, which is not a histogram's _bucket series")
    if bucket and (
        quantile is None or not any(f.name in AGGREGATIONS and "le" in f.labels for f in s.frames[quantile + 1 :])
    ):
        out.append(f"{s.name!r} read outside histogram_quantile(q, sum by (le, ...) (...))")
    threshold = s.frames[quantile].threshold if quantile is not None else None
    if bucket and m is not None and threshold is not None and threshold not in m.buckets[:-1]:
        out.append(
            f"threshold {threshold:g} on {s.name!r} is not a bucket edge below the last "
            f"({', '.join(f'{b:g}' for b in m.buckets[:-1])}), so the quantile cannot be compared exactly"
        )
    if m is not None and not any(n in AGGREGATIONS for n in names):
        out.append(f"{s.name!r} is selected without aggregating over replicas (sum/min/max/... by ...)")
    return out
