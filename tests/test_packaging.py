"""Installing this package beside the LiteLLM an operator runs changes no installed version of litellm
(issue 10): a dry run into each virtualenv of the compatibility matrix (scripts/compat-venv) must install
litellm-observe and leave litellm alone."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from litellm_observe import compat

REPO = Path(__file__).resolve().parent.parent


def _venv(version: str) -> Path:
    venv = REPO / ".venv-compat" / f"litellm-{version}"
    if not (venv / "bin" / "python").exists():
        pytest.skip(f"{venv} is made by scripts/test (scripts/compat-venv {version})")
    return venv


def _would_install(venv: Path, version: str) -> dict[str, str]:
    overrides = REPO / "tests" / "compat" / f"overrides-{version}.txt"
    if overrides.exists():
        # This venv was built with uv and overrides (releases the index here lacks); pip, not told of them,
        # would take litellm's own requirements as unmet and "repair" them. Ask the installer that built it.
        out = subprocess.run(
            [
                str(venv / "bin" / "uv"),
                "pip",
                "install",
                "--python",
                str(venv / "bin" / "python"),
                "--dry-run",
                "--override",
                str(overrides),
                str(REPO),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert out.returncode == 0, out.stderr
        return {
            line.split()[1].split("==")[0].split("@")[0].strip(): line
            for line in out.stderr.splitlines()
            if line.lstrip().startswith(("+", "-"))
        }
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--dry-run", "--quiet", "--report", "-", str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    return {i["metadata"]["name"]: i["metadata"]["version"] for i in json.loads(out.stdout)["install"]}


@pytest.mark.parametrize("version", [compat.OLDEST_SUPPORTED, compat.NEWEST_TESTED])
def test_installing_beside_litellm_changes_no_litellm(version):
    venv = _venv(version)
    changes = _would_install(venv, version)
    assert "litellm-observe" in changes, changes
    assert not [name for name in changes if name.startswith("litellm") and name != "litellm-observe"], changes
