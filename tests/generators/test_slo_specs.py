"""slo_specs: the Sloth and Pyrra specs say what the burn-rate rules say, and select the same series.

The selection is proven in promtool: one input (providers with counted failures, with only failures the
caller caused, with none; series outside `alerts.selector`), our recording rule, Sloth's queries and Pyrra's
selectors each turned into a ratio, and the expected ratios worked out here from the input."""

from __future__ import annotations

import os

import pytest
import yaml

from litellm_observe.generators import options as options_mod
from litellm_observe.generators import promtool, rules, slo_specs
from litellm_observe.generators.rules import alerts, slo

PER_MINUTE = {  # provider -> (upstream calls per minute, {error_type: failures per minute})
    "openai": (120, {"timeout": 3, "rate_limit": 2, "bad_request": 5}),
    "anthropic": (60, {"authentication": 4}),
    "azure": (30, {}),
}
CUSTOM = {"selector": 'cluster="prod"', "slo_error_types": ["timeout"], "slo_objective": 0.99, "slo_window": "28d"}


def load(alert_options: dict) -> options_mod.Options:
    return options_mod.load(environ={}, section={"alerts": alert_options} if alert_options else {})


@pytest.mark.parametrize("alert_options", [{}, CUSTOM], ids=["default", "custom"])
def test_specs_carry_the_objective_window_and_severities(alert_options):
    o = load(alert_options)
    files = slo_specs.outputs(o)
    sloth, pyrra = yaml.safe_load(files[slo_specs.SLOTH_FILE]), yaml.safe_load(files[slo_specs.PYRRA_FILE])
    objective = o.alerts.slo_objective * 100
    assert sloth["version"] == "prometheus/v1" and len(sloth["slos"]) == 1
    spec = sloth["slos"][0]
    assert spec["objective"] == pytest.approx(objective) and 0 < spec["objective"] < 100
    assert f"--default-slo-period={o.alerts.slo_window}" in spec["description"]
    assert spec["alerting"]["page_alert"]["labels"]["severity"] == o.alerts.provider_error_budget_burn.page_severity
    assert spec["alerting"]["ticket_alert"]["labels"]["severity"] == (
        o.alerts.provider_error_budget_burn.ticket_severity
    )
    assert all(q.count("{{.window}}") >= 1 for q in spec["sli"]["events"].values())
    assert pyrra["kind"] == "ServiceLevelObjective" and pyrra["apiVersion"] == "pyrra.dev/v1alpha1"
    assert float(pyrra["spec"]["target"]) == pytest.approx(objective)
    assert pyrra["spec"]["window"] == o.alerts.slo_window
    assert pyrra["spec"]["indicator"]["ratio"]["grouping"] == ["provider"]
    for text in files.values():
        for error_type in o.alerts.slo_error_types:
            assert error_type in text
        if o.alerts.selector:
            assert text.count(o.alerts.selector) >= 2  # errors and total


def _series(name: str, labels: dict[str, str], per_minute: float, minutes: int) -> dict:
    body = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return {"series": f"{name}{{{body}}}", "values": f"0+{per_minute}x{minutes}"}


def _input(o: options_mod.Options, minutes: int) -> list[dict]:
    """Each provider's calls over two instances, its failures by error type; with a selector, the same
    again outside it (ten times as many failures: they must not count)."""
    base = alerts.base_labels(o)
    places = [base] + ([{**base, "cluster": "elsewhere"}] if o.alerts.selector else [])
    out = []
    for place in places:
        scale = 1 if place is base else 10
        for provider, (calls, failures) in PER_MINUTE.items():
            for instance in ("proxy-a:9464", "proxy-b:9464"):
                labels = {**place, "instance": instance, "provider": provider, "model": "m"}
                out.append(_series("litellm_provider_requests_total", labels, calls / 2, minutes))
                for error_type, n in failures.items():
                    errors = {**labels, "error_type": error_type}
                    out.append(_series("litellm_provider_errors_total", errors, scale * n / 2, minutes))
    return out


def _expected(o: options_mod.Options, record: str, with_zeros: bool) -> list[dict]:
    """A promtool case per provider `record` must show: its ratio, within float rounding of the rates."""
    counted = set(o.alerts.slo_error_types)
    out = []
    for provider, (calls, failures) in sorted(PER_MINUTE.items()):
        failed = sum(n for error_type, n in failures.items() if error_type in counted)
        case = {"expr": f'abs({record}{{provider="{provider}"}} - {failed / calls!r}) < bool 1e-12', "eval_time": "15m"}
        case["exp_samples"] = [{"labels": f'{{provider="{provider}"}}', "value": 1}] if failed or with_zeros else []
        out.append(case)
    return out


@pytest.mark.parametrize("alert_options", [{}, CUSTOM], ids=["default", "custom"])
def test_sloth_and_pyrra_select_the_series_of_our_error_ratio(tmp_path, alert_options):
    o = load(alert_options)
    q, objective = alerts.scope(o), alerts.objective(slo.Objective, o.alerts)
    ours = rules.recording_groups(o, rules.alert_groups(alerts.specs(o)))[0]
    assert ours["name"] == rules.RECORDING_GROUP
    error_query, total_query = slo_specs.sloth_queries(q, objective, "5m")
    sloth = yaml.safe_load(slo_specs.outputs(o)[slo_specs.SLOTH_FILE])["slos"][0]["sli"]["events"]
    assert sloth["error_query"].replace("{{.window}}", "5m") == error_query  # what the spec holds, at 5m
    assert sloth["total_query"].replace("{{.window}}", "5m") == total_query
    pyrra = yaml.safe_load(slo_specs.outputs(o)[slo_specs.PYRRA_FILE])["spec"]["indicator"]["ratio"]
    # Pyrra's burn-rate rule for a ratio indicator: its selectors' rates, summed by its grouping
    pyrra_ratio = " / ".join(f"sum by (provider) (rate({pyrra[side]['metric']}[5m]))" for side in ("errors", "total"))
    theirs = {
        "name": "specs",
        "rules": [
            {"record": "sloth:ratio_rate5m", "expr": f"({error_query}) / ({total_query})"},
            {"record": "pyrra:ratio_rate5m", "expr": pyrra_ratio},
        ],
    }
    with open(tmp_path / "rules.yaml", "w") as f:
        yaml.safe_dump({"groups": [ours, theirs]}, f, sort_keys=False)
    tests = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": _input(o, 20),
                # Pyrra has no `or 0 * total`: no data for a provider that has not failed
                "promql_expr_test": _expected(o, slo.ratio_record("5m", q), True)
                + _expected(o, "sloth:ratio_rate5m", True)
                + _expected(o, "pyrra:ratio_rate5m", False),
            }
        ],
    }
    with open(tmp_path / "test.yaml", "w") as f:
        yaml.safe_dump(tests, f, sort_keys=False)
    ok, out = promtool.test_rules(os.fspath(tmp_path / "test.yaml"))
    assert ok, out
