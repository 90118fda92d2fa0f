"""generators/options: the `dashboards:` and `alerts:` keys, read and checked by the generators only."""

from __future__ import annotations

import dataclasses
import re

import pytest
import yaml

from litellm_observe.config import SettingsError
from litellm_observe.generators import fields, options
from litellm_observe.generators.options import GenerationSection, Options
from litellm_observe.generators.rules import alerts
from litellm_observe.settings import GENERATION_KEYS


def load(section=None, env=None, **kw) -> Options:
    return options.load(environ=env or {}, section=section if section is not None else {}, **kw)


def test_defaults():
    o = load()
    assert o == Options()
    assert o.namespace == "litellm" and o.settings.port == 9464
    assert o.alerts.high_error_rate.ratio == 0.05 and o.alerts.high_error_rate.for_ == "5m"
    assert o.alerts.metrics_absent.severity == "critical" and o.dashboards.refresh == "30s"


def test_section_values_and_the_runtime_settings_beside_them():
    o = load(
        {
            "namespace": "acme",
            "port": 9100,
            "dashboards": {"tags": ["a", "b"], "refresh": "1m"},
            "alerts": {"slo_objective": 0.999, "high_error_rate": {"ratio": 0.1}},
        }
    )
    assert o.namespace == "acme" and o.settings.port == 9100
    assert o.alerts.slo_objective == 0.999
    assert o.alerts.high_error_rate.ratio == 0.1 and o.alerts.high_error_rate.for_ == "5m"  # siblings keep defaults
    assert o.alerts.high_p99_latency.seconds == 30.0
    assert o.dashboards.tags == ("a", "b") and o.dashboards.refresh == "1m"


def test_env_overrides_key_by_key_and_flags_override_both():
    env = {
        "LITELLM_OBSERVE_ALERTS__HIGH_ERROR_RATE__RATIO": "0.2",
        "LITELLM_OBSERVE_ALERTS__HIGH_ERROR_RATE__FOR": "3m",
        "LITELLM_OBSERVE_DASHBOARDS__TAGS": "[x, y]",
        "LITELLM_OBSERVE_DASHBOARDS__DATASOURCE": "123",
        "LITELLM_OBSERVE_PORT": "9200",
    }
    o = load(
        {"alerts": {"high_error_rate": {"ratio": 0.05, "severity": "critical"}}},
        env,
        dashboards={"datasource": "Mimir"},
    )
    assert o.alerts.high_error_rate.ratio == 0.2 and o.alerts.high_error_rate.for_ == "3m"
    assert o.alerts.high_error_rate.severity == "critical"  # the section's sibling survives the override
    assert o.dashboards.tags == ("x", "y") and o.dashboards.datasource == "Mimir"
    assert load(env=env).dashboards.datasource == "123"  # a string option takes the variable as written
    assert o.settings.port == 9200


def test_config_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "model_list": [],
                "litellm_observe": {"namespace": "gw", "alerts": {"retry_storm": {"retries_per_request": 2}}},
            }
        )
    )
    o = options.load(str(path), environ={})
    assert o.namespace == "gw" and o.alerts.retry_storm.retries_per_request == 2.0
    path.write_text("model_list: []\nlitellm_observe:\n  alerts:\n")  # an empty key means the defaults
    assert options.load(str(path), environ={}) == Options()
    with pytest.raises(SettingsError, match="missing.yaml: no such config file"):
        options.load(str(tmp_path / "missing.yaml"), environ={})


