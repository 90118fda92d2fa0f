"""Rules as data: an alert, the promtool test cases that prove it, and how `$value` is shown.

A description is written once with `{label}` and `{value}` placeholders; it becomes the Go
template in the rule and, filled with a case's labels and value, the annotation the promtool
test expects. So rule text and tests cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote_plus

from ..promql import durations

RATE = "5m"  # rate window of the ratio and quantile alerts
MODEL = {"provider": "openai", "model": "gpt-4o"}  # the labels of a test series' upstream call


@dataclass(frozen=True)
class ValueFormat:
    go: str  # template pipeline applied to $value
    py: Callable[[float], str]  # what that pipeline prints, for expected annotations


PERCENT = ValueFormat("humanizePercentage", lambda v: "%.4g%%" % (v * 100))
SECONDS = ValueFormat('printf "%.2fs"', lambda v: "%.2fs" % v)
RATIO = ValueFormat('printf "%.2f"', lambda v: "%.2f" % v)
COUNT = ValueFormat('printf "%.0f"', lambda v: "%.0f" % v)


def _humanize1024(v: float) -> str:
    """Prometheus's humanize1024 template function (template/template.go), for expected annotations."""
    if abs(v) <= 1 or v != v or v in (float("inf"), float("-inf")):
        return "%.4g" % v
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix, v = p, v / 1024
    return "%.4g%s" % (v, prefix)


BYTES = ValueFormat("humanize1024", _humanize1024)


DASHBOARD_VARIABLES = ("provider", "model", "team", "endpoint")  # dashboards/promql.py LABEL_VARIABLES


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str  # plain sentence, no template
    description: str  # with {label} and {value} placeholders
    value: ValueFormat
    labels: dict[str, str] = field(default_factory=dict)  # static labels besides severity
    # runbook: one section per alert name
    meaning: str = ""
    confirm: str = ""  # a PromQL query
    action: str = ""
    runbook_url: str = ""  # its section of the runbooks (context.Context.alert sets it)
    dashboard_url: str = ""  # the dashboard that shows it (`alerts.grafana_url`/d/<uid>; context sets it), or ""

    def annotations(self, labels: dict[str, str] | None = None, value: float | None = None) -> dict[str, str]:
        """The rule's annotations (templates) or, given labels and value, their expansion."""
        if labels is None:
            fill = {k: f"{{{{ $labels.{k} }}}}" for k in _placeholders(self.description)}
            fill["value"] = f"{{{{ $value | {self.value.go} }}}}"
        else:
            fill = {k: labels.get(k, "") for k in _placeholders(self.description)}
            fill["value"] = self.value.py(0.0 if value is None else value)
        out = {
            "summary": self.summary,
            "description": self.description.format(**fill),
            "runbook_url": self.runbook_url,
        }
        if self.dashboard_url:
            out["dashboard"] = self._dashboard(labels)
        return out

    def _dashboard(self, labels: dict[str, str] | None) -> str:
        """The dashboard link, its variables set to the alert's labels (those of its description that are
        dashboard variables): a template, or its expansion given labels."""
        shown = [k for k in _placeholders(self.description) if k in DASHBOARD_VARIABLES]
        if labels is None:
            query = [f"var-{k}={{{{ $labels.{k} | urlquery }}}}" for k in shown]
        else:
            query = [f"var-{k}={quote_plus(labels.get(k, ''))}" for k in shown]
        return self.dashboard_url + ("?" + "&".join(query) if query else "")

    def rule(self) -> dict:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {**self.labels, "severity": self.severity},
            "annotations": self.annotations(),
        }


def _placeholders(template: str) -> list[str]:
    import string

    return sorted({f for _, f, _, _ in string.Formatter().parse(template) if f and f != "value"})


@dataclass(frozen=True)
class Expected:
    alert: Alert  # the rule expected to fire (several rules may share a name)
    labels: dict[str, str]  # labels of the result, besides the rule's static ones
    value: float


@dataclass(frozen=True)
class Case:
    """Input series and, per evaluation minute, the alerts expected firing (empty: none)."""

    name: str
    series: tuple[tuple[str, str], ...]  # (series, promtool values notation)
    checks: tuple[tuple[int, tuple[Expected, ...]], ...]


def boundary(name: str, series, for_: str, onset: int, fires: tuple[Expected, ...]) -> Case:
    """Pending a minute before `for` elapses since the condition's onset, firing at the boundary."""
    end = onset + durations.minutes(for_)
    return Case(name, tuple(series), ((end - 1, ()), (end, fires)))


def negative(name: str, series, for_: str, onset: int = 1) -> Case:
    """Nothing fires well after `for` would have elapsed."""
    end = onset + durations.minutes(for_)
    return Case(name, tuple(series), ((end, ()), (end + 10, ())))


@dataclass(frozen=True)
class Spec:
    """All rules sharing one alert name, with the test cases that prove them."""

    alerts: tuple[Alert, ...]
    cases: tuple[Case, ...]

    @property
    def name(self) -> str:
        return self.alerts[0].name


@dataclass(frozen=True)
class Recording:
    record: str
    expr: str
    meaning: str


def above(threshold: float, ceiling: float = 1.0) -> float:
    """A value clearly over a ratio threshold, still under the ceiling."""
    return min(threshold * 2, (threshold + ceiling) / 2)


# promtool values notation
def counter(per_minute: float, minutes: int, start: float = 0.0) -> str:
    return f"{start!r}+{float(per_minute)!r}x{minutes}"


def counter_end(per_minute: float, minutes: int, start: float = 0.0) -> float:
    """The last value promtool expands `counter(...)` to. It adds the step once per sample, so
    with an inexact step (16.8) the sum can exceed `start + step * minutes`; a series continuing
    from the product would step down, and Prometheus would read a counter reset."""
    value = float(start)
    for _ in range(minutes):
        value += float(per_minute)
    return max(value, start + per_minute * minutes)


def constant(value: float, minutes: int) -> str:
    return f"{float(value)!r}+0x{minutes}"


def series(name: str, labels: dict[str, str]) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


@dataclass(frozen=True)
class Inhibition:
    """An Alertmanager inhibition that follows from the alerts' meaning, declared beside the source alert:
    while `source` fires (with `source_severity`, when given), the `targets` (with `target_severity`, when
    given) that share the `equal` labels are not notified. A label an alert does not carry counts as equal to
    another that does not carry it (Alertmanager's rule), so `equal` may name labels only some alerts have."""

    source: str
    targets: tuple[str, ...]
    equal: tuple[str, ...]
    why: str
    source_severity: str = ""
    target_severity: str = ""
