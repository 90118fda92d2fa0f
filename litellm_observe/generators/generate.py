"""`litellm_observe generate`: write every generated artifact, or check it is current.

Each generator module exposes `outputs(options, kubernetes: bool) -> {relative path: text}`;
`readme_blocks(options) -> {block name: markdown}` fills README.md between
`<!-- BEGIN generated:NAME -->` and `<!-- END generated:NAME -->`. Output is a pure
function of the options, so running it twice gives byte-identical files.
"""
from __future__ import annotations

import importlib
import os
import re
from typing import Callable

from .options import Options

GENERATORS = ("litellm_observe.generators.docs", "litellm_observe.generators.rules", "litellm_observe.generators.dashboards")
MANAGED_DIRS = ("dashboards", "alerts", "alerts/tests")  # files here that generate does not write are stale
MANAGED_EXTENSIONS = (".json", ".yaml", ".yml")
README = "README.md"
_BLOCK = re.compile(r"(<!-- BEGIN generated:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- END generated:(?P=name) -->)",
                    re.S)


def _modules():
    for name in GENERATORS:
        try:
            yield importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:  # a generator that exists but fails to import is a bug: say so
                raise


def outputs(options: Options, kubernetes: bool = False) -> dict[str, str]:
    files: dict[str, str] = {}
    for module in _modules():
        produce: Callable | None = getattr(module, "outputs", None)
        if produce:
            for path, text in produce(options, kubernetes=kubernetes).items():
                if path in files:
                    raise RuntimeError(f"two generators write {path}")
                files[path] = text
    return dict(sorted(files.items()))


def readme_blocks(options: Options) -> dict[str, str]:
    blocks: dict[str, str] = {}
    for module in _modules():
        produce = getattr(module, "readme_blocks", None)
        if produce:
            blocks.update(produce(options))
    return blocks


def render_readme(text: str, blocks: dict[str, str]) -> str:
    def sub(m: re.Match) -> str:
        body = blocks.get(m.group("name"))
        if body is None:
            return m.group(0)
        return m.group(1) + body.rstrip("\n") + "\n" + m.group(4)

    return _BLOCK.sub(sub, text)


def _stale_extras(out: str, files: dict[str, str]) -> list[str]:
    extras = []
    for d in MANAGED_DIRS:
        folder = os.path.join(out, d)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            rel = f"{d}/{name}"
            if name.endswith(MANAGED_EXTENSIONS) and os.path.isfile(os.path.join(folder, name)) and rel not in files:
                extras.append(rel)
    return extras


def plan(out: str, options: Options, kubernetes: bool = False) -> dict[str, str]:
    """Everything generate writes under `out`, README included when it is there."""
    files = outputs(options, kubernetes)
    readme = os.path.join(out, README)
    if os.path.isfile(readme):
        with open(readme, encoding="utf-8") as f:
            current = f.read()
        files[README] = render_readme(current, readme_blocks(options))
    return files


def stale(out: str, options: Options, kubernetes: bool = False) -> list[str]:
    """Paths (relative to `out`) whose committed content differs from what generate writes."""
    files = plan(out, options, kubernetes)
    bad = []
    for rel, text in files.items():
        path = os.path.join(out, rel)
        try:
            with open(path, encoding="utf-8", newline="") as f:
                if f.read() != text:
                    bad.append(rel)
        except FileNotFoundError:
            bad.append(rel)
    return bad + _stale_extras(out, files)


def write(out: str, options: Options, kubernetes: bool = False) -> list[str]:
    files = plan(out, options, kubernetes)
    for rel in _stale_extras(out, files):
        os.remove(os.path.join(out, rel))
    written = []
    for rel, text in files.items():
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        try:
            with open(path, encoding="utf-8", newline="") as f:
                if f.read() == text:
                    continue
        except FileNotFoundError:
            pass
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        written.append(rel)
    return written
