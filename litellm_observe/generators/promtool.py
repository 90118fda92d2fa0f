"""A small wrapper around Prometheus' `promtool`: check rules, test rules, check metrics.

promtool is found through the PROMTOOL environment variable, then PATH. `check_all(out)`
(behind `litellm_observe check`) runs everything on the generated output under `out`.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Mapping, TextIO

import yaml

INSTALL_HINT = ("promtool not found. Install it with Prometheus (Debian/Ubuntu: `sudo apt-get install prometheus`; "
                "elsewhere the release tarball from https://prometheus.io/download/ has it), then put it on PATH "
                "or set PROMTOOL=/path/to/promtool.")


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


def catalogue_exposition(namespace: str) -> str:
    """One sample of every catalogue metric, in the text format, for `check metrics`."""
    from ..catalogue import CATALOGUE, Kind

    lines = []
    for m in CATALOGUE:
        name = m.sample_names(namespace)[0] if m.kind is Kind.COUNTER else m.family(namespace)
        labels = ",".join(f'{label}="x"' for label in m.labels)
        lines += [f"# HELP {name} {m.help}", f"# TYPE {name} {m.kind.value}"]
        if m.kind is Kind.HISTOGRAM:
            for le in [*(repr(b) for b in m.buckets), "+Inf"]:
                lines.append(f"{name}_bucket{{{labels + ',' if labels else ''}le=\"{le}\"}} 1")
            lines += [f"{name}_sum{{{labels}}} 1", f"{name}_count{{{labels}}} 1"]
        else:
            lines.append(f"{name}{{{labels}}} 1")
    return "\n".join(lines) + "\n"


def _kubernetes_groups(path: str) -> str:
    """The rule groups of a PrometheusRule, as a rule file promtool can check."""
    with open(path, encoding="utf-8") as f:
        resource = yaml.safe_load(f)
    return yaml.safe_dump({"groups": resource["spec"]["groups"]}, sort_keys=False)


def check_all(out: str = ".", options=None, stream: TextIO | None = None) -> int:
    """promtool check rules + test rules on alerts/, the Python lint, and check metrics on the
    catalogue's exposition; 0 when all pass, 1 otherwise, 2 when promtool is missing."""
    from . import options as options_mod
    from .rules import lint

    options = options or options_mod.load()
    stream = stream or sys.stdout
    rule_files = sorted(glob.glob(os.path.join(out, "alerts", "*.yaml")))
    tests = sorted(glob.glob(os.path.join(out, "alerts", "tests", "*.yaml")))
    if not rule_files or not tests:
        print(f"no rule files or tests under {os.path.join(out, 'alerts')}: run `litellm_observe generate`",
              file=stream)
        return 1
    try:
        results = [("promtool check rules", *check_rules(*rule_files)),
                   ("promtool test rules", *test_rules(*tests)),
                   ("promtool check metrics (catalogue)", *check_metrics(catalogue_exposition(options.namespace)))]
        for path in sorted(glob.glob(os.path.join(out, "alerts", "kubernetes", "*.yaml"))):
            with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as tmp:
                tmp.write(_kubernetes_groups(path))
            try:
                results.append((f"promtool check rules ({path})", *check_rules(tmp.name)))
            finally:
                os.unlink(tmp.name)
    except PromtoolMissing as e:
        print(str(e), file=stream)
        return 2
    groups = []
    for path in rule_files:
        with open(path, encoding="utf-8") as f:
            groups += (yaml.safe_load(f) or {}).get("groups", [])
    runbooks_path = os.path.join(out, "docs", "runbooks.md")
    runbooks = open(runbooks_path, encoding="utf-8").read() if os.path.isfile(runbooks_path) else None
    found = lint.problems(groups, options, runbooks)
    results.append(("rule lint", not found, "\n".join(found)))
    for name, ok, output in results:
        print(f"{'ok  ' if ok else 'FAIL'} {name}", file=stream)
        if not ok and output:
            print("  " + output.replace("\n", "\n  "), file=stream)
    return 0 if all(ok for _, ok, _ in results) else 1
