"""`litellm_observe check` (generators/check.py): promtool, the rule lint and the dashboard lint on
the generated output, with the options `generate` read."""

from __future__ import annotations

import json
import os

import pytest

from litellm_observe.generators import check, generate, promtool, rules
from litellm_observe.generators.options import load
from tests.generators.conftest import write

S = load(section={}, environ={})
pytestmark = pytest.mark.usefixtures("memo_promtool")  # promtool's verdict on the same files, once a run


@pytest.fixture
def generated(tmp_path, default_output):
    """A folder of generated output to change: the default options' (built once a run), or `options`'."""

    def make(options=None) -> str:
        return write(tmp_path, default_output.files if options is None else generate.outputs(options))

    assert default_output.options == S
    return make


def test_the_catalogue_exposition_passes_promtool():
    assert promtool.check_metrics(check.catalogue_exposition(S.namespace)) == (True, "")
    assert "acme_requests_total" in check.catalogue_exposition("acme")


def test_generated_output_passes_every_check(default_output, capsys):
    assert check.check_all(default_output.root, S) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and "ok   dashboard lint" in out and "ok   rule lint" in out


def test_a_non_default_namespace_and_selector_check_clean_with_the_same_options(generated, capsys):
    acme = load(
        section={"namespace": "acme", "alerts": {"selector": 'env="prod"'}, "dashboards": {"selector": 'env="prod"'}},
        environ={},
    )
    root = generated(acme)
    assert check.check_all(root, acme) == 0
    assert "FAIL" not in capsys.readouterr().out
    assert check.check_all(root, S) == 1  # acme_ names are not litellm_ names
    out = capsys.readouterr().out
    assert "FAIL rule lint" in out and "FAIL dashboard lint" in out


def test_a_broken_unit_test_fails_the_check(generated, capsys):
    root = generated()
    path = os.path.join(root, rules.TESTS_DIR, "high-error-rate.yaml")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace("eval_time: 6m", "eval_time: 5m"))
    assert check.check_all(root, S) == 1
    assert "FAIL promtool test rules" in capsys.readouterr().out


def test_a_broken_dashboard_query_fails_the_check_and_is_named(generated, capsys):
    root = generated()
    path = os.path.join(root, "dashboards", "litellm-overview.json")
    data = json.loads(open(path, encoding="utf-8").read())
    panel = next(p for p in data["panels"] if p.get("targets"))
    panel["targets"][0]["expr"] = "sum(rate(litellm_current_load[5m]))"
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f)
    assert check.check_all(root, S) == 1
    out = capsys.readouterr().out
    assert "FAIL dashboard lint" in out and "litellm-overview.json / " + panel["title"] in out
    assert "rate() on 'litellm_current_load', a gauge" in out


@pytest.mark.parametrize("missing", ["alerts", "dashboards"])
def test_missing_output_fails_and_says_to_generate(generated, capsys, missing):
    root = generated()
    for name in os.listdir(os.path.join(root, missing)):
        full = os.path.join(root, missing, name)
        if os.path.isfile(full):
            os.remove(full)
    assert check.check_all(root, S) == 1
    assert "run `litellm_observe generate`" in capsys.readouterr().out


def test_check_all_runs_the_lint(generated, capsys):
    root = generated()
    path = os.path.join(root, rules.ALERTS_FILE)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            text.replace(
                "summary: A provider fails too many upstream calls.",
                "summary: A provider fails too many upstream calls",
            )
        )
    assert check.check_all(root, S) == 1
    assert "LitellmHighErrorRate: summary must be a plain sentence" in capsys.readouterr().out


def test_check_all_without_promtool_explains(tmp_path, generated, monkeypatch, capsys):
    root = generated()
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("PROMTOOL", raising=False)
    assert check.check_all(root, S) == 2
    assert "apt-get install prometheus" in capsys.readouterr().out


def test_check_all_on_an_empty_folder_fails(tmp_path):
    assert check.check_all(str(tmp_path), S) == 1
