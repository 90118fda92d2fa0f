"""A small wrapper around Prometheus' `promtool` (check rules, test rules, check metrics) and Alertmanager's
`amtool` (check-config, routes test).

promtool is found through the PROMTOOL environment variable, then PATH; amtool through AMTOOL, then PATH.
What `litellm_observe check` runs with them is in generators/check.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping

INSTALL_HINT = (
    "promtool not found. Install it with Prometheus (Debian/Ubuntu: `sudo apt-get install prometheus`; "
    "elsewhere the release tarball from https://prometheus.io/download/ has it), then put it on PATH "
    "or set PROMTOOL=/path/to/promtool."
)


class PromtoolMissing(RuntimeError):
    pass


def find(environ: Mapping[str, str] = os.environ) -> str:
    explicit = environ.get("PROMTOOL")
    if explicit:
        if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            return explicit
        raise PromtoolMissing(f"PROMTOOL={explicit} is not an executable file. {INSTALL_HINT}")
    found = shutil.which("promtool", path=environ.get("PATH"))
    if not found:
        raise PromtoolMissing(INSTALL_HINT)
    return found


def run(*args: str, stdin: str | None = None, cwd: str | None = None) -> tuple[bool, str]:
    """Run promtool; (exit status 0, combined output)."""
    proc = subprocess.run([find(), *args], input=stdin, cwd=cwd, capture_output=True, text=True, timeout=600)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def check_rules(*paths: str) -> tuple[bool, str]:
    return run("check", "rules", *paths)


def test_rules(*paths: str) -> tuple[bool, str]:
    # test files name their rule files relative to themselves; absolute paths keep that working
    return run("test", "rules", *(os.path.abspath(p) for p in paths))


def check_metrics(text: str) -> tuple[bool, str]:
    """Lint a Prometheus text exposition (names, suffixes, HELP); other tests call this on /metrics."""
    return run("check", "metrics", stdin=text)


AMTOOL_HINT = (
    "amtool not found: it comes with Alertmanager (Debian/Ubuntu: `sudo apt-get install prometheus-alertmanager`); "
    "put it on PATH or set AMTOOL=/path/to/amtool."
)


def find_amtool(environ: Mapping[str, str] = os.environ) -> str | None:
    """amtool through AMTOOL, then PATH; None when there is none."""
    explicit = environ.get("AMTOOL")
    if explicit:
        return explicit if os.path.isfile(explicit) and os.access(explicit, os.X_OK) else None
    return shutil.which("amtool", path=environ.get("PATH"))


def amtool(*args: str) -> tuple[bool, str]:
    """Run amtool; (exit status 0, combined output). Raises PromtoolMissing when there is no amtool."""
    found = find_amtool()
    if found is None:
        raise PromtoolMissing(AMTOOL_HINT)
    proc = subprocess.run([found, *args], capture_output=True, text=True, timeout=120)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()
