"""settings: the `litellm_observe:` config section, LITELLM_OBSERVE_* overrides, errors naming the key."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import settings as settings_hyp
from hypothesis import strategies as st

from litellm_observe import settings
from litellm_observe import settings as s
from litellm_observe.settings import SettingsError


def load(section=None, env=None, **kw):
    return s.load(environ=env or {}, section=section if section is not None else {}, **kw)


def test_defaults():
    st = load()
    assert st == s.Settings()
    assert st.port == 9464 and st.namespace == "litellm"
    assert st.cap_for("team") == 500 and st.cap_for("model") == 200


def test_section_values():
    st = load({"port": 9000, "namespace": "acme", "label_cap": 7, "bearer_token": "t"})
    assert (st.port, st.namespace, st.label_cap) == (9000, "acme", 7)
    assert st.cap_for("model") == 7


def test_env_overrides_section_with_nesting():
    env = {
        "LITELLM_OBSERVE_PORT": "9100",
        "LITELLM_OBSERVE_EXPORTER": "false",
        "LITELLM_OBSERVE_LABEL_CAPS__TEAM": "9",
        "UNRELATED": "1",
        "LITELLM_OBSERVE_CONFIG": "/nonexistent.yaml",
    }  # names the file, not a setting
    st = load({"port": 9000, "label_caps": {"team": 5, "model": 7}}, env)
    assert st.port == 9100 and st.exporter is False
    assert st.cap_for("team") == 9
    assert st.cap_for("model") == 7  # the section's sibling key survives the nested override


@pytest.mark.parametrize(
    "section, env",
    [
        ({"alerts": {"high_error_rate": {"ratio": "garbage"}}, "dashboards": {"refresh": "soon"}}, {}),
        ({"alerts": 5, "dashboards": ["x"]}, {}),
        ({"alerts": {"no_such_option": 1}}, {}),
        (
            {},
            {
                "LITELLM_OBSERVE_ALERTS__HIGH_ERROR_RATE__RATIO": "[unclosed",
                "LITELLM_OBSERVE_DASHBOARDS": "1",
                "LITELLM_OBSERVE_DASHBOARDS__REFRESH": "soon",
                "LITELLM_OBSERVE_ALERTS__NOPE": "2",
            },
        ),
    ],
)
def test_generation_options_never_stop_a_proxy(section, env):
    """`dashboards:` and `alerts:` are read by the generators only: the runtime loader ignores them unread."""
    st = load({"port": 9100, **section}, env)
    assert st == s.Settings(port=9100)
    assert not hasattr(st, "alerts") and not hasattr(st, "dashboards")


def test_a_config_file_with_garbage_alert_options_loads_the_runtime_settings(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "model_list: []\nlitellm_observe:\n  port: 9300\n  alerts:\n    high_error_rate: {ratio: lots}\n"
        "    slo_objective: -1\n  dashboards: not even a mapping\n"
    )
    assert s.load(str(path), environ={}).port == 9300


def test_empty_env_value_is_none_except_for_a_secret():
    assert load({"metrics_dir": "/m"}, {"LITELLM_OBSERVE_METRICS_DIR": ""}).metrics_dir is None
    with pytest.raises(SettingsError, match="bearer_token: must not be empty"):  # never auth silently off
        load({"bearer_token": "t"}, {"LITELLM_OBSERVE_BEARER_TOKEN": ""})


def test_config_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"model_list": [], "litellm_observe": {"port": 9200}}))
    assert s.load(str(path), environ={}).port == 9200
    path.write_text(yaml.safe_dump({"model_list": []}))
    assert s.load(str(path), environ={}).port == 9464
    assert s.load(environ={"LITELLM_OBSERVE_CONFIG": str(path)}).port == 9464


def test_config_file_invalid_yaml_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("a: [unclosed\n")
    with pytest.raises(SettingsError, match="bad.yaml"):
        s.load(str(path), environ={})


def test_proxy_config_path(monkeypatch, tmp_path):
    monkeypatch.delitem(__import__("sys").modules, "litellm.proxy.proxy_server", raising=False)
    assert s.proxy_config_path({"LITELLM_OBSERVE_CONFIG": "/a.yaml", "CONFIG_FILE_PATH": "/b.yaml"}) == "/a.yaml"
    assert s.proxy_config_path({"CONFIG_FILE_PATH": "/b.yaml"}) == "/b.yaml"
    assert s.proxy_config_path({"WORKER_CONFIG": '{"config": "/c.yaml"}'}) == "/c.yaml"
    real = tmp_path / "w.yaml"
    real.write_text("{}")
    assert s.proxy_config_path({"WORKER_CONFIG": str(real)}) == str(real)
    assert s.proxy_config_path({"WORKER_CONFIG": "/no/such/file.yaml"}) is None
    assert s.proxy_config_path({}) is None


@pytest.mark.parametrize(
    "section, env, key",
    [
        ({"port": "abc"}, {}, "litellm_observe.port"),
        ({"port": 0}, {}, "litellm_observe.port"),
        ({"port": 70000}, {}, "litellm_observe.port"),
        ({"port": True}, {}, "litellm_observe.port"),
        ({"exporter": "yes please"}, {}, "litellm_observe.exporter"),
        ({"label_cap": 0}, {}, "litellm_observe.label_cap"),
        ({"label_cap": 1.5}, {}, "litellm_observe.label_cap"),
        ({"label_caps": {"team": 0}}, {}, "litellm_observe.label_caps.team"),
        ({"label_caps": {"colour": 3}}, {}, "litellm_observe.label_caps.colour"),
        ({"label_caps": [1]}, {}, "litellm_observe.label_caps"),
        ({"namespace": "1bad"}, {}, "litellm_observe.namespace"),
        ({"namespace": "has-dash"}, {}, "litellm_observe.namespace"),
        ({"inflight_timeout_seconds": 0}, {}, "litellm_observe.inflight_timeout_seconds"),
        ({"inflight_timeout_seconds": "soon"}, {}, "litellm_observe.inflight_timeout_seconds"),
        ({"event_batch_seconds": -0.1}, {}, "litellm_observe.event_batch_seconds"),
        ({"event_batch_seconds": 1.5}, {}, "litellm_observe.event_batch_seconds"),
        ({"event_batch_seconds": float("nan")}, {}, "litellm_observe.event_batch_seconds"),
        ({}, {"LITELLM_OBSERVE_EVENT_BATCH_SECONDS": "later"}, "litellm_observe.event_batch_seconds"),
        ({"bearer_token": 5}, {}, "litellm_observe.bearer_token"),
        ({"basic_auth_username": "u"}, {}, "litellm_observe.basic_auth_password"),
        ({"no_such_key": 1}, {}, "litellm_observe.no_such_key"),
        ({}, {"LITELLM_OBSERVE_PORT": "eighty"}, "litellm_observe.port"),
        ({}, {"LITELLM_OBSERVE_TYPO": "1"}, "litellm_observe.typo"),
        ({}, {"LITELLM_OBSERVE_PORT": "[unclosed"}, "litellm_observe.port"),
    ],
)
def test_every_error_names_the_key(section, env, key):
    with pytest.raises(SettingsError) as info:
        load(section, env)
    message = str(info.value)
    assert message.startswith(key + ":") or message.startswith(key + " "), message


def test_section_not_a_mapping():
    with pytest.raises(SettingsError, match="^litellm_observe: must be a mapping"):
        load(["port", 1])


def test_unknown_key_lists_the_known_ones():
    with pytest.raises(SettingsError, match="unknown setting") as info:
        load({"prot": 9000})
    assert "port" in str(info.value) and "alerts" in str(info.value)  # the generation keys are known too


def test_public_hides_secrets():
    st = load({"bearer_token": "sekrit", "basic_auth_username": "u", "basic_auth_password": "pw"})
    pub = st.public()
    assert pub["bearer_token"] == "***" and pub["basic_auth_password"] == "***"
    assert pub["basic_auth_username"] == "u"
    assert "sekrit" not in repr(pub) and "pw" not in str(pub.values())


def test_password_never_in_the_error():
    with pytest.raises(SettingsError) as info:
        load({"basic_auth_password": "hunter2"})
    assert "hunter2" not in str(info.value)


# ---- issue 9: every bad value a clear error naming its key, never showing a secret -------------------------
SECRET = "s3cr3t-Value-42"


@pytest.mark.parametrize(
    "section, env, key",
    [
        ({"bearer_token": ""}, {}, "litellm_observe.bearer_token"),
        ({}, {"LITELLM_OBSERVE_BEARER_TOKEN": ""}, "litellm_observe.bearer_token"),
        ({"basic_auth_username": "u", "basic_auth_password": ""}, {}, "litellm_observe.basic_auth_password"),
        ({"basic_auth_username": "", "basic_auth_password": SECRET}, {}, "litellm_observe.basic_auth_username"),
        ({"bearer_token": 123456}, {}, "litellm_observe.bearer_token"),
        ({"bearer_token": [SECRET]}, {}, "litellm_observe.bearer_token"),
        ({"basic_auth_username": "u", "basic_auth_password": 123456}, {}, "litellm_observe.basic_auth_password"),
        ({"basic_auth_username": "u", "basic_auth_password": {"v": SECRET}}, {}, "litellm_observe.basic_auth_password"),
        ({"basic_auth_password": SECRET}, {}, "litellm_observe.basic_auth_password"),
        ({"bind_address": "1.2.3.999"}, {}, "litellm_observe.bind_address"),
        ({"bind_address": "not an address"}, {}, "litellm_observe.bind_address"),
        ({"bind_address": ""}, {}, "litellm_observe.bind_address"),
        ({"bind_address": 8080}, {}, "litellm_observe.bind_address"),
        ({}, {"LITELLM_OBSERVE_PORT": "9000", "LITELLM_OBSERVE_PORT__X": "1"}, "litellm_observe.port"),
        ({}, {"LITELLM_OBSERVE_PORT__X": "1", "LITELLM_OBSERVE_PORT": "9000"}, "litellm_observe.port"),
        ({"port": -5}, {}, "litellm_observe.port"),
        ({"metrics_dir": ""}, {}, "litellm_observe.metrics_dir"),
        ({"metrics_dir_group_shared": "yes"}, {}, "litellm_observe.metrics_dir_group_shared"),
    ],
)
def test_bad_values_name_the_key_and_never_show_a_secret(section, env, key):
    with pytest.raises(SettingsError) as e:
        load(section, env)
    message = str(e.value)
    assert message.startswith(key + ":"), message
    assert SECRET not in message and "123456" not in message


@pytest.mark.parametrize("section", [False, 0, [], "text", ["a", "b"], 3.5])
def test_a_section_that_is_not_a_mapping_is_an_error(tmp_path, section):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"model_list": [], "litellm_observe": section}))
    with pytest.raises(SettingsError, match=r"^litellm_observe: must be a mapping"):
        s.load(str(path), environ={})


def test_an_empty_section_line_means_defaults(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("model_list: []\nlitellm_observe:\n")
    assert s.load(str(path), environ={}) == s.Settings()


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n"])
def test_a_config_whose_top_level_is_not_a_mapping_is_an_error(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(SettingsError, match="the top level must be a mapping") as e:
        s.load(str(path), environ={})
    assert str(path) in str(e.value)


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "127.0.0.1", "::1", "fe80::1", "localhost", "metrics.internal"])
def test_addresses_a_server_can_bind(address):
    assert load({"bind_address": address}).bind_address == address


def test_settings_survive_the_pipe_to_the_exporter_exactly():
    st = load(
        {
            "port": 19472,
            "bind_address": "127.0.0.1",
            "bearer_token": "tök€n",
            "namespace": "acme",
            "label_caps": {"team": 3},
        }
    )
    import json

    assert s.load(section=json.loads(s.dump(st)), environ={}) == st


# ---- hostile and careless configs (issue 21) ---------------------------------------------------------------------
SECRET = "s3cr3t-do-not-print-9f8e7d"


@pytest.mark.parametrize(
    "text",
    [
        f"litellm_observe:\n  - bearer_token: {SECRET}\n",  # a list instead of a mapping
        f'litellm_observe: "bearer_token: {SECRET}"\n',  # the whole section as one quoted string
        f"litellm_observe:\n  label_caps:\n    team: 5\n    bearer_token: {SECRET}\n",
        f"litellm_observe:\n  port: [{{basic_auth_password: {SECRET}}}]\n",
        f"litellm_observe:\n  alerts: {{nested: {{bearer_token: {SECRET}}}}}\n",
        f"litellm_observe:\n  bearer_token: {SECRET}\n  port: 'x\n",  # not YAML: PyYAML quotes the line
    ],
)
def test_no_error_shows_a_secret_whatever_the_shape(tmp_path, text):
    from litellm_observe.generators import options as gen_options

    cfg = tmp_path / "config.yaml"
    cfg.write_text(text)
    errors = []
    for load in (lambda: settings.load(str(cfg), environ={}), lambda: gen_options.load(str(cfg), environ={})):
        try:
            load()
        except SettingsError as e:  # a proxy reads the settings, `generate` both (alerts: is its alone)
            errors.append(str(e))
    assert errors
    for error in errors:
        assert SECRET not in error and len(error) < 2000, error  # bounded: at most a cut quote


def test_the_cli_prints_no_secret_either(tmp_path, capsys):
    from litellm_observe import cli

    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"litellm_observe:\n  - bearer_token: {SECRET}\n")
    assert cli.main(["generate", "--out", str(tmp_path / "out"), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "must be a mapping of settings" in err and SECRET not in err


@given(
    st.recursive(
        st.none() | st.integers() | st.floats() | st.text(max_size=30),
        lambda c: (
            st.lists(c, max_size=4)
            | st.dictionaries(
                st.sampled_from(["port", "bearer_token", "basic_auth_password", "x", "team", "alerts"]), c, max_size=4
            )
        ),
        max_leaves=30,
    ),
    st.sampled_from(["port", "label_caps", "namespace", "label_cap", "bind_address", "exporter"]),
)
@settings_hyp(max_examples=300, deadline=None)
def test_a_secret_at_any_depth_of_a_wrong_value_is_never_shown(value, key):
    def plant(v):
        if isinstance(v, dict):
            return {**{k: plant(x) for k, x in v.items()}, "bearer_token": SECRET}
        if isinstance(v, list):
            return [plant(x) for x in v]
        return v

    try:
        settings.load(section={key: plant(value)}, environ={})
    except SettingsError as e:
        assert SECRET not in str(e) and len(str(e)) < 600


def test_a_yaml_alias_bomb_is_refused_in_bounded_time_and_memory(tmp_path):
    """530 bytes, lists nested 9 deep by aliases: about 10^9 values once expanded."""
    import tracemalloc

    lines = ["litellm_observe:", "  namespace:", "    - &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"    - &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    cfg = tmp_path / "config.yaml"
    cfg.write_text("\n".join(lines) + "\n")
    tracemalloc.start()
    try:
        with pytest.raises(SettingsError, match="more than 10000 values once YAML aliases are expanded"):
            settings.load(str(cfg), environ={})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20  # the bomb was never expanded (it would take gigabytes)


@pytest.mark.parametrize(
    "section, key",
    [
        ({"namespace": "acme\n"}, "namespace"),
        ({"bind_address": "localhost\n"}, "bind_address"),
        ({"error_log_interval_seconds": float("nan")}, "error_log_interval_seconds"),
        ({"error_log_interval_seconds": -5}, "error_log_interval_seconds"),
        ({"error_log_interval_seconds": 0}, "error_log_interval_seconds"),
        ({"inflight_timeout_seconds": float("inf")}, "inflight_timeout_seconds"),
    ],
)
def test_values_that_passed_validation_and_should_not(section, key):
    with pytest.raises(SettingsError, match=f"litellm_observe.{key}: must"):
        settings.load(section=section, environ={})


@pytest.mark.parametrize(
    "alerts, key",
    [
        ({"scrape_job": 'a"b'}, "scrape_job"),
        ({"scrape_job": "a\\b"}, "scrape_job"),
        ({"scrape_job": "job\n"}, "scrape_job"),
        ({"high_error_rate": {"for": "5m\n"}}, "high_error_rate.for"),
        ({"high_error_rate": {"ratio": float("nan")}}, "high_error_rate.ratio"),
        ({"daily_budget_usd": float("inf")}, "daily_budget_usd"),
    ],
)
def test_generation_options_refuse_what_would_break_promql(alerts, key):
    from litellm_observe.generators import options as gen_options

    with pytest.raises(SettingsError, match=f"litellm_observe.alerts.{key}: must"):
        gen_options.load(section={"alerts": alerts}, environ={})


# ---- attribution (issue 23) -------------------------------------------------------------------------
def test_attribution_is_off_by_default_and_reads_as_a_list():
    assert load({}, {}).attribution == ()
    s = load({"attribution": ["key_alias", "tags", "metadata.project"]}, {})
    assert s.attribution == ("key_alias", "tags", "metadata.project")
    assert load({}, {"LITELLM_OBSERVE_ATTRIBUTION": "[user, end_user]"}).attribution == ("user", "end_user")


@pytest.mark.parametrize(
    "value, message",
    [
        (["team"], "must be one of key_alias, user, end_user, tags or metadata.<key>"),
        (["metadata."], "the key must be 1 to 64"),
        (["metadata.a/b"], "the key must be 1 to 64"),
        (["metadata.user_email"], "refused"),
        (["metadata.api_key"], "refused"),
        (["metadata.X-Forwarded-Auth"], "refused"),
        (["metadata.client_ip_address"], "refused"),
        (["metadata.user-agent"], "refused"),
        (["user", "user"], "names a dimension twice"),
        ([f"metadata.k{i}" for i in range(9)], "at most 8 dimensions"),
        ("key_alias", "must be a list of strings"),
    ],
)
def test_a_bad_attribution_is_refused_at_start(value, message):
    with pytest.raises(SettingsError, match="litellm_observe.attribution") as info:
        load({"attribution": value}, {})
    assert message in str(info.value)


def test_caller_dimensions_share_a_bounded_number_of_values_unless_label_caps_names_one():
    one = load({"attribution": ["key_alias"]}, {})
    four = load({"attribution": ["key_alias", "user", "end_user", "tags"], "label_caps": {"tags": 40}}, {})
    assert one.cap_for("caller.key_alias") == s.CALLER_VALUES
    assert four.cap_for("caller.user") == s.CALLER_VALUES // 4
    assert four.cap_for("caller.tags") == 40  # named: its own cap
    assert (
        load({"label_caps": {"metadata.project": 9}, "attribution": ["metadata.project"]}, {}).cap_for(
            "caller.metadata.project"
        )
        == 9
    )
    assert four.cap_for("user") == four.label_cap  # a label that is not a caller dimension keeps its cap


def test_event_batches_default_to_a_second_and_zero_records_at_once():
    assert settings.load(section={}, environ={}).event_batch_seconds == 1.0
    assert settings.load(section={"event_batch_seconds": 0}, environ={}).event_batch_seconds == 0.0
    assert settings.load(section={}, environ={"LITELLM_OBSERVE_EVENT_BATCH_SECONDS": "0.5"}).event_batch_seconds == 0.5
