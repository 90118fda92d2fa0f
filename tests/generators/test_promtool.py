"""The promtool wrapper: finding promtool, check/test rules, check metrics."""

from __future__ import annotations

import os
import stat

import pytest

from litellm_observe.generators import promtool, rules
from litellm_observe.generators.options import load
from tests.generators.shared import write

S = load(section={}, environ={})
GOOD_EXPOSITION = """# HELP litellm_requests_total Client requests.
# TYPE litellm_requests_total counter
litellm_requests_total{model="gpt-4o",provider="openai",team="a",status_code="200"} 3
# HELP litellm_request_duration_seconds End-to-end duration.
# TYPE litellm_request_duration_seconds histogram
litellm_request_duration_seconds_bucket{le="1.0"} 1
litellm_request_duration_seconds_bucket{le="+Inf"} 2
litellm_request_duration_seconds_sum 3.5
litellm_request_duration_seconds_count 2
"""


def test_promtool_is_installed_for_the_tests():
    assert os.path.isfile(promtool.find()), "tests need promtool: scripts/test installs it"


def test_promtool_variable_wins_over_path(tmp_path):
    fake = tmp_path / "my-promtool"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    assert promtool.find({"PROMTOOL": str(fake), "PATH": ""}) == str(fake)


def test_missing_promtool_says_how_to_install(tmp_path):
    with pytest.raises(promtool.PromtoolMissing, match="apt-get install prometheus"):
        promtool.find({"PATH": str(tmp_path)})
    with pytest.raises(promtool.PromtoolMissing, match="PROMTOOL=/nowhere/promtool is not an executable"):
        promtool.find({"PROMTOOL": "/nowhere/promtool"})


def test_check_metrics_accepts_a_good_exposition():
    assert promtool.check_metrics(GOOD_EXPOSITION) == (True, "")


@pytest.mark.parametrize(
    "bad, says",
    [
        ("# HELP litellm_requests Requests.\n# TYPE litellm_requests counter\nlitellm_requests 1\n", '"_total" suffix'),
        ("litellm_requests_total{model=gpt} 1\n", "pars"),
    ],
)
def test_check_metrics_rejects_a_bad_exposition(bad, says):
    ok, output = promtool.check_metrics(bad)
    assert not ok and says in output


def test_check_rules_reports_a_broken_rule_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("groups:\n- name: x\n  rules:\n  - alert: X\n    expr: sum(rate(x[5m]) > \n")
    ok, output = promtool.check_rules(str(path))
    assert not ok and "bad.yaml" in output


def test_a_broken_unit_test_makes_the_wrapper_fail(tmp_path, default_output, capsys):
    assert default_output.options == S
    root = write(tmp_path, default_output.files)
    path = os.path.join(root, rules.TESTS_DIR, "high-error-rate.yaml")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    # expect the alert a minute earlier than `for` allows
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace("eval_time: 6m", "eval_time: 5m"))
    ok, output = promtool.test_rules(path)
    assert not ok and "LitellmHighErrorRate" in output
