"""cli: generate / generate --check exit codes and messages; settings errors exit 2 naming the key."""

from __future__ import annotations

import sys
import types

import pytest

from litellm_observe import cli
from litellm_observe.generators import generate


@pytest.fixture
def fake_generator(monkeypatch):
    def outputs(options, kubernetes=False):
        return {"dashboards/overview.json": f'{{"datasource": "{options.dashboards.datasource}"}}\n'}

    monkeypatch.setattr(generate, "GENERATORS", (generate.Generator("fake", outputs, lambda options: {}),))
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
    # the hint repeats the options, so running it as printed makes the check pass
    assert f"run `litellm_observe generate --out {out} --datasource Other` and commit" in err
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
    s = cli._options(
        types.SimpleNamespace(
            config=None, datasource=None, selector=None, title_prefix=None, refresh=None, tags="a, b,,c"
        )
    )
    assert s.dashboards.tags == ("a", "b", "c")


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["frobnicate"])
    assert info.value.code == 2


# ---- issue 9: arguments validated with clear messages and non-zero exits, no tracebacks ---------------------
def _run_cli(*args, env=None):
    import os
    import subprocess

    p = subprocess.run(
        [sys.executable, "-m", "litellm_observe", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    return p.returncode, p.stdout + p.stderr


@pytest.mark.parametrize(
    "args, says",
    [
        (["serve-metrics", "--dir", ".", "--port", "-5"], "is not a TCP port"),
        (["serve-metrics", "--dir", ".", "--port", "99999"], "is not a TCP port"),
        (["serve-metrics", "--dir", ".", "--port", "lots"], "is not a port number"),
        (["serve-metrics", "--dir", ".", "--address", "1.2.3.999"], "is not an IPv4 or IPv6 address"),
        (["serve-metrics", "--dir", "/nonexistent/metrics"], "no such directory"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(args, says):
    code, out = _run_cli(*args)
    assert code == 2 and says in out and "Traceback" not in out, out


def test_serve_metrics_refuses_a_directory_others_can_write(tmp_path):
    import os

    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    code, out = _run_cli("serve-metrics", "--dir", str(shared), "--address", "127.0.0.1", "--port", "1")
    assert code == 2 and "others can write" in out and "Traceback" not in out, out


def test_check_reads_the_same_config_as_generate(tmp_path):
    """A non-default configuration (namespace, selector, thresholds, runbook URL) generated and checked end to
    end: `check` used to lint against the defaults and failed on any other namespace."""
    import yaml

    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model_list": [],
                "litellm_observe": {
                    "namespace": "acme",
                    "alerts": {
                        "selector": 'cluster="prod"',
                        "high_error_rate": {"ratio": 0.1},
                        "high_p99_latency": {"seconds": 10.24},
                        "runbook_base_url": "https://runbooks.example/litellm.md",
                    },
                    "dashboards": {"selector": 'cluster="prod"'},
                },
            }
        )
    )
    out = tmp_path / "out"
    code, text = _run_cli("generate", "--out", str(out), "--config", str(config))
    assert code == 0, text
    assert "acme_provider_errors_total" in (out / "alerts" / "litellm-rules.yaml").read_text()
    assert "litellm_" not in (out / "alerts" / "litellm-alerts.yaml").read_text()
    code, text = _run_cli("check", "--out", str(out), "--config", str(config))
    assert code == 0, text
    code, text = _run_cli("check", "--out", str(out))  # against the defaults: the namespace does not match
    assert code == 1 and "acme_" in text, text


def test_a_config_file_that_does_not_exist_is_an_error_not_the_defaults(tmp_path):
    code, out = _run_cli("generate", "--out", str(tmp_path), "--config", str(tmp_path / "missing.yaml"))
    assert code == 2 and "missing.yaml" in out and "Traceback" not in out, out


def test_the_check_hint_names_the_config_and_kubernetes(tmp_path, capsys, fake_generator):
    cfg = tmp_path / "my config.yaml"
    cfg.write_text("litellm_observe:\n  port: 9464\n")
    assert cli.main(["generate", "--out", str(tmp_path / "o"), "--config", str(cfg), "--kubernetes", "--check"]) == 1
    assert (
        f"run `litellm_observe generate --config '{cfg}' --out {tmp_path / 'o'} --kubernetes` and commit"
        in capsys.readouterr().err
    )


@pytest.mark.parametrize(
    "command, says", [(["generate", "--help"], "PodMonitor"), (["check", "--help"], "promtool must be on the PATH")]
)
def test_help_says_what_is_written_and_needed(command, says, capsys):
    with pytest.raises(SystemExit):
        cli.main(command)
    assert says in " ".join(capsys.readouterr().out.split())


def test_generate_refuses_a_symlink_with_exit_2_and_says_what_it_removed(tmp_path, capsys, fake_generator):
    victim = tmp_path / "victim.json"
    victim.write_text("precious")
    (tmp_path / "out" / "dashboards").mkdir(parents=True)
    (tmp_path / "out" / "dashboards" / "overview.json").symlink_to(victim)
    assert cli.main(["generate", "--out", str(tmp_path / "out")]) == 2
    assert "is a symbolic link" in capsys.readouterr().err and victim.read_text() == "precious"
    (tmp_path / "out" / "dashboards" / "overview.json").unlink()
    assert cli.main(["generate", "--out", str(tmp_path / "out")]) == 0
    generate.GENERATORS = (generate.Generator("fake", lambda options, kubernetes=False: {}, lambda options: {}),)
    assert cli.main(["generate", "--out", str(tmp_path / "out")]) == 0
    assert "removed " + str(tmp_path / "out" / "dashboards" / "overview.json") in capsys.readouterr().out
