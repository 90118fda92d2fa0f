"""cli: generate / generate --check exit codes and messages; settings errors exit 2 naming the key."""
from __future__ import annotations

import sys
import types

import pytest

from litellm_observe import cli, generate


@pytest.fixture
def fake_generator(monkeypatch):
    mod = types.ModuleType("fake_cli_gen")

    def outputs(settings, kubernetes=False):
        return {"dashboards/overview.json": f'{{"datasource": "{settings.dashboards.datasource}"}}\n'}

    mod.outputs = outputs
    monkeypatch.setitem(sys.modules, "fake_cli_gen", mod)
    monkeypatch.setattr(generate, "GENERATORS", ("fake_cli_gen",))
    monkeypatch.delenv("LITELLM_OBSERVE_CONFIG", raising=False)
    monkeypatch.setenv("CONFIG_FILE_PATH", "/nonexistent/config.yaml")


def test_generate_then_check(tmp_path, capsys, fake_generator):
    out = str(tmp_path)
    assert cli.main(["generate", "--out", out]) == 0
    assert "wrote" in capsys.readouterr().out
    assert cli.main(["generate", "--out", out, "--check"]) == 0
    assert "up to date" in capsys.readouterr().out
    # flags change the output: the committed file is now stale
    assert cli.main(["generate", "--out", out, "--check", "--datasource", "Other"]) == 1
    err = capsys.readouterr().err
    assert "dashboards/overview.json" in err and "stale" in err
    assert cli.main(["generate", "--out", out, "--datasource", "Other"]) == 0
    assert '"Other"' in (tmp_path / "dashboards/overview.json").read_text()


def test_bad_flag_value_exits_2_naming_the_key(tmp_path, capsys, fake_generator):
    assert cli.main(["generate", "--out", str(tmp_path), "--refresh", "soon"]) == 2
    assert "litellm_observe.dashboards.refresh" in capsys.readouterr().err


def test_bad_config_exits_2_naming_the_key(tmp_path, capsys, fake_generator):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("litellm_observe:\n  port: eighty\n")
    assert cli.main(["generate", "--out", str(tmp_path), "--config", str(cfg)]) == 2
    assert "litellm_observe.port" in capsys.readouterr().err


def test_tags_flag(tmp_path, fake_generator):
    s = cli._settings(types.SimpleNamespace(config=None, datasource=None, selector=None, title_prefix=None,
                                            refresh=None, tags="a, b,,c"))
    assert s.dashboards.tags == ("a", "b", "c")


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["frobnicate"])
    assert info.value.code == 2
