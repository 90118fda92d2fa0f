"""The generated dashboards against Grafana's own dashboard schema (grafana-foundation-sdk's models of it; what
is and is not checked: tests/generators/schema_check.py). The negative tests put back what clean() removes and
break one value per panel type, and require the validator to name each path."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from litellm_observe.generators import dashboards
from litellm_observe.generators.options import Options
from tests.generators import schema_check
from tests.generators.schema_check import dashboard, violations

REPO = Path(__file__).resolve().parents[2]
COMMITTED = sorted(REPO.glob("dashboards/*.json")) + sorted(
    REPO.glob("tests/generators/testdata/*/out/dashboards/*.json")
)  # the golden files' too


def _built(uid: str = "litellm-overview") -> dict:
    return copy.deepcopy(dashboards.build_all(Options())[uid])


def _first(data: dict, panel_type: str) -> tuple[int, dict]:
    return next((i, p) for i, p in enumerate(data["panels"]) if p["type"] == panel_type)


@pytest.mark.parametrize("uid", list(dashboards.build_all(Options())))
def test_every_generated_dashboard_is_valid(uid):
    assert violations(_built(uid)) == [], f"grafana-foundation-sdk {schema_check.SDK_VERSION}"


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(REPO)))
def test_every_committed_dashboard_is_valid(path):
    assert violations(json.loads(path.read_text(encoding="utf-8"))) == []


def test_the_dashboards_use_panel_types_the_schema_models():
    # the per-type checks below only mean something if the real dashboards have these types
    types = {p["type"] for d in dashboards.build_all(Options()).values() for p in dashboards.iter_panels(d)}
    assert types == {"timeseries", "stat", "gauge", "table", "state-timeline"}


def _known(model: type, key: str) -> bool:
    return key in {k for k, _, _ in schema_check._fields(model)}


def test_grafanalibs_legacy_fields_are_reported():
    data = _built()
    data.update(rows=[], hideControls=False, sharedCrosshair=False, style="dark", gnetId=None, id=None)
    expected = ["$.rows", "$.hideControls", "$.sharedCrosshair", "$.style", "$.gnetId", "$.id"]
    panel = data["panels"][0]
    panel.update(
        span=6,
        height="250px",
        minSpan=4,
        error=False,
        cacheTimeout=None,
        editable=True,
        interval=None,
        repeat=None,
        timeShift=None,
        hideTimeOverride=False,
    )
    expected += [
        f"$.panels[0].{k}"
        for k in (
            "span",
            "height",
            "minSpan",
            "error",
            "cacheTimeout",
            "editable",
            "interval",
            "repeat",
            "timeShift",
            "hideTimeOverride",
        )
    ]
    panel["targets"][0].update(metric="", query=panel["targets"][0]["expr"], step=10, target="")
    expected += [f"$.panels[0].targets[0].{k}" for k in ("metric", "query", "step", "target")]
    panel["fieldConfig"]["defaults"]["custom"].update(axisSoftMin=None)
    expected.append("$.panels[0].fieldConfig.defaults.custom.axisSoftMin")
    i, gauge = _first(data, "gauge")
    gauge["fieldConfig"]["defaults"].update(calcs=["mean"], limit=None, values=False, override={})
    expected += [f"$.panels[{i}].fieldConfig.defaults.{k}" for k in ("calcs", "limit", "values", "override")]
    data["templating"]["list"][1].update(allValue=None, definition=data["templating"]["list"][1]["query"])
    expected += ["$.templating.list[1].allValue", "$.templating.list[1].definition"]
    data["timepicker"].update(nowDelay=None, time_options=["5m", "1h"])
    expected += ["$.timepicker.nowDelay", "$.timepicker.time_options"]
    # Grafana 10's schema still has the dashboard's `style` ("light" | "dark") and the timepicker's
    # `time_options`; Grafana 11's has `hideTimeOverride` instead: with a valid value each is reported only
    # where the installed schema does not have it (clean() drops them all: the dashboards pass either).
    timepicker = type(dashboard.Dashboard.from_json({"timepicker": {}}).timepicker)  # its name differs too
    versioned = {
        "$.style": (dashboard.Dashboard, "style"),
        "$.timepicker.time_options": (timepicker, "time_options"),
        "$.panels[0].hideTimeOverride": (dashboard.Panel, "hideTimeOverride"),
    }
    expected = [p for p in expected if p not in versioned or not _known(*versioned[p])]

    assert sorted({v.split(": ")[0] for v in violations(data)}) == sorted(expected)


def test_the_legacy_table_fields_are_reported():
    data = _built("litellm-spend")
    i, table = _first(data, "table")
    table.update(color={"mode": "thresholds"}, columns=[], fontSize="100%", mappings=[])
    assert {v.split(": ")[0] for v in violations(data)} == {
        f"$.panels[{i}].{k}" for k in ("color", "columns", "fontSize", "mappings")
    }


def test_a_style_outside_the_enum_is_reported_by_every_schema_release():
    assert [v.split(": ")[0] for v in violations({**_built(), "style": "sepia"})] == ["$.style"]


# one wrong value per panel type: the panel type's own options/field config model must be in use
BROKEN = [
    ("timeseries", ["options", "legend", "displayMode"], "sideways", "is not one of"),
    ("timeseries", ["fieldConfig", "defaults", "custom", "lineWidth"], "1px", "is not a number"),
    ("timeseries", ["fieldConfig", "defaults", "custom", "pointShape"], "star", "unknown key"),
    ("stat", ["options", "colorMode"], "rainbow", "is not one of"),
    ("stat", ["options", "sparkline"], True, "unknown key"),
    ("stat", ["fieldConfig", "defaults", "custom", "lineWidth"], 1, "has no field config"),
    ("gauge", ["options", "showThresholdMarkers"], "yes", "is not a bool"),
    ("gauge", ["options", "reduceOptions", "calcs"], "mean", "is not a list"),
    ("state-timeline", ["options", "rowHeight"], "90%", "is not a number"),
    ("state-timeline", ["fieldConfig", "defaults", "custom", "fillOpacity"], "70", "is not an integer"),
    ("timeseries", ["targets", 0, "format"], "csv", "is not one of"),
    ("timeseries", ["gridPos", "w"], "12", "is not an integer"),
]


@pytest.mark.parametrize(
    "panel_type, keys, value, why", BROKEN, ids=[f"{t}:{'.'.join(map(str, k))}" for t, k, _, _ in BROKEN]
)
def test_a_wrong_value_in_each_panel_types_model_is_reported(panel_type, keys, value, why):
    data = _built()
    i, panel = _first(data, panel_type)
    node = panel
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    path = f"$.panels[{i}]" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in keys)
    if why == "has no field config":
        path = path.rsplit(".", 1)[0]
    found = violations(data)
    assert len(found) == 1 and found[0].startswith(f"{path}: ") and why in found[0], found


def test_table_columns_are_checked_with_grafanas_table_field_options():
    data = _built("litellm-spend")
    i, table = _first(data, "table")
    table["fieldConfig"]["defaults"]["custom"].update(align="middle", wrap=True)
    assert sorted(v.split(": ")[0] for v in violations(data)) == [
        f"$.panels[{i}].fieldConfig.defaults.custom.align",
        f"$.panels[{i}].fieldConfig.defaults.custom.wrap",
    ]


def test_a_target_without_a_datasource_type_and_an_unknown_panel_type_are_reported():
    data = _built()
    panel = data["panels"][0]
    panel["datasource"] = {"uid": "${datasource}"}
    for target in panel["targets"]:
        del target["datasource"]
    data["panels"][1]["type"] = "graph"
    assert [v.split(": ")[0] for v in violations(data)] == ["$.panels[0].targets[0]", "$.panels[1].type"]
