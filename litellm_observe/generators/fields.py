"""How a generation option is declared: a dataclass field with its default, what it must be, and
what it sets.

Every option of `dashboards:` and `alerts:` is made by one of these helpers, beside the dashboard
or alert that reads it; `config.build` is the one place that checks a configured value against
the declaration (type from the annotation, then `ok`), with errors naming the key
(`litellm_observe.alerts.high_error_rate.ratio: must be between 0 and 1, got 1.5`). The README's
option table is generated from the same metadata, so the docs say exactly what is checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import MISSING, field
from dataclasses import fields as dataclass_fields
from typing import Any

from ..catalogue import ERROR_TYPES, Metric
from .promql.durations import is_duration
from .promql.selectors import EXAMPLE, is_selector

SEVERITIES = ("critical", "warning", "info")
_GRAFANA_INTERVAL = re.compile(r"[1-9][0-9]*(s|m|h|d)")


def option(default: Any, must_be: str, ok: Callable[[Any], bool], doc: str) -> Any:
    """A field whose configured value must pass `ok` (after its type is checked)."""
    metadata = {"must_be": must_be, "ok": ok, "doc": doc}
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple for a default list")
    return field(default=default, metadata=metadata)


def group(cls: type, doc: str) -> Any:
    """A nested mapping of options, built into `cls`."""
    return field(default_factory=cls, metadata={"group": cls, "doc": doc})


def ratio(default: float, doc: str) -> Any:
    return option(default, "between 0 and 1", lambda v: 0 < v < 1, doc)


def positive(default: float, doc: str) -> Any:
    return option(default, "> 0", lambda v: v > 0, doc)


def objective(default: float, doc: str) -> Any:
    return option(default, "between 0.5 and 1", lambda v: 0.5 < v < 1, doc)


def duration(default: str, doc: str = "how long the condition must hold before the alert fires") -> Any:
    return option(default, "a Prometheus duration like 5m", is_duration, doc)


def severity(default: str, doc: str = "the alert's severity label") -> Any:
    return option(default, f"one of {', '.join(SEVERITIES)}", lambda v: v in SEVERITIES, doc)


def bucket_edge(default: float, metric: Metric, doc: str) -> Any:
    """A histogram threshold: a quantile can only be compared exactly with a bucket edge, and never
    exceeds the last edge (it is clamped to it)."""
    edges = metric.buckets[:-1]
    return option(
        default,
        f"a {metric.name} bucket edge below the last ({', '.join(f'{b:g}' for b in edges)})",
        lambda v: v in edges,
        doc,
    )


def selector(default: str, doc: str) -> Any:
    return option(default, f"PromQL label matchers separated by commas, e.g. {EXAMPLE}", is_selector, doc)


def text(default: str, doc: str) -> Any:
    """A non-empty string on one line."""
    return option(default, "a non-empty string on one line", lambda v: v.strip() != "" and "\n" not in v, doc)


def url(default: str, doc: str) -> Any:
    """An http(s) URL, or empty (not used)."""
    return option(
        default,
        "empty, or an http:// or https:// URL on one line",
        lambda v: v == "" or (v.startswith(("http://", "https://")) and v.isprintable() and " " not in v),
        doc,
    )


def label_value(default: str, doc: str) -> Any:
    """A label value that goes into a PromQL string literal as written: one line, no quote or backslash."""
    return option(
        default,
        'a non-empty label value on one line, without " or \\',
        lambda v: v.strip() != "" and v.isprintable() and '"' not in v and "\\" not in v,
        doc,
    )


def line(default: str, doc: str) -> Any:
    """A string on one line, empty allowed."""
    return option(default, "a string on one line", lambda v: "\n" not in v, doc)


def names(default: tuple[str, ...], doc: str) -> Any:
    return option(default, "a list of non-empty strings", lambda v: all(t.strip() for t in v), doc)


def error_types(default: tuple[str, ...], doc: str) -> Any:
    return option(
        default,
        f"a non-empty list of error types ({', '.join(ERROR_TYPES)})",
        lambda v: bool(v) and set(v) <= set(ERROR_TYPES),
        doc,
    )


def grafana_interval(default: str, doc: str) -> Any:
    return option(
        default, "a Grafana refresh interval such as 10s, 1m or 1h", lambda v: bool(_GRAFANA_INTERVAL.fullmatch(v)), doc
    )


def leaves(cls: type, prefix: str = "", context: str = "") -> Iterator[tuple[str, Any, Any, str]]:
    """(config key, field, default, doc of the alert group it is in or "") for every option below
    `cls`, in declaration order."""
    for f in dataclass_fields(cls):
        key = prefix + f.name.rstrip("_")
        if f.metadata.get("group"):
            yield from leaves(f.metadata["group"], key + ".", f.metadata["doc"] if prefix else "")
        else:
            default = f.default if f.default_factory is MISSING else f.default_factory()
            yield key, f, default, context
