"""Golden files (as sloth keeps them): each folder under testdata/ holds a config.yaml and out/, the
exact output `litellm_observe generate --kubernetes` writes for it. A change to any generator shows
up here as a diff to review; UPDATE_GOLDEN=1 rewrites out/ (a test env knob, not a setting)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from litellm_observe.generators import check, generate
from litellm_observe.generators.options import load

TESTDATA = Path(__file__).parent / "testdata"
CASES = sorted(p.name for p in TESTDATA.iterdir() if (p / "config.yaml").is_file())


def _committed(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): p.read_text(encoding="utf-8") for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", CASES)
def test_generated_output_matches_the_golden_files(case):
    options = load(str(TESTDATA / case / "config.yaml"), environ={})
    files = generate.outputs(options, kubernetes=True)
    out = TESTDATA / case / "out"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        for rel, text in files.items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_text(text, encoding="utf-8")
        for rel in set(_committed(out)) - set(files):
            (out / rel).unlink()
    committed = _committed(out)
    assert sorted(committed) == sorted(files), "run with UPDATE_GOLDEN=1 and review the diff"
    for rel, text in files.items():
        assert committed[rel] == text, f"{case}/out/{rel} differs: run with UPDATE_GOLDEN=1 and review the diff"


@pytest.mark.parametrize("case", CASES)
def test_the_golden_output_passes_check_with_its_own_config(case, capsys):
    options = load(str(TESTDATA / case / "config.yaml"), environ={})
    assert check.check_all(str(TESTDATA / case / "out"), options) == 0, capsys.readouterr().out


def test_the_golden_input_moves_every_option_group_away_from_its_default():
    options = load(str(TESTDATA / "acme" / "config.yaml"), environ={})
    default = load(section={}, environ={})
    assert options.namespace != default.namespace
    assert options.dashboards != default.dashboards and options.alerts != default.alerts
    assert options.alerts.high_error_rate != default.alerts.high_error_rate
