"""The layout the README promises: the worker side and the exporter side both depend on the run-directory
protocol (rundir/) and never on each other; the protocol depends on neither; the generators depend on
neither side (only on the error mapping they document, a table of pure data)."""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "litellm_observe"


def _imports(path: pathlib.Path) -> set[str]:
    """Absolute names of the package's modules a file imports."""
    tree = ast.parse(path.read_text())
    here = ["litellm_observe", *path.relative_to(PACKAGE).parent.parts]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            out.add(module)
            out.update(f"{module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m.startswith("litellm_observe")}


# The README's error-type table documents the worker's mapping, a module of plain tables.
ALLOWED = {"litellm_observe.worker.error_types"}


@pytest.mark.parametrize(
    "side, forbidden",
    [
        ("worker", "exporter"),
        ("exporter", "worker"),
        ("rundir", "worker"),
        ("rundir", "exporter"),
        ("generators", "worker"),
        ("generators", "exporter"),
        ("worker", "demo"),
        ("exporter", "demo"),
        ("rundir", "demo"),
        ("generators", "demo"),
    ],
)
def test_sides_never_import_each_other(side, forbidden):
    bad = {
        str(p.relative_to(PACKAGE)): sorted(
            m
            for m in _imports(p) - ALLOWED
            if m.startswith(f"litellm_observe.{forbidden}") and not any(m.startswith(a + ".") for a in ALLOWED)
        )
        for p in (PACKAGE / side).rglob("*.py")
    }
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_checker_sees_relative_imports():
    assert "litellm_observe.rundir.handshakes" in _imports(PACKAGE / "worker" / "supervisor.py")


@pytest.mark.parametrize("package", ["rules", "dashboards", "promql"])
def test_the_generators_option_groups_never_import_the_options_built_from_them(package):
    """generators/options.py imports the option groups declared in these packages: an import back, even one
    only for type checking, would be a cycle. They read the options through their own `Inputs` protocols."""
    bad = {
        str(p.relative_to(PACKAGE)): sorted(
            m for m in _imports(p) if m.startswith("litellm_observe.generators.options")
        )
        for p in (PACKAGE / "generators" / package).rglob("*.py")
    }
    assert {k: v for k, v in bad.items() if v} == {}
