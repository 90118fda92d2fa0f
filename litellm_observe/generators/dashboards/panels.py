"""The common panel shapes, the template variables and the dashboard frame.

Every panel and target names its datasource as `${datasource}` so a provisioned copy
works without `__inputs`; every panel has a title, a one-line description (the
question it answers, listed in the README) and a unit.
"""

from __future__ import annotations

import string

import attr
from grafanalib import core as g

from ...catalogue import BUILD_INFO, CALLER_SPEND, REQUESTS, Metric
from .options import Inputs
from .promql import CALLER_VARIABLE, LABEL_VARIABLES, Queries

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 37  # Grafana 9.x; newer Grafana migrates it on load
BASE_THRESHOLDS = [{"color": "green", "value": None}]
QUANTILES = (0.5, 0.95, 0.99)
HEIGHT = 8


def target(expr: str, legend: str = "", instant: bool = False, table: bool = False) -> g.Target:
    return g.Target(
        expr=expr,
        legendFormat=legend,
        instant=instant,
        intervalFactor=1,
        datasource=DATASOURCE,
        format="table" if table else g.TIME_SERIES_TARGET_FORMAT,
    )


def _with_ref_ids(targets: list[g.Target]) -> list[g.Target]:
    return [attr.evolve(t, refId=string.ascii_uppercase[i]) for i, t in enumerate(targets)]


def _common(title: str, description: str, targets: list[g.Target]) -> dict:
    if not description or "\n" in description:
        raise ValueError(f"panel {title!r} needs a one-line description")
    return dict(title=title, description=description, targets=_with_ref_ids(targets), dataSource=DATASOURCE)


def timeseries(
    title: str,
    description: str,
    targets: list[g.Target],
    unit: str,
    *,
    stacked: bool = False,
    bars: bool = False,
    overrides: list | None = None,
) -> g.TimeSeries:
    return g.TimeSeries(
        **_common(title, description, targets),
        unit=unit,
        thresholds=BASE_THRESHOLDS,
        drawStyle="bars" if bars else "line",
        fillOpacity=60 if bars else 10,
        stacking={"mode": "normal", "group": "A"} if stacked else {"mode": "none"},
        legendDisplayMode="table",
        legendPlacement="right",
        legendCalcs=["mean", "max"],
        tooltipMode="multi",
        tooltipSort="desc",
        overrides=overrides or [],
    )


def quantiles(
    title: str, description: str, q: Queries, histogram: Metric, labels: tuple[str, ...], legend: str
) -> g.TimeSeries:
    """p50/p95/p99 of `histogram`, one line per quantile and label set."""
    targets = [target(q.quantile(x, histogram, labels), f"{legend} p{round(x * 100)}") for x in QUANTILES]
    return timeseries(title, description, targets, "s")


def stat(
    title: str,
    description: str,
    targets: list[g.Target],
    unit: str,
    *,
    decimals: int | None = None,
    text_mode: str = "auto",
    graph: bool = True,
    time_from: str | None = None,
) -> g.Stat:
    return g.Stat(
        **_common(title, description, targets),
        timeFrom=time_from,
        format=unit,
        thresholds=BASE_THRESHOLDS,
        decimals=decimals,
        reduceCalc="lastNotNull",
        textMode=text_mode,
        colorMode="value",
        graphMode="area" if graph else "none",
        noValue="0",
    )


def gauge(
    title: str,
    description: str,
    expr: str,
    unit: str,
    steps: list[tuple[str, float | None]],
    minimum: float,
    maximum: float,
) -> g.GaugePanel:
    """A single-value gauge; `steps` are (colour, lower bound) pairs, the first bound None."""
    thresholds = {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}
    # grafanalib's GaugePanel writes Grafana 6 options; the extra JSON gives the current layout.
    return g.GaugePanel(
        **_common(title, description, [target(expr, instant=True)]),
        format=unit,
        min=minimum,
        max=maximum,
        extraJson={
            "fieldConfig": {"defaults": {"thresholds": thresholds, "min": minimum, "max": maximum}},
            "options": {
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "showThresholdLabels": False,
                "showThresholdMarkers": True,
            },
        },
    )


def table(title: str, description: str, expr: str, unit: str, value_column: str) -> g.Table:
    """An instant query as a table, one row per label set, sorted by value."""
    hidden = {"Time": True, "__name__": True}
    return g.Table(
        **_common(title, description, [target(expr, instant=True, table=True)]),
        unit=unit,
        thresholds=BASE_THRESHOLDS,
        sortBy=[g.TableSortByField(displayName=value_column, desc=True)],
        transformations=[
            {"id": "organize", "options": {"excludeByName": hidden, "renameByName": {"Value": value_column}}}
        ],
    )


