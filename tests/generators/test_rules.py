"""The generated rules: content, determinism, configuration, promtool on fresh and committed output."""

from __future__ import annotations

import os

import pytest
import yaml

from litellm_observe.config import SettingsError
from litellm_observe.generators import check, generate, promtool, rules
from litellm_observe.generators.options import load
from litellm_observe.generators.promql import durations as promql_durations
from litellm_observe.generators.promql import lint as promql_lint
from litellm_observe.generators.promql.build import fmt
from litellm_observe.generators.rules import alerts, lint, slo
from tests.generators.shared import write

pytestmark = pytest.mark.usefixtures("memo_promtool")  # promtool's verdict on the same files, once a run
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ISSUE_ALERTS = {
    "LitellmHighErrorRate",
    "LitellmRateLimitHeadroom",
    "LitellmHighP99Latency",
    "LitellmHighTimeToFirstToken",
    "LitellmFallbacksFailing",
    "LitellmRetryStorm",
    "LitellmSpendBurnHigh",
    "LitellmCacheHitRateLow",
    "LitellmProviderErrorBudgetBurn",
    "LitellmMetricsAbsent",
    "LitellmObserveInternalErrors",
    "LitellmObserveLabelOverflow",
}


def settings(alerts: dict | None = None):
    """Options with these `alerts:` keys (nested as in the config section)."""
    return load(section={"alerts": alerts} if alerts else {}, environ={})