@pytest.mark.parametrize(
    "section, env, key",
    [
        ({"alerts": {"high_error_rate": {"ratio": 1.5}}}, {}, "litellm_observe.alerts.high_error_rate.ratio"),
        ({"alerts": {"high_error_rate": {"ratio": "lots"}}}, {}, "litellm_observe.alerts.high_error_rate.ratio"),
        ({"alerts": {"high_error_rate": {"for": "five minutes"}}}, {}, "litellm_observe.alerts.high_error_rate.for"),
        (
            {"alerts": {"cache_hit_rate_low": {"severity": "page"}}},
            {},
            "litellm_observe.alerts.cache_hit_rate_low.severity",
        ),
        ({"alerts": {"high_p99_latency": {"seconds": 31}}}, {}, "litellm_observe.alerts.high_p99_latency.seconds"),
        ({"alerts": {"high_p99_latency": {"seconds": 327.68}}}, {}, "litellm_observe.alerts.high_p99_latency.seconds"),
        (
            {"alerts": {"high_time_to_first_token": {"seconds": 30.0}}},
            {},
            "litellm_observe.alerts.high_time_to_first_token.seconds",
        ),
        (
            {"alerts": {"retry_storm": {"retries_per_request": 0}}},
            {},
            "litellm_observe.alerts.retry_storm.retries_per_request",
        ),
        ({"alerts": {"daily_budget_usd": -1}}, {}, "litellm_observe.alerts.daily_budget_usd"),
        ({"alerts": {"slo_objective": 0.2}}, {}, "litellm_observe.alerts.slo_objective"),
        ({"alerts": {"slo_window": "a month"}}, {}, "litellm_observe.alerts.slo_window"),
        ({"alerts": {"slo_error_types": ["nope"]}}, {}, "litellm_observe.alerts.slo_error_types"),
        ({"alerts": {"slo_error_types": []}}, {}, "litellm_observe.alerts.slo_error_types"),
        (
            {"alerts": {"provider_error_budget_burn": {"page_severity": "p1"}}},
            {},
            "litellm_observe.alerts.provider_error_budget_burn.page_severity",
        ),
        ({"alerts": {"selector": "namespace=llm"}}, {}, "litellm_observe.alerts.selector"),
        ({"alerts": {"scrape_job": ""}}, {}, "litellm_observe.alerts.scrape_job"),
        ({"alerts": {"nope": 1}}, {}, "litellm_observe.alerts.nope"),
        ({"alerts": {"high_error_rate": {"threshold": 0.1}}}, {}, "litellm_observe.alerts.high_error_rate.threshold"),
        ({"alerts": {"high_error_rate": 0.1}}, {}, "litellm_observe.alerts.high_error_rate"),
        ({"alerts": 5}, {}, "litellm_observe.alerts"),
        ({"dashboards": {"refresh": "soon"}}, {}, "litellm_observe.dashboards.refresh"),
        ({"dashboards": {"refresh": 30}}, {}, "litellm_observe.dashboards.refresh"),
        ({"dashboards": {"selector": "not a matcher"}}, {}, "litellm_observe.dashboards.selector"),
        ({"dashboards": {"tags": "one"}}, {}, "litellm_observe.dashboards.tags"),
        ({"dashboards": {"tags": ["ok", ""]}}, {}, "litellm_observe.dashboards.tags"),
        ({"dashboards": {"datasource": " "}}, {}, "litellm_observe.dashboards.datasource"),
        ({"dashboards": {"title_prefix": "two\nlines"}}, {}, "litellm_observe.dashboards.title_prefix"),
        ({"dashboards": "x"}, {}, "litellm_observe.dashboards"),
        ({}, {"LITELLM_OBSERVE_ALERTS__HIGH_ERROR_RATE__RATIO": "2"}, "litellm_observe.alerts.high_error_rate.ratio"),
        ({}, {"LITELLM_OBSERVE_ALERTS__NOPE": "2"}, "litellm_observe.alerts.nope"),
        ({}, {"LITELLM_OBSERVE_ALERTS__SLO_OBJECTIVE": "[unclosed"}, "litellm_observe.alerts.slo_objective"),
        ({}, {"LITELLM_OBSERVE_ALERTS": "1", "LITELLM_OBSERVE_ALERTS__SLO_OBJECTIVE": "0.9"}, "litellm_observe.alerts"),
        (
            {"port": "eighty"},
            {},
            "litellm_observe.port",
        ),  # the runtime settings beside them are checked as a proxy does
    ],
)
def test_every_error_names_the_key(section, env, key):
    with pytest.raises(SettingsError) as info:
        load(section, env)
    message = str(info.value)
    assert message.startswith(key + ":") or message.startswith(key + " "), message


@pytest.mark.parametrize(
    "flags, key",
    [({"selector": "namespace=llm"}, "selector"), ({"refresh": "fast"}, "refresh"), ({"datasource": ""}, "datasource")],
)
def test_bad_flags_are_checked_as_the_section_is(flags, key):
    with pytest.raises(SettingsError, match=rf"^litellm_observe\.dashboards\.{key}:"):
        load(dashboards=flags)


def test_selector_forms():
    o = load({"dashboards": {"selector": ' namespace="llm", env !~ "dev.*", '}, "alerts": {"selector": 'a="b"'}})
    assert [str(m) for m in o.dashboards.matchers()] == ['namespace="llm"', 'env!~"dev.*"']
    assert [str(m) for m in o.alerts.matchers()] == ['a="b"']


def test_every_default_passes_its_own_check_and_says_what_it_sets():
    for key, f, default, _ in fields.leaves(GenerationSection):
        assert f.metadata["ok"](default), key
        assert f.metadata["doc"] and f.metadata["must_be"], key


def test_each_alert_group_is_named_after_its_alert_and_holds_for_and_severity():
    groups = {
        key.split(".")[1]: alert
        for key, _, _, alert in fields.leaves(GenerationSection)
        if alert and not key.startswith("alerts.alertmanager.")  # routing options, not an alert's
    }
    built = {a.name for spec in alerts.specs(Options()) for a in spec.alerts}
    assert set(groups.values()) == built
    for key, alert in groups.items():
        assert key == re.sub(r"(?<!^)(?=[A-Z])", "_", alert.removeprefix("Litellm")).lower()
    keys = {key for key, *_ in fields.leaves(GenerationSection)}
    for group in groups:
        if group != "provider_error_budget_burn":  # its `for`s are in slo.WINDOWS, one per window pair
            assert {f"alerts.{group}.for", f"alerts.{group}.severity"} <= keys, group


def test_the_runtime_loader_ignores_exactly_the_keys_the_generators_read():
    assert set(GENERATION_KEYS) == {f.name for f in dataclasses.fields(GenerationSection)}
