"""`litellm_observe check`: everything that proves the generated output under a folder.

amtool checks the Alertmanager configuration (skipped, and said so, where amtool is not installed).

promtool checks and unit-tests the rule files (and the PrometheusRule's groups when --kubernetes
wrote them), checks a catalogue exposition with the configured namespace; the rule lint checks the
alerts against our conventions and the runbooks; the dashboard lint checks every panel query. All
read the same options `generate` read (`--config`), so a non-default namespace or selector checks
clean. Exit status: 0 all pass, 1 something failed, 2 promtool is missing.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import tempfile
from typing import TextIO

import yaml

from ..catalogue import CATALOGUE, Kind
from . import promtool
from .dashboards import lint as dashboard_lint
from .options import Options
from .rules import lint as rule_lint


def catalogue_exposition(namespace: str) -> str:
    """One sample of every catalogue metric, in the text format, for `promtool check metrics`."""
    lines = []
    for m in CATALOGUE:
        name = m.sample_names(namespace)[0] if m.kind is Kind.COUNTER else m.family(namespace)
        labels = ",".join(f'{label}="x"' for label in m.labels)
        lines += [f"# HELP {name} {m.help}", f"# TYPE {name} {m.kind.value}"]
        if m.kind is Kind.HISTOGRAM:
            for le in [*(repr(b) for b in m.buckets), "+Inf"]:
                lines.append(f'{name}_bucket{{{labels + "," if labels else ""}le="{le}"}} 1')
            lines += [f"{name}_sum{{{labels}}} 1", f"{name}_count{{{labels}}} 1"]
        else:
            lines.append(f"{name}{{{labels}}} 1")
    return "\n".join(lines) + "\n"


def _kubernetes_groups(path: str) -> str:
    """The rule groups of a PrometheusRule, as a rule file promtool can check."""
    with open(path, encoding="utf-8") as f:
        resource = yaml.safe_load(f)
    return yaml.safe_dump({"groups": resource["spec"]["groups"]}, sort_keys=False)


def _promtool_results(out: str, rule_files: list[str], tests: list[str], options: Options) -> list[tuple]:
    results = [
        ("promtool check rules", *promtool.check_rules(*rule_files)),
        ("promtool test rules", *promtool.test_rules(*tests)),
        ("promtool check metrics (catalogue)", *promtool.check_metrics(catalogue_exposition(options.namespace))),
    ]
    for path in sorted(glob.glob(os.path.join(out, "alerts", "kubernetes", "*.yaml"))):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as tmp:
            tmp.write(_kubernetes_groups(path))
        try:
            results.append((f"promtool check rules ({path})", *promtool.check_rules(tmp.name)))
        finally:
            os.unlink(tmp.name)
    return results


def _rule_lint(rule_files: list[str], out: str, options: Options) -> tuple[list[dict], list[str]]:
    groups = []
    for path in rule_files:
        with open(path, encoding="utf-8") as f:
            groups += (yaml.safe_load(f) or {}).get("groups", [])
    runbooks_path = os.path.join(out, "docs", "runbooks.md")
    runbooks = open(runbooks_path, encoding="utf-8").read() if os.path.isfile(runbooks_path) else None
    return groups, rule_lint.problems(groups, options, runbooks)


def _dashboard_lint(out: str, options: Options, records: frozenset[str]) -> list[str]:
    built = {}
    for path in sorted(glob.glob(os.path.join(out, "dashboards", "*.json"))):
        with open(path, encoding="utf-8") as f:
            built[os.path.basename(path)] = json.load(f)
    if not built:
        return [f"no dashboards under {os.path.join(out, 'dashboards')}: run `litellm_observe generate`"]
    return dashboard_lint.problems(built, options.namespace, records)


def _amtool_results(out: str, stream: TextIO) -> list[tuple]:
    paths = sorted(glob.glob(os.path.join(out, "alertmanager", "*.yml")))
    if not paths:
        return [("amtool check-config", False, f"no Alertmanager configuration under {out}/alertmanager")]
    if promtool.find_amtool() is None:
        print(f"skip amtool check-config: {promtool.AMTOOL_HINT}", file=stream)
        return []
    return [(f"amtool check-config ({os.path.relpath(p, out)})", *promtool.amtool("check-config", p)) for p in paths]


def check_all(out: str, options: Options, stream: TextIO | None = None) -> int:
    stream = stream or sys.stdout
    rule_files = sorted(glob.glob(os.path.join(out, "alerts", "*.yaml")))
    tests = sorted(glob.glob(os.path.join(out, "alerts", "tests", "*.yaml")))
    if not rule_files or not tests:
        print(
            f"no rule files or tests under {os.path.join(out, 'alerts')}: run `litellm_observe generate`", file=stream
        )
        return 1
    try:
        results = _promtool_results(out, rule_files, tests, options)
    except promtool.PromtoolMissing as e:
        print(str(e), file=stream)
        return 2
    results += _amtool_results(out, stream)
    groups, found = _rule_lint(rule_files, out, options)
    results.append(("rule lint", not found, "\n".join(found)))
    found = _dashboard_lint(out, options, rule_lint.recorded(groups))
    results.append(("dashboard lint", not found, "\n".join(found)))
    for name, ok, output in results:
        print(f"{'ok  ' if ok else 'FAIL'} {name}", file=stream)
        if not ok and output:
            print("  " + output.replace("\n", "\n  "), file=stream)
    return 0 if all(ok for _, ok, _ in results) else 1