def rules_by_name(files: dict[str, str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for rel in (rules.RULES_FILE, rules.ALERTS_FILE):
        for group in yaml.safe_load(files[rel])["groups"]:
            for rule in group["rules"]:
                out.setdefault(rule.get("alert") or rule["record"], []).append(rule)
    return out


def promtool_passes(root: str) -> None:
    rule_files = [os.path.join(root, p) for p in (rules.RULES_FILE, rules.ALERTS_FILE)]
    ok, output = promtool.check_rules(*rule_files)
    assert ok, output
    tests_dir = os.path.join(root, rules.TESTS_DIR)
    ok, output = promtool.test_rules(*(os.path.join(tests_dir, f) for f in sorted(os.listdir(tests_dir))))
    assert ok, output


def test_every_alert_from_the_issue_is_generated_with_its_defaults(default_output):
    by_name = rules_by_name(default_output.files)
    assert ISSUE_ALERTS <= set(by_name)
    assert by_name["LitellmHighErrorRate"][0]["for"] == "5m"
    assert "> 0.05" in by_name["LitellmHighErrorRate"][0]["expr"]
    assert by_name["LitellmHighP99Latency"][0]["for"] == "10m"
    assert "> 30\n" in by_name["LitellmHighP99Latency"][0]["expr"]
    assert {r["labels"]["resource"] for r in by_name["LitellmRateLimitHeadroom"]} == {"requests", "tokens"}
    assert by_name["LitellmCacheHitRateLow"][0]["labels"]["severity"] == "info"
    assert by_name["LitellmObserveLabelOverflow"][0]["labels"]["severity"] == "warning"


def test_slo_windows_follow_the_workbook(default_output):
    burn = rules_by_name(default_output.files)["LitellmProviderErrorBudgetBurn"]
    got = {(r["labels"]["long_window"], r["labels"]["short_window"], r["labels"]["severity"]): r["expr"] for r in burn}
    assert set(got) == {
        ("1h", "5m", "critical"),
        ("6h", "30m", "critical"),
        ("1d", "2h", "warning"),
        ("3d", "6h", "warning"),
    }
    assert "(14.4 * (1 - 0.995))" in got[("1h", "5m", "critical")]
    assert "(6 * (1 - 0.995))" in got[("6h", "30m", "critical")]
    assert "(3 * (1 - 0.995))" in got[("1d", "2h", "warning")]
    assert "(1 * (1 - 0.995))" in got[("3d", "6h", "warning")]
    # the same table drives the recording rules: one ratio per window the alerts use
    records = {r.record for r in rules.slo_recording_rules(settings())}
    assert records == {
        f"provider:litellm_provider_errors:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
    }


def test_each_topic_has_its_own_alert_group_holding_exactly_its_alerts(default_output):
    groups = yaml.safe_load(default_output.files[rules.ALERTS_FILE])["groups"]
    held = {g["name"]: [r["alert"] for r in g["rules"]] for g in groups}
    topics = {d.build.__module__.rsplit(".", 1)[-1] for d in alerts.ALERTS}
    assert set(held) == {f"litellm-observe-{t}.alerts" for t in topics}  # one group per topic module
    for name, names in held.items():
        assert names, name
        assert {rules.alert_group(d) for d in alerts.ALERTS if d.name in names} == {name}
    declared = [d.name for d in alerts.ALERTS]
    assert sorted(set(sum(held.values(), []))) == sorted(declared)  # every alert, each in one group
    assert held["litellm-observe-upstream.alerts"][:2] == ["LitellmHighErrorRate", "LitellmRateLimitHeadroom"]


def test_ratios_only_patient_alerts_read_are_recorded_in_a_slower_group(default_output):
    groups = {g["name"]: g for g in yaml.safe_load(default_output.files[rules.RULES_FILE])["groups"]}
    fast, slow = groups[rules.RECORDING_GROUP], groups[rules.SLOW_GROUP]
    assert "interval" not in fast and slow["interval"] == slo.SLOW_INTERVAL == "2m"
    ratio = "provider:litellm_provider_errors:ratio_rate"
    # the page's fast pair (1h/5m, for 2m) and LitellmHighErrorRate (5m, for 5m) read 5m and 1h
    assert [r["record"] for r in fast["rules"]] == [ratio + w for w in ("5m", "1h")]
    assert [r["record"] for r in slow["rules"]] == [ratio + w for w in ("30m", "2h", "6h", "1d", "3d")]
    # every alert reading a slow ratio holds for PATIENT (five evaluations of that group) or longer
    readers = [
        r
        for g in yaml.safe_load(default_output.files[rules.ALERTS_FILE])["groups"]
        for r in g["rules"]
        if any(rule["record"] in r["expr"] for rule in slow["rules"])
    ]
    assert {r["alert"] for r in readers} == {"LitellmProviderErrorBudgetBurn"}
    assert min(promql_durations.seconds(r["for"]) for r in readers) == promql_durations.seconds("15m")
    assert promql_durations.seconds(slo.PATIENT) == 5 * promql_durations.seconds(slo.SLOW_INTERVAL)


RATIO = "provider:litellm_provider_errors:ratio_rate"


def test_an_impatient_reader_keeps_a_ratio_at_the_evaluation_interval():
    patient = rules.alert_groups(alerts.specs(settings()))
    impatient = [
        *patient,
        {"name": "x", "rules": [{"alert": "X", "for": "9m", "expr": f"{RATIO}6h > 1"}]},
    ]
    assert "6h" in rules.slow_windows(settings(), patient)
    assert "6h" not in rules.slow_windows(settings(), impatient)
    assert "3d" in rules.slow_windows(settings(), impatient)  # a word match: ratio_rate6h is not ratio_rate3d's


def test_burn_factors_scale_with_the_slo_window():
    factors = [slo.factor(w, settings({"slo_window": "28d"}).alerts) for w in slo.WINDOWS]
    assert factors == pytest.approx([13.44, 5.6, 2.8, 2.8 / 3])


def test_output_is_deterministic():
    first, second = rules.outputs(settings(), kubernetes=True), rules.outputs(settings(), kubernetes=True)
    assert first == second
    assert list(first) == sorted(first)


def test_generated_rules_pass_lint_and_every_alert_has_tests_and_a_runbook(default_output):
    s, files = default_output.options, default_output.files
    groups = [g for rel in (rules.RULES_FILE, rules.ALERTS_FILE) for g in yaml.safe_load(files[rel])["groups"]]
    assert lint.problems(groups, s, files[rules.RUNBOOKS]) == []
    for spec in alerts.specs(s):
        test_file = yaml.safe_load(files[f"{rules.TESTS_DIR}/{rules.unit_tests.file_name(spec.name)}"])
        checks = [c for t in test_file["tests"] for c in t["alert_rule_test"]]
        assert any(c["exp_alerts"] for c in checks), f"{spec.name}: no case where it fires"
        assert any(not c["exp_alerts"] for c in checks), f"{spec.name}: no case where it does not"
        assert f"## {spec.name}\n" in files[rules.RUNBOOKS]


def test_fresh_output_passes_promtool(default_output):
    assert default_output.options == settings()
    promtool_passes(default_output.root)


def test_committed_output_is_current_and_passes_promtool():
    s = settings()
    stale = [p for p in generate.stale(REPO, s) if p.startswith(("alerts/", rules.RUNBOOKS))]
    assert stale == [], "run `litellm_observe generate` and commit"
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        assert rules.readme_blocks(s)["alerts"] in f.read()
    promtool_passes(REPO)


def test_non_default_settings_change_the_expressions_and_still_pass_promtool(tmp_path):
    s = settings(
        {
            "selector": 'namespace="llm"',
            "slo_objective": 0.999,
            "high_error_rate": {"ratio": 0.1, "for": "3m"},
            "high_p99_latency": {"seconds": 20.48},
            "cache_hit_rate_low": {"severity": "warning"},
        }
    )
    files = rules.outputs(s)
    by_name = rules_by_name(files)
    high = by_name["LitellmHighErrorRate"][0]
    assert "ratio_rate5m > 0.1\n" in high["expr"] and high["for"] == "3m"
    assert "> 20.48" in by_name["LitellmHighP99Latency"][0]["expr"]
    assert "(14.4 * (1 - 0.999))" in by_name["LitellmProviderErrorBudgetBurn"][0]["expr"]
    assert by_name["LitellmCacheHitRateLow"][0]["labels"]["severity"] == "warning"
    # the selector reaches every selection of a catalogue metric and `up`
    for name, group in by_name.items():
        for rule in group:
            for selected in promql_lint.series_names(rule["expr"]):
                if ":" not in selected:
                    assert f"{selected}{{" in rule["expr"] and 'namespace="llm"' in rule["expr"], (name, selected)
    assert files != rules.outputs(settings())
    promtool_passes(write(tmp_path, files))


def test_ratelimit_headroom_does_not_sum_remaining_over_replicas(default_output):
    expr = rules_by_name(default_output.files)["LitellmRateLimitHeadroom"][0]["expr"]
    assert expr.startswith("min by (provider, model)")


def test_kubernetes_prometheus_rule_holds_the_same_groups(tmp_path, default_output):
    s = default_output.options
    files = rules.outputs(s, kubernetes=True)
    assert rules.KUBERNETES_FILE not in rules.outputs(s)
    resource = yaml.safe_load(files[rules.KUBERNETES_FILE])
    assert resource["apiVersion"] == "monitoring.coreos.com/v1" and resource["kind"] == "PrometheusRule"
    plain = [g for rel in (rules.RULES_FILE, rules.ALERTS_FILE) for g in yaml.safe_load(files[rel])["groups"]]
    assert resource["spec"]["groups"] == plain
    root = write(tmp_path, {**default_output.files, **files})
    assert check.check_all(root, s) == 0


def test_an_objective_too_low_for_the_fast_burn_is_refused():
    with pytest.raises(ValueError, match="too low"):
        rules.outputs(settings({"slo_objective": 0.9}))


@pytest.mark.parametrize(
    "override",
    [
        {"high_p99_latency": {"seconds": 31}},
        {"high_time_to_first_token": {"seconds": 30.0}},
        {"high_error_rate": {"for": "five minutes"}},
        {"cache_hit_rate_low": {"severity": "page"}},
        {"selector": "namespace=llm"},
        {"slo_error_types": ["nope"]},
    ],
)
def test_bad_alert_options_are_refused(override):
    with pytest.raises(SettingsError, match="alerts."):
        settings(override)


def test_readme_block_lists_every_alert_and_recording_rule():
    block = rules.readme_blocks(settings())["alerts"]
    for name in ISSUE_ALERTS:
        assert f"`{name}`" in block
    for r in rules.recording_rules(settings()):
        assert f"`{r.record}`" in block


def test_default_histogram_thresholds_are_bucket_edges():
    defaults = settings().alerts
    from litellm_observe.catalogue import metric

    assert defaults.high_p99_latency.seconds in metric("request_duration_seconds").buckets
    assert defaults.high_time_to_first_token.seconds in metric("time_to_first_token_seconds").buckets


def _ratio():
    from hypothesis import strategies as st

    return st.floats(min_value=0.01, max_value=0.95).map(lambda x: round(x, 3))


def test_any_valid_thresholds_give_clean_rules_and_matching_cases():
    from hypothesis import given
    from hypothesis import settings as hsettings
    from hypothesis import strategies as st

    from litellm_observe.catalogue import DURATION_BUCKETS, TTFT_BUCKETS

    @hsettings(max_examples=25, deadline=None)
    @given(
        error_ratio=_ratio(),
        headroom=_ratio(),
        cache=_ratio(),
        p99=st.sampled_from(DURATION_BUCKETS[:-1]),
        ttft=st.sampled_from(TTFT_BUCKETS[:-1]),
        objective=st.sampled_from([0.99, 0.995, 0.999, 0.9999]),
    )
    def check(error_ratio, headroom, cache, p99, ttft, objective):
        s = settings(
            {
                "high_error_rate": {"ratio": error_ratio},
                "rate_limit_headroom": {"ratio": headroom},
                "cache_hit_rate_low": {"ratio": cache},
                "high_p99_latency": {"seconds": p99},
                "high_time_to_first_token": {"seconds": ttft},
                "slo_objective": objective,
            }
        )
        files = rules.outputs(s)
        groups = [g for rel in (rules.RULES_FILE, rules.ALERTS_FILE) for g in yaml.safe_load(files[rel])["groups"]]
        assert lint.problems(groups, s, files[rules.RUNBOOKS]) == []
        by_name = rules_by_name(files)
        assert f"ratio_rate5m > {fmt(error_ratio)}\n" in by_name["LitellmHighErrorRate"][0]["expr"]
        assert f"> {fmt(p99)}\n" in by_name["LitellmHighP99Latency"][0]["expr"]
        # the generated promtool cases fire above and stay quiet below the configured threshold
        high = yaml.safe_load(files[f"{rules.TESTS_DIR}/high-error-rate.yaml"])["tests"]
        fired = [a for t in high for c in t["alert_rule_test"] for a in c["exp_alerts"]]
        assert [a["exp_annotations"]["description"].split(" ")[0] for a in fired] == [
            f"{min(error_ratio * 2, (error_ratio + 1) / 2) * 100:.4g}%"
        ]

    check()


def test_spend_per_caller_is_recorded_per_hour_and_per_day_and_the_runaway_alert_reads_the_raw_counter(
    default_output,
):
    recorded = {r.record: r.expr for r in rules.recording_rules(settings())}
    for window in ("1h", "1d"):
        expr = recorded[f"dimension_caller:litellm_caller_spend_usd:increase{window}"]
        assert expr.strip() == f"sum by (dimension, caller) (increase(litellm_caller_spend_usd_total[{window}]))"
    (runaway,) = rules_by_name(default_output.files)["LitellmCallerSpendRunaway"]
    assert "[1d] offset 1h" in runaway["expr"] and "dimension_caller:" not in runaway["expr"]
    assert "> 10 *" in runaway["expr"] and "> 5" in runaway["expr"]


def test_latency_is_judged_per_endpoint_and_retries_over_every_endpoint(default_output):
    by_name = rules_by_name(default_output.files)
    (latency,) = by_name["LitellmHighP99Latency"]
    assert "by (model, endpoint, le)" in latency["expr"]
    (retries,) = by_name["LitellmRetryStorm"]
    assert "endpoint" not in retries["expr"]
