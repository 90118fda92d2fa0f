"""compat: supported versions, one source of truth with pyproject; the startup line and its warnings;
importing the package, the CLI and the exporter never imports litellm."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from litellm_observe import __version__, compat

REPO = Path(__file__).resolve().parent.parent


def test_the_runtime_requirement_is_the_oldest_supported_release_with_no_upper_bound_and_no_extras():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    litellm = [d for d in deps if d.split(">")[0].split("=")[0].split("[")[0].strip() == "litellm"]
    assert litellm == [f"litellm>={compat.OLDEST_SUPPORTED}"]


def test_the_suite_runs_on_the_pinned_release():
    """The test extra pins LiteLLM to SUITE_RELEASE, and the suite runs on it (scripts/test installs it):
    a suite whose LiteLLM moved with the package index would fail here, not somewhere deep."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    litellm = [d for d in extras["test"] if d.split("[")[0].split("=")[0].strip() == "litellm"]
    assert litellm == [f"litellm[proxy]=={compat.SUITE_RELEASE}"]
    assert compat.litellm_version() == compat.SUITE_RELEASE, (
        f"litellm {compat.litellm_version()} is installed, the suite is pinned to {compat.SUITE_RELEASE}: "
        "pip install -e '.[test]' (scripts/test does)"
    )


def test_the_matrix_runs_the_oldest_and_the_newest_around_the_suite():
    parsed = [compat.parse(v) for v in (compat.OLDEST_SUPPORTED, compat.SUITE_RELEASE, compat.NEWEST_TESTED)]
    assert parsed == sorted(parsed) and len(set(compat.MATRIX + (compat.SUITE_RELEASE,))) == 3


@pytest.mark.parametrize(
    "version, parsed",
    [("1.109.1", (1, 109, 1)), ("1.75.5.post2", (1, 75, 5)), ("1.110.0rc1", (1, 110, 0)), ("2", (2,)), ("garbage", ())],
)
def test_parse(version, parsed):
    assert compat.parse(version) == parsed


def test_startup_line_and_warnings():
    line, warning = compat.startup_line(compat.NEWEST_TESTED)
    assert line == f"litellm_observe {__version__} with litellm {compat.NEWEST_TESTED}" and warning is None
    _, warning = compat.startup_line("1.999.0")
    assert "newer than the newest release tested" in warning and compat.NEWEST_TESTED in warning
    _, warning = compat.startup_line("1.0.0")
    assert "older than the oldest release supported" in warning


@pytest.mark.parametrize(
    "module",
    [
        "litellm_observe",
        "litellm_observe.cli",
        "litellm_observe.exporter.service",
        "litellm_observe.exporter.__main__",
        "litellm_observe.generators.generate",
        "litellm_observe.compat",
    ],
)
def test_importing_never_imports_litellm(module):
    code = f"import sys, {module}; print('litellm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr
