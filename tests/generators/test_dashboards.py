"""Static checks of the generated dashboards: queries, conventions, options, output files."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from litellm_observe.catalogue import BY_NAME, CATALOGUE, metric
from litellm_observe.config import SettingsError
from litellm_observe.generators import dashboards, generate, options
from litellm_observe.generators.dashboards import lint as dashboard_lint
from litellm_observe.generators.dashboards import panels, promql
from litellm_observe.generators.dashboards.options import DashboardOptions
from litellm_observe.generators.options import Options
from litellm_observe.generators.promql import lint
from litellm_observe.generators.promql.build import PROMETHEUS_SERIES
from litellm_observe.settings import Settings

DEFAULT = Options()
REPO = Path(__file__).resolve().parents[2]
SELECTOR_RE = re.compile(r"([a-zA-Z_:][\w:]*)\{([^{}]*)\}")
AGGREGATIONS = ("sum", "min", "max", "count", "topk")


def all_targets(settings: Options = DEFAULT):
    for uid, data in dashboards.build_all(settings).items():
        for panel in dashboards.iter_panels(data):
            for t in panel.get("targets", []):
                yield uid, panel, t


def all_exprs(settings: Options = DEFAULT) -> list[str]:
    return [t["expr"] for _, _, t in all_targets(settings)]


def enclosing_calls(expr: str, pos: int) -> list[str]:
    """Function or aggregation names whose parentheses enclose `pos`, innermost first."""
    stack: list[str] = []
    for i, ch in enumerate(expr[:pos]):
        if ch == "(":
            head = re.search(r"([a-zA-Z_]+)(\s+by\s*\([^()]*\))?\s*$", expr[:i])
            stack.append(head.group(1) if head else "")
        elif ch == ")":
            stack.pop()
    return list(reversed(stack))


def test_there_are_four_dashboards_with_stable_uids():
    assert list(dashboards.build_all(DEFAULT)) == [
        "litellm-overview",
        "litellm-providers",
        "litellm-spend",
        "litellm-exporter-health",
    ]
    titles = [d["title"] for d in dashboards.build_all(DEFAULT).values()]
    assert titles == [
        "LiteLLM / Overview",
        "LiteLLM / Providers",
        "LiteLLM / Spend & budgets",
        "LiteLLM / Exporter health",
    ]


@pytest.mark.parametrize("namespace", ["litellm", "acme_llm"])
def test_every_query_reads_only_catalogue_series_correctly(namespace):
    settings = dataclasses.replace(DEFAULT, settings=Settings(namespace=namespace))
    exprs = all_exprs(settings)
    assert len(exprs) > 30
    for expr in exprs:
        assert lint.problems(expr, namespace) == [], expr


def test_every_catalogue_metric_is_on_a_dashboard():
    read = {name for expr in all_exprs() for name in lint.series_names(expr)}
    for m in CATALOGUE:
        assert set(m.sample_names()) & read, f"{m.name} is on no dashboard"


def test_every_series_is_filtered_by_the_variables_its_labels_allow():
    samples = lint.samples(DEFAULT.namespace)
    for uid, panel, t in all_targets():
        for name, matchers in SELECTOR_RE.findall(t["expr"]):
            m = samples[name].metric
            labels = m.labels if m else ()
            for var in promql.TARGET_VARIABLES + promql.LABEL_VARIABLES:
                wanted = f'{var}=~"${var}"'
                assert (wanted in matchers) == (var in promql.TARGET_VARIABLES or var in labels), (
                    uid,
                    panel["title"],
                    name,
                    var,
                )


def test_counters_use_grafana_windows_and_quantiles_sum_by_le():
    for expr in all_exprs():
        for window in re.findall(r"\[([^\]]+)\]", expr):
            assert window in ("$__rate_interval", "$__range"), expr
        if "histogram_quantile" in expr:
            assert re.search(r"histogram_quantile\([0-9.]+, sum by \(le\b", expr), expr


def test_every_series_is_aggregated_across_replicas():
    for expr in all_exprs():
        for m in SELECTOR_RE.finditer(expr):
            calls = enclosing_calls(expr, m.start())
            assert any(c in AGGREGATIONS for c in calls), (expr, m.group(1), calls)


def test_every_panel_has_title_description_unit_and_the_datasource_variable():
    for uid, data in dashboards.build_all(DEFAULT).items():
        assert "__inputs" not in data
        for panel in dashboards.iter_panels(data):
            assert panel["title"], uid
            assert panel["description"] and "\n" not in panel["description"], panel["title"]
            assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert panel["targets"], panel["title"]
            for t in panel["targets"]:
                assert t["datasource"] == panel["datasource"], panel["title"]
            assert panel["gridPos"]["w"] > 0 and panel["id"]


def test_template_variables():
    for data in dashboards.build_all(DEFAULT).values():
        variables = {v["name"]: v for v in data["templating"]["list"]}
        callers = ["dimension"] if data["uid"] == "litellm-spend" else []
        assert list(variables) == ["datasource", "job", "instance", "provider", "model", "team", "endpoint", *callers]
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        assert variables["datasource"]["current"]["value"] == "Prometheus"
        for name in ("job", "instance", "provider", "model", "team", "endpoint"):
            v = variables[name]
            assert v["multi"] and v["includeAll"] and v["current"]["value"] == ["$__all"], name
            assert v["query"].startswith("label_values(") and v["query"].endswith(f", {name})")
            assert v["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert variables["model"]["allValue"] == ".*" and "allValue" not in variables["job"]
        if callers:  # one caller dimension at a time: callers of two dimensions do not add up
            dimension = variables["dimension"]
            assert not dimension["multi"] and not dimension["includeAll"]
            assert dimension["query"].startswith("label_values(litellm_caller_spend_usd_total{")


def test_every_caller_panel_reads_one_dimension_and_no_token_panel_adds_detail_to_the_billed_tokens():
    for data in dashboards.build_all(DEFAULT).values():
        for panel in data["panels"]:
            for t in panel.get("targets", []):
                if "litellm_caller_" in t["expr"]:
                    assert 'dimension="$dimension"' in t["expr"], panel["title"]
                assert "token_type!~" not in t["expr"] and "token_type=~" not in t["expr"], panel["title"]


def test_cache_gauge_thresholds_at_30_and_70_percent():
    overview = dashboards.build_all(DEFAULT)["litellm-overview"]
    cache = next(p for p in overview["panels"] if p["title"] == "Cache hit rate")
    assert cache["type"] == "gauge"
    assert [s["value"] for s in cache["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [None, 0.3, 0.7]
    assert cache["fieldConfig"]["defaults"]["unit"] == "percentunit"


def test_output_is_deterministic_sorted_and_ends_with_a_newline():
    first, second = dashboards.outputs(DEFAULT, kubernetes=True), dashboards.outputs(DEFAULT, kubernetes=True)
    assert first == second
    for path, text in first.items():
        assert text.endswith("\n"), path
        if path.endswith(".json"):
            assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_generate_twice_in_fresh_processes_gives_identical_bytes(tmp_path):
    def run(out):
        subprocess.run(
            [sys.executable, "-m", "litellm_observe", "generate", "--out", str(out), "--kubernetes"],
            check=True,
            capture_output=True,
        )
        return {p.relative_to(out): p.read_bytes() for p in sorted((out / "dashboards").rglob("*")) if p.is_file()}

    a, b = run(tmp_path / "a"), run(tmp_path / "b")
    assert a == b and len(a) == 9


def test_check_names_the_stale_dashboard(tmp_path):
    cmd = [sys.executable, "-m", "litellm_observe", "generate", "--out", str(tmp_path)]
    subprocess.run(cmd, check=True, capture_output=True)
    assert subprocess.run(cmd + ["--check"], capture_output=True).returncode == 0
    stale = tmp_path / "dashboards" / "litellm-spend.json"
    stale.write_text(stale.read_text().replace("Top 10 spenders", "Top spenders"))
    result = subprocess.run(cmd + ["--check"], capture_output=True, text=True)
    assert result.returncode == 1
    assert "dashboards/litellm-spend.json" in result.stderr
    # the same holds with an option: the committed files are checked against those options
    assert subprocess.run(cmd + ["--check", "--refresh", "1m"], capture_output=True).returncode == 1


def test_committed_dashboards_are_current():
    files = dashboards.outputs(Options())
    for rel, text in files.items():
        with open(REPO / rel, encoding="utf-8", newline="") as f:
            assert f.read() == text, f"{rel} is stale: run `litellm_observe generate`"


def test_selector_option_reaches_every_query_and_variable():
    selector = 'namespace="llm", cluster!~"dev.*"'
    settings = dataclasses.replace(DEFAULT, dashboards=DashboardOptions(selector=selector))
    for expr in all_exprs(settings):
        for name, matchers in SELECTOR_RE.findall(expr):
            assert matchers.endswith(selector), (name, expr)
        assert lint.problems(expr, settings.namespace) == []
    for data in dashboards.build_all(settings).values():
        for v in data["templating"]["list"][1:]:
            assert selector in v["query"], v["name"]


def test_title_prefix_tags_refresh_and_datasource_options():
    d = DashboardOptions(datasource="Mimir", title_prefix="Prod / ", tags=("llm",), refresh="1m")
    built = dashboards.build_all(dataclasses.replace(DEFAULT, dashboards=d))
    for data in built.values():
        assert data["title"].startswith("Prod / ")
        assert data["tags"] == ["llm"] and data["refresh"] == "1m"
        assert data["templating"]["list"][0]["current"]["value"] == "Mimir"
    assert "Prod / Overview" in dashboards.readme_blocks(dataclasses.replace(DEFAULT, dashboards=d))["dashboard-panels"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("selector", "namespace=llm"),
        ("selector", 'namespace="llm" env="x"'),
        ("selector", "{}"),
        ("refresh", "soon"),
        ("refresh", "0s"),
        ("datasource", " "),
        ("tags", ["ok", ""]),
        ("title_prefix", "two\nlines"),
    ],
)
def test_bad_dashboard_option_is_a_clear_error(field, value):
    with pytest.raises(SettingsError, match=rf"litellm_observe\.dashboards\.{field}:"):
        options.load(environ={}, section={"dashboards": {field: value}})


@pytest.mark.parametrize(
    "flag, value, key",
    [
        ("--selector", "namespace=llm", "selector"),
        ("--refresh", "fast", "refresh"),
        ("--datasource", "", "datasource"),
    ],
)
def test_bad_flag_exits_2_naming_the_key(tmp_path, flag, value, key):
    result = subprocess.run(
        [sys.executable, "-m", "litellm_observe", "generate", "--out", str(tmp_path), flag, value],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert f"litellm_observe.dashboards.{key}" in result.stderr
    assert not (tmp_path / "dashboards").exists()


def test_config_section_sets_dashboard_options():
    s = options.load(environ={}, section={"dashboards": {"selector": 'env="prod"', "tags": ["a", "b"]}})
    assert s.dashboards.selector == 'env="prod"' and s.dashboards.tags == ("a", "b")
    with pytest.raises(SettingsError, match="dashboards.refresh"):
        options.load(environ={}, section={"dashboards": {"refresh": 30}})


def test_provisioning_file():
    files = dashboards.outputs(DEFAULT)
    doc = yaml.safe_load(files["dashboards/provisioning.yaml"])
    (provider,) = doc["providers"]
    assert doc["apiVersion"] == 1 and provider["type"] == "file"
    assert provider["options"]["path"] == dashboards.GRAFANA_PATH
    assert not any(path.startswith("dashboards/kubernetes/") for path in files)


def test_kubernetes_configmaps(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "litellm_observe", "generate", "--out", str(tmp_path), "--kubernetes"],
        check=True,
        capture_output=True,
    )
    maps = sorted((tmp_path / "dashboards" / "kubernetes").glob("*.yaml"))
    assert [p.stem for p in maps] == sorted(dashboards.build_all(DEFAULT))
    for path in maps:
        doc = yaml.safe_load(path.read_text())
        assert doc["kind"] == "ConfigMap" and doc["metadata"]["labels"]["grafana_dashboard"] == "1"
        ((name, body),) = doc["data"].items()
        assert name == f"{path.stem}.json"
        assert body == (tmp_path / "dashboards" / name).read_text()


def test_readme_block_lists_every_dashboard_and_panel():
    block = dashboards.readme_blocks(DEFAULT)["dashboard-panels"]
    for data in dashboards.build_all(DEFAULT).values():
        assert f"### {data['title']}" in block
        for panel in dashboards.iter_panels(data):
            assert f"| {panel['title']} | {panel['description'].replace('`overflow`', 'overflow')} |" in block
    for needed in ("Import", "provisioning.yaml", 'grafana_dashboard: "1"'):
        assert needed in block
    with open(REPO / generate.README, encoding="utf-8") as f:
        assert block.strip() in f.read(), "README is stale: run `litellm_observe generate`"


def test_promql_builders_refuse_misuse():
    q = promql.Queries(DEFAULT)  # the builders take catalogue metrics, never names
    with pytest.raises(ValueError, match="gauge"):
        q.rate(metric("current_load"))
    with pytest.raises(ValueError, match="not a histogram"):
        q.quantile(0.5, metric("requests"))
    with pytest.raises(ValueError, match="not a gauge"):
        q.gauge(metric("requests"))
    with pytest.raises(KeyError):
        q.rate(metric("no_such_metric"))
    assert q.series(metric("request_duration_seconds"), "_count").startswith(
        metric("request_duration_seconds").family() + "_count{"
    )


def test_panels_need_one_line_descriptions():
    with pytest.raises(ValueError, match="one-line description"):
        panels.timeseries("t", "", [panels.target("up")], "s")


def test_dashboard_lint_names_the_dashboard_panel_and_query():
    built = dashboards.build_all(DEFAULT)
    assert dashboard_lint.problems(built, DEFAULT.namespace) == []
    broken = {uid: json.loads(json.dumps(data)) for uid, data in built.items()}
    uid = next(iter(broken))
    panel = next(p for p in dashboard_lint.iter_panels(broken[uid]) if p.get("targets"))
    panel["targets"][0]["expr"] = "sum(rate(litellm_current_load[$__rate_interval]))"
    found = dashboard_lint.problems(broken, DEFAULT.namespace)
    assert found == [
        f"{uid} / {panel['title']} / {panel['targets'][0].get('refId', '?')}: target-promql-rule: "
        "rate() on 'litellm_current_load', a gauge: only counters, histogram buckets and _count may be rated"
    ]


def _broken(change) -> list[str]:
    built = json.loads(json.dumps(dashboards.build_all(DEFAULT)))
    data = built["litellm-overview"]
    change(data, next(p for p in dashboard_lint.iter_panels(data) if p.get("targets")))
    return dashboard_lint.problems({"litellm-overview": data}, DEFAULT.namespace)


def _variable(data, name):
    return next(v for v in data["templating"]["list"] if v["name"] == name)


@pytest.mark.parametrize(
    "rule, change",
    [
        ("template-datasource-rule", lambda d, p: _variable(d, "datasource").update(query="loki")),
        ("template-job-rule", lambda d, p: _variable(d, "job").update(multi=False)),
        ("template-instance-rule", lambda d, p: d["templating"]["list"].remove(_variable(d, "instance"))),
        ("template-label-promql-rule", lambda d, p: _variable(d, "model").update(query="up")),
        (
            "template-label-promql-rule",
            lambda d, p: _variable(d, "model").update(query="label_values(litellm_nope_total, model)"),
        ),
        ("template-on-time-change-reload-rule", lambda d, p: _variable(d, "team").update(refresh=1)),
        ("panel-datasource-rule", lambda d, p: p.update(datasource="Prometheus")),
        ("panel-title-description-rule", lambda d, p: p.update(description="")),
        ("panel-units-rule", lambda d, p: p["fieldConfig"]["defaults"].pop("unit")),
        ("panel-no-targets-rule", lambda d, p: p.update(targets=[])),
        (
            "target-rate-interval-rule",
            lambda d, p: p["targets"][0].update(expr=p["targets"][0]["expr"].replace("$__rate_interval", "5m")),
        ),
        (
            "target-job-rule",
            lambda d, p: p["targets"][0].update(expr=p["targets"][0]["expr"].replace('job=~"$job", ', "")),
        ),
        (
            "target-instance-rule",
            lambda d, p: p["targets"][0].update(expr=p["targets"][0]["expr"].replace('instance=~"$instance", ', "")),
        ),
        (
            "target-promql-rule",
            lambda d, p: p["targets"][0].update(expr="rate(litellm_requests_total[$__rate_interval])"),
        ),
        ("uneditable-dashboard-rule", lambda d, p: d.update(editable=True)),
    ],
)
def test_each_dashboard_linter_rule_catches_its_case(rule, change):
    found = _broken(change)
    assert any(f"{rule}:" in f for f in found), found


def test_the_output_carries_no_legacy_or_null_fields():
    for data in dashboards.build_all(DEFAULT).values():
        assert not set(data) & set(dashboards.LEGACY_DASHBOARD) and data["editable"] is False
        for panel in dashboard_lint.iter_panels(data):
            assert not set(panel) & set(dashboards.LEGACY_PANEL), panel["title"]
            assert None not in panel.values(), panel["title"]
            defaults = panel.get("fieldConfig", {}).get("defaults", {})
            assert None not in defaults.values(), panel["title"]
            if panel["type"] == "gauge":
                assert not set(defaults) & set(dashboards.GAUGE_OPTIONS)
        # the one null Grafana's convention wants (README): a threshold's base step has no lower bound
        nulls = list(_null_paths(data))
        assert nulls and all(p.endswith("thresholds.steps.0.value") for p in nulls), nulls


def _null_paths(node, path=""):
    if node is None:
        yield path
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _null_paths(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _null_paths(value, f"{path}.{i}")


def test_the_dashboards_name_no_metric_by_a_string():
    """Metrics come from the catalogue's constants (and Prometheus's own series from promql/build.py), as in
    the rules: a renamed metric cannot leave a dashboard reading a name that no longer exists."""
    import ast

    names = set(BY_NAME) | {s for m in CATALOGUE for s in m.sample_names(DEFAULT.namespace)}
    names |= set(PROMETHEUS_SERIES) - {"up"}  # "up" is also the text of the up/down value mapping
    for path in sorted(Path(dashboards.__file__).parent.glob("*.py")):
        typed = {node.value for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Constant)}
        assert not typed & names, (path.name, sorted(typed & names))
