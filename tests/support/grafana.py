"""Grafana's side of a panel query, as Grafana does it: variables listed from Prometheus and set to All,
`$__rate_interval` and the range, interpolated into each target's expression. tests/e2e/test_dashboards.py
and benchmarks/bench_fleet.py run every panel's query this way."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator

from litellm_observe.generators import dashboards
from litellm_observe.generators.options import Options
from tests.support.prometheus_server import PrometheusAPI

RATE_INTERVAL = "1m"  # what Grafana computes with its default 15s scrape interval setting: 4 x 15s
DASHBOARD_RANGE = "6h"  # the dashboards' default time range, now-6h to now


def grafana_regex_escape(value: str) -> str:
    """Grafana's prometheusSpecialRegexEscape: the value as a regex, inside a PromQL string."""
    return re.sub(r"([$^*{}\[\]'+?.()|\\])", r"\\\\\1", value)


def all_value(variable: dict, values: list[str]) -> str:
    """What `$var` becomes when All is selected (Grafana's Prometheus multi-value formatting)."""
    if variable.get("allValue"):
        return variable["allValue"]
    escaped = [grafana_regex_escape(v) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def interpolate(text: str, scope: dict[str, str]) -> str:
    def sub(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        assert name in scope, f"unknown Grafana variable ${name} in {text}"
        return scope[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, text)


def resolve_variables(prom: PrometheusAPI, data: dict) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Each query variable's options (from Prometheus, as Grafana lists them) and its All value."""
    scope, options = {}, {}
    for variable in data["templating"]["list"]:
        if variable["type"] != "query":
            continue
        m = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"])
        assert m, variable["query"]
        match, label = interpolate(m.group(1), scope), m.group(2)
        options[variable["name"]] = prom.label_values(label, match)
        if variable["multi"]:
            scope[variable["name"]] = all_value(variable, options[variable["name"]])
        else:  # a single-value variable (the caller dimension): Grafana selects the first option it lists
            assert options[variable["name"]], f"{variable['name']} lists nothing"
            scope[variable["name"]] = options[variable["name"]][0]
    return scope, options


def seconds_since_midnight() -> int:
    now = datetime.datetime.now()
    # a panel showing "today so far" right after midnight legitimately has little; keep 5 minutes
    return max(300, int((now - now.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()))


def panel_scope(panel: dict, variables: dict[str, str]) -> dict[str, str]:
    rng = f"{seconds_since_midnight()}s" if panel.get("timeFrom") == "now/d" else DASHBOARD_RANGE
    return {**variables, "__rate_interval": RATE_INTERVAL, "__range": rng, "__interval": "15s"}


def panel_queries(api: PrometheusAPI, options: Options | None = None) -> Iterator[tuple[str, dict, dict, str]]:
    """(dashboard uid, panel, target, the query Grafana sends) for every target of every dashboard generated
    with `options`, variables listed from `api` and set to All."""
    for uid, data in dashboards.build_all(options or Options()).items():
        variables, _ = resolve_variables(api, data)
        for panel in dashboards.iter_panels(data):
            scope = panel_scope(panel, variables)
            for target in panel["targets"]:
                yield uid, panel, target, interpolate(target["expr"], scope)
