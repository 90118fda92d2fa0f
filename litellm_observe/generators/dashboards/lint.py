"""The dashboards' lint: every panel query through the PromQL linter (generators/promql/lint.py), and
the rules of Grafana's dashboard-linter that apply to Prometheus dashboards, named as it names them
(it is a Go binary that cannot be installed here, so they are checked in our own code):

- template-datasource-rule: a `datasource` variable of type datasource for Prometheus;
- template-job-rule, template-instance-rule: `job` and `instance` query variables, multi-value with All;
- template-label-promql-rule: query variables are `label_values(<selector>, <label>)` over catalogue series;
- template-on-time-change-reload-rule: query variables refresh when the time range changes (refresh 2);
- panel-datasource-rule: every panel and target uses the `${datasource}` variable;
- panel-title-description-rule: every panel has a title and a description;
- panel-units-rule: every panel that shows numbers has a unit;
- panel-no-targets-rule: every panel has a query;
- target-promql-rule: every query is PromQL our linter reads (unknown series, rate of a gauge, ...);
- target-rate-interval-rule: rate() and irate() read `[$__rate_interval]`;
- target-job-rule, target-instance-rule: every selection filters by `$job` and `$instance`;
- target-counter-agg-rule: every counter is aggregated (the PromQL linter's replica aggregation check);
- uneditable-dashboard-rule: the dashboard is not editable (it is provisioned from generated files).

`problems(dashboards, namespace, records)` takes the dashboards' JSON by uid (or file name) and returns one
message per problem, prefixed by the dashboard and the panel; empty means clean.
"""

from __future__ import annotations

import re

from ..promql import lint as promql_lint
from . import iter_panels

DATASOURCE = "${datasource}"
NUMBER_PANELS = {"timeseries", "stat", "gauge", "table", "state-timeline", "bargauge"}
_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+), (?P<label>\w+)\)$")
_RATE = re.compile(r"\b(i?rate)\s*\(([^\[]*)\[([^\]]*)\]", re.I)


def _uses_datasource(ds: object) -> bool:
    return ds == DATASOURCE or (isinstance(ds, dict) and ds.get("uid") == DATASOURCE)


def _template_problems(data: dict, namespace: str) -> list[str]:
    out, variables = [], {v.get("name"): v for v in data.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        out.append("template-datasource-rule: no `datasource` variable of type datasource for prometheus")
    for name in ("job", "instance"):
        v = variables.get(name)
        if not v or v.get("type") != "query" or not v.get("multi") or not v.get("includeAll"):
            out.append(f"template-{name}-rule: no multi-value `{name}` query variable with All")
    for name, v in variables.items():
        if v.get("type") != "query":
            continue
        m = _LABEL_VALUES.match(str(v.get("query", "")))
        if not m:
            out.append(f"template-label-promql-rule: variable {name}: {v.get('query')!r} is not label_values(...)")
        else:
            selector = re.sub(r"\$\{?\w+\}?", "x", m["selector"])
            found = [p for p in promql_lint.problems(f"sum({selector})", namespace) if "unknown series" in p]
            out += [f"template-label-promql-rule: variable {name}: {p}" for p in found]
        if v.get("refresh") != 2:
            out.append(f"template-on-time-change-reload-rule: variable {name} does not refresh on time change")
        if not _uses_datasource(v.get("datasource")):
            out.append(f"panel-datasource-rule: variable {name} does not use {DATASOURCE}")
    if data.get("editable") is not False:
        out.append("uneditable-dashboard-rule: the dashboard is editable")
    return out


def _panel_problems(panel: dict, namespace: str, records: frozenset[str]) -> list[str]:
    if panel.get("type") == "row":
        return []
    out = []
    if not panel.get("title") or not panel.get("description"):
        out.append("panel-title-description-rule: a panel needs a title and a description")
    if panel.get("type") in NUMBER_PANELS and not (panel.get("fieldConfig") or {}).get("defaults", {}).get("unit"):
        out.append("panel-units-rule: no unit")
    targets = panel.get("targets") or []
    if not targets:
        out.append("panel-no-targets-rule: no query")
    if not _uses_datasource(panel.get("datasource")):
        out.append(f"panel-datasource-rule: the panel does not use {DATASOURCE}")
    for target in targets:
        ref, expr = target.get("refId", "?"), target.get("expr", "")
        if target.get("datasource") is not None and not _uses_datasource(target["datasource"]):
            out.append(f"{ref}: panel-datasource-rule: the query does not use {DATASOURCE}")
        out += [f"{ref}: target-promql-rule: {p}" for p in promql_lint.problems(expr, namespace, records)]
        for func, _, window in _RATE.findall(expr):
            if window != "$__rate_interval":
                out.append(f"{ref}: target-rate-interval-rule: {func}() over [{window}], not [$__rate_interval]")
        for selection in re.findall(r"[a-zA-Z_:][\w:]*\{([^}]*)\}", expr):
            for name in ("job", "instance"):
                if f'{name}=~"${name}"' not in selection:
                    out.append(f'{ref}: target-{name}-rule: a selection without {name}=~"${name}"')
    return out


def problems(dashboards: dict[str, dict], namespace: str, records: frozenset[str] = frozenset()) -> list[str]:
    out = []
    for uid, data in dashboards.items():
        out += [f"{uid}: {p}" for p in _template_problems(data, namespace)]
        for panel in iter_panels(data):
            out += [f"{uid} / {panel.get('title', '?')} / {p}" for p in _panel_problems(panel, namespace, records)]
    return list(dict.fromkeys(out))