def state_timeline(
    title: str,
    description: str,
    targets: list[g.Target],
    unit: str,
    overrides: list | None = None,
    mappings: list | None = None,
    steps: list[tuple[str, float | None]] | None = None,
) -> g.StateTimeline:
    """`steps`: (colour, lower bound) pairs coloring the values, the first bound None."""
    defaults: dict = {"unit": unit}
    if steps:
        defaults["thresholds"] = {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}
    return g.StateTimeline(
        **_common(title, description, targets),
        thresholds=BASE_THRESHOLDS,
        colorMode="thresholds",
        mergeValues=False,
        overrides=overrides or [],
        mappings=mappings or [],
        extraJson={"fieldConfig": {"defaults": defaults}},
    )


def color_by_name(pattern: str, color: str) -> dict:
    """An override colouring the series whose display name matches regex `pattern`."""
    return {
        "matcher": {"id": "byRegexp", "options": pattern},
        "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}],
    }


def grid(rows: list[list[g.Panel]]) -> list[g.Panel]:
    """Lay rows of panels out left to right, each row sharing the 24 columns evenly."""
    placed, y = [], 0
    for row in rows:
        width = 24 // len(row)
        for i, panel in enumerate(row):
            placed.append(attr.evolve(panel, gridPos=g.GridPos(h=HEIGHT, w=width, x=i * width, y=y)))
        y += HEIGHT
    return placed


@attr.s
class Variable:
    """A query template variable, with the keys Grafana's dashboard schema has (no `definition`, the
    display copy of `query` current Grafana also saves)."""

    name = attr.ib()
    label = attr.ib()
    query = attr.ib()
    all_value = attr.ib(default=None)
    single = attr.ib(default=False)  # one value at a time, no All (the caller dimension)

    def to_json_data(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "type": "query",
            "datasource": DATASOURCE,
            "query": self.query,
            "refresh": g.REFRESH_ON_TIME_RANGE_CHANGE,
            "includeAll": not self.single,
            "multi": not self.single,
            "allValue": self.all_value,
            "sort": g.SORT_ALPHA_ASC,
            "current": {} if self.single else {"selected": True, "text": ["All"], "value": ["$__all"]},
            "options": [],
            "hide": 0,
            "regex": "",
        }


@attr.s
class DatasourceVariable:
    default = attr.ib()

    def to_json_data(self) -> dict:
        return {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "current": {"selected": True, "text": self.default, "value": self.default},
            "options": [],
            "hide": 0,
            "refresh": 1,
            "regex": "",
            "includeAll": False,
            "multi": False,
        }


def variables(q: Queries, callers: bool = False) -> list:
    """datasource, job, instance, provider, model, team, endpoint: each narrows the next; with `callers`,
    the caller dimension too.

    job and instance list the targets that export our build info, and All means exactly
    those (so `up` and `scrape_*` panels show only this exporter). provider, model, team and
    endpoint use `.*` for All: a series whose value is not (yet) in the list still counts. The
    caller dimension is one value at a time (the first one listed when the dashboard opens): the
    callers of one dimension add up to the fleet, two dimensions together would not; with no
    dimension turned on it lists nothing and the caller panels show no data.
    """
    out = [
        DatasourceVariable(q.options.dashboards.datasource),
        Variable("job", "Job", f"label_values({q.variable_source(BUILD_INFO, ())}, job)"),
        Variable("instance", "Instance", f"label_values({q.variable_source(BUILD_INFO, ('job',))}, instance)"),
    ]
    for label in LABEL_VARIABLES:
        source = q.variable_source(REQUESTS, ("job", "instance"))
        out.append(Variable(label, label.capitalize(), f"label_values({source}, {label})", all_value=".*"))
    if callers:
        source = q.variable_source(CALLER_SPEND, ("job", "instance"))
        out.append(
            Variable(CALLER_VARIABLE, "Caller dimension", f"label_values({source}, {CALLER_VARIABLE})", single=True)
        )
    return out


def dashboard(
    options: Inputs, uid: str, title: str, description: str, rows: list[list[g.Panel]], callers: bool = False
) -> g.Dashboard:
    d = options.dashboards
    return g.Dashboard(
        uid=uid,
        title=d.title_prefix + title,
        description=description,
        tags=list(d.tags),
        refresh=d.refresh,
        timezone="browser",
        time=g.Time("now-6h", "now"),
        graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        schemaVersion=SCHEMA_VERSION,
        templating=g.Templating(variables(Queries(options), callers)),
        panels=grid(rows),
    ).auto_panel_ids()
