"""What the generator tests share, built once per test run.

`default_output`: what `generate` writes for the default options (no --kubernetes), as {path: text} and as
a folder holding exactly those files. Tests read it; a test that changes files copies it first (`shared.write`).

`promtool_verdicts` / `memo_promtool`: promtool runs 9-30 s over a full set of rule tests, and many tests
give it the same files (the default output, fresh or committed; one set checked with two option sets).
`memo_promtool` replaces promtool.check_rules and promtool.test_rules, for the test that asks for it, with
copies that remember each passing verdict by the exact bytes promtool reads: the rule files for `check
rules`; each unit-test file with the rule files it names for `test rules` (promtool tests each file on its
own, so a set passes exactly when each of its files passes). A verdict is remembered only when it passed;
everything not seen passing before runs through the real promtool, in one call, and a failure is always
promtool's own answer, output included. promtool must still be installed: the copies look it up first, as
the real ones do, so a missing promtool is reported the same way. test_promtool.py, which tests the
wrapper itself, does not use them.
"""

from __future__ import annotations

from types import MappingProxyType

import pytest

from litellm_observe.generators import generate, promtool
from litellm_observe.generators.options import Options
from tests.generators.shared import Output, PromtoolVerdicts, write


@pytest.fixture(scope="session")
def default_output(tmp_path_factory) -> Output:
    options = Options()
    files = MappingProxyType(generate.outputs(options))
    return Output(options, files, write(tmp_path_factory.mktemp("default-output"), files))


@pytest.fixture(scope="session")
def promtool_verdicts() -> PromtoolVerdicts:
    return PromtoolVerdicts()


@pytest.fixture
def memo_promtool(promtool_verdicts, monkeypatch) -> PromtoolVerdicts:
    """promtool.check_rules and promtool.test_rules remember passing verdicts for this test."""
    monkeypatch.setattr(promtool, "check_rules", promtool_verdicts.check_rules)
    monkeypatch.setattr(promtool, "test_rules", promtool_verdicts.test_rules)
    return promtool_verdicts
