"""Helpers of the generator tests' shared fixtures (conftest.py): writing an output folder, and
PromtoolVerdicts, promtool's passing verdicts remembered by the bytes it read (conftest.py says why and
how far that goes)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass

import yaml

from litellm_observe.generators import promtool
from litellm_observe.generators.options import Options

REAL_CHECK_RULES, REAL_TEST_RULES = promtool.check_rules, promtool.test_rules  # before any test replaces them


def write(folder, files: Mapping[str, str]) -> str:
    """`files` ({relative path: text}) written under `folder`; the folder, as a string."""
    for rel, text in files.items():
        path = os.path.join(folder, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return str(folder)


@dataclass(frozen=True)
class Output:
    options: Options
    files: Mapping[str, str]  # read-only
    root: str  # holds exactly `files`: never change it, copy it (write(tmp_path, files))


def _digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _named_rule_files(test_file: str) -> list[str]:
    """The rule files a promtool unit-test file names, as promtool resolves them (beside the test file)."""
    with open(test_file, encoding="utf-8") as f:
        named = (yaml.safe_load(f) or {}).get("rule_files") or []
    return [os.path.join(os.path.dirname(test_file), r) for r in named]


class PromtoolVerdicts:
    """promtool.check_rules and promtool.test_rules that remember what passed, by the bytes promtool read.

    Invariant: `passed` holds only keys of input promtool itself passed in this run; anything else goes to
    the real promtool, whose answer (a failure's output included) is returned as it gave it."""

    def __init__(self) -> None:
        self.passed: set[tuple] = set()

    def check_rules(self, *paths: str) -> tuple[bool, str]:
        promtool.find()  # a missing promtool is reported as the real wrapper reports it
        try:
            key = ("check rules", *(_digest(p) for p in paths))
        except OSError:  # a missing file: promtool says so
            return REAL_CHECK_RULES(*paths)
        if key in self.passed:
            return True, ""
        ok, output = REAL_CHECK_RULES(*paths)
        if ok:
            self.passed.add(key)
        return ok, output

    def test_rules(self, *paths: str) -> tuple[bool, str]:
        promtool.find()
        keys, unseen = {}, []
        for p in paths:
            try:
                keys[p] = ("test rules", _digest(p), *(_digest(r) for r in _named_rule_files(p)))
            except (OSError, yaml.YAMLError):  # promtool reports a missing or unreadable file itself
                keys[p] = None
            if keys[p] not in self.passed:
                unseen.append(p)
        if not unseen:
            return True, ""
        ok, output = REAL_TEST_RULES(*unseen)
        if ok:
            self.passed.update(keys[p] for p in unseen if keys[p] is not None)
        return ok, output
