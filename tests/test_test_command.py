"""scripts/test, the one test command: its runs of the suite hold every test exactly once.

It runs the suite as several pytest runs chosen by marker expressions (the unit tests, the wall-clock scenarios
beside them, the other end-to-end tests). An expression edited so that two runs overlap would run a test twice;
one that leaves a combination of markers out would skip those tests in CI with every run green.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from pathlib import Path

# pytest's own `-m` grammar and evaluation, so that the check reads the expressions as pytest does
from _pytest.mark.expression import Expression

REPO = Path(__file__).resolve().parent.parent


def _suite_runs() -> list[str]:
    """The `-m` expression of each `suite` run in scripts/test."""
    text = (REPO / "scripts" / "test").read_text()
    return [m.group(1).strip('"') for m in re.finditer(r'^\s*(?:settled )?suite .*?-m ("[^"]*"|\S+)', text, re.M)]


def _declared_markers() -> list[str]:
    markers = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    return [m.split(":")[0].strip() for m in markers]


def _carrying(marked: tuple[str, ...]):
    """A matcher for Expression.evaluate: a test that carries exactly the markers `marked`."""
    return lambda name, **_: name in marked


def test_the_runs_are_the_three_the_readme_names():
    assert _suite_runs() == ["wall_clock", "not e2e and not wall_clock", "e2e and not wall_clock"]


def test_every_combination_of_markers_is_selected_by_exactly_one_run():
    runs = [Expression.compile(expr) for expr in _suite_runs()]
    markers = _declared_markers()
    assert {"e2e", "wall_clock", "smoke"} <= set(markers)
    for n in range(len(markers) + 1):
        for marked in itertools.combinations(markers, n):
            selected = [run.evaluate(_carrying(marked)) for run in runs]
            assert selected.count(True) == 1, (marked, selected)
