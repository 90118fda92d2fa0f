"""`litellm_observe generate`: write every generated artifact, or check it is current.

The generators are wired here, explicitly, in the order they run: each is a module with
`outputs(options, kubernetes) -> {relative path: text}` and `readme_blocks(options) -> {block name:
markdown}`, the latter filling README.md between `<!-- BEGIN generated:NAME -->` and
`<!-- END generated:NAME -->`. Output is a pure function of the options, so running it twice gives
byte-identical files; two generators writing one path is an error.
"""
from __future__ import annotations

import os
import re
from typing import Callable, NamedTuple

from . import dashboards, docs, mixin, monitors, rules
from .options import Options


class Generator(NamedTuple):
    name: str
    outputs: Callable[[Options, bool], dict[str, str]]
    readme_blocks: Callable[[Options], dict[str, str]]


def _docs_outputs(options: Options, kubernetes: bool = False) -> dict[str, str]:
    return {}  # the docs generator only fills README blocks


GENERATORS = (
    Generator("docs", _docs_outputs, docs.readme_blocks),
    Generator("rules", rules.outputs, rules.readme_blocks),
    Generator("dashboards", dashboards.outputs, dashboards.readme_blocks),
    Generator("mixin", mixin.outputs, mixin.readme_blocks),
    Generator("monitors", monitors.outputs, monitors.readme_blocks),
)
MANAGED_DIRS = ("dashboards", "alerts", "alerts/tests", "mixin")  # files here that generate does not write are stale
MANAGED_EXTENSIONS = (".json", ".yaml", ".yml", ".libsonnet")
README = "README.md"
_BLOCK = re.compile(r"(<!-- BEGIN generated:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- END generated:(?P=name) -->)",
                    re.S)


def outputs(options: Options, kubernetes: bool = False) -> dict[str, str]:
    files: dict[str, str] = {}
    for generator in GENERATORS:
        for path, text in generator.outputs(options, kubernetes).items():
            if path in files:
                raise RuntimeError(f"two generators write {path}")
            files[path] = text
    return dict(sorted(files.items()))


def readme_blocks(options: Options) -> dict[str, str]:
    blocks: dict[str, str] = {}
    for generator in GENERATORS:
        found = generator.readme_blocks(options)
        if set(found) & set(blocks):
            raise RuntimeError(f"two generators fill README block(s) {sorted(set(found) & set(blocks))}")
        blocks.update(found)
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
