"""`litellm_observe generate`: write every generated artifact, or check it is current.

The generators are wired here, explicitly, in the order they run: each is a module with
`outputs(options, kubernetes) -> {relative path: text}` and `readme_blocks(options) -> {block name:
markdown}`, the latter filling README.md between `<!-- BEGIN generated:NAME -->` and
`<!-- END generated:NAME -->`. Output is a pure function of the options, so running it twice gives
byte-identical files; two generators writing one path is an error.

`generate` owns exactly the files it writes, and no others: a manifest in the output folder
(MANIFEST: one `sha256  path` line per file, README.md excepted) records what it wrote. A file it
wrote before and no longer writes is removed only while its content is still what it wrote (edited:
kept, and said so); a file it never wrote is never touched, whatever its name. It never writes
through a symbolic link: a link where a file should go is refused, with a message naming it, before
anything is written. Files are written whole under a temporary name, then renamed into place.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable
from typing import NamedTuple

from . import alertmanager, autoscaling, dashboards, docs, mixin, monitors, rules, slo_specs
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
    Generator("alertmanager", alertmanager.outputs, alertmanager.readme_blocks),
    Generator("dashboards", dashboards.outputs, dashboards.readme_blocks),
    Generator("mixin", mixin.outputs, mixin.readme_blocks),
    Generator("monitors", monitors.outputs, monitors.readme_blocks),
    Generator("slo_specs", slo_specs.outputs, slo_specs.readme_blocks),
    Generator("autoscaling", autoscaling.outputs, autoscaling.readme_blocks),
)
README = "README.md"
MANIFEST = ".litellm-observe-manifest"
_BLOCK = re.compile(
    r"(<!-- BEGIN generated:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- END generated:(?P=name) -->)", re.S
)


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


class GenerateError(Exception):
    """What generate refuses to do (a symbolic link where it would write), said plainly."""


class Result(NamedTuple):
    written: list[str]  # paths relative to the output folder
    removed: list[str]  # files generate wrote before and no longer writes, unchanged since
    kept: list[str]  # files generate wrote before and no longer writes, but edited since: left alone


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _manifest(out: str) -> dict[str, str]:
    """{relative path: sha256} of what the last generate wrote in `out` (empty when none)."""
    path = os.path.join(out, MANIFEST)
    if os.path.islink(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (FileNotFoundError, UnicodeDecodeError):
        return {}
    entries = {}
    for line in lines:
        digest, _, rel = line.partition("  ")
        if len(digest) == 64 and rel and not os.path.isabs(rel) and ".." not in rel.split("/"):
            entries[rel] = digest
    return entries


def _manifest_text(files: dict[str, str]) -> str:
    return "".join(f"{_digest(text)}  {rel}\n" for rel, text in sorted(files.items()) if rel != README)


def _leftovers(out: str, files: dict[str, str]) -> tuple[list[str], list[str]]:
    """Files the last generate wrote that it no longer writes: (unchanged since, so removable; edited)."""
    removable: list[str] = []
    edited: list[str] = []
    for rel, digest in sorted(_manifest(out).items()):
        if rel in files:
            continue
        path = os.path.join(out, rel)
        try:
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):
                continue
            with open(path, "rb") as f:
                same = hashlib.sha256(f.read()).hexdigest() == digest
        except OSError:
            continue
        (removable if same else edited).append(rel)
    return removable, edited


def _refuse_links(out: str, rels: list[str]) -> None:
    for rel in rels:
        path = os.path.join(out, rel)
        if os.path.islink(path):
            raise GenerateError(
                f"refusing to write {path}: it is a symbolic link (to {os.readlink(path)}); "
                "generate never writes through one. Remove the link, or write elsewhere (--out)."
            )


def _write_whole(path: str, text: str) -> None:
    """`text` at `path`, written under a fresh name then renamed over it (a link there is replaced, never
    followed; readers see the old file or the new one)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def plan(out: str, options: Options, kubernetes: bool = False) -> dict[str, str]:
    """Everything generate writes under `out`, README included when it is there."""
    files = outputs(options, kubernetes)
    readme = os.path.join(out, README)
    if os.path.isfile(readme):
        with open(readme, encoding="utf-8") as f:
            current = f.read()
        files[README] = render_readme(current, readme_blocks(options))
    return files


def _current(path: str) -> str | None:
    """A file's text, None when missing or a symbolic link (never read through one)."""
    if os.path.islink(path):
        return None
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def stale(out: str, options: Options, kubernetes: bool = False) -> list[str]:
    """Paths (relative to `out`) whose content differs from what generate writes, the manifest included,
    then files generate wrote before and no longer writes."""
    files = plan(out, options, kubernetes)
    files[MANIFEST] = _manifest_text(files)
    bad = [rel for rel, text in files.items() if _current(os.path.join(out, rel)) != text]
    removable, edited = _leftovers(out, files)
    return bad + removable + edited


def write(out: str, options: Options, kubernetes: bool = False) -> Result:
    files = plan(out, options, kubernetes)
    files[MANIFEST] = _manifest_text(files)
    _refuse_links(out, list(files))
    removable, edited = _leftovers(out, files)
    for rel in removable:
        os.remove(os.path.join(out, rel))
    written = []
    for rel, text in files.items():
        path = os.path.join(out, rel)
        if _current(path) == text:
            continue
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        _write_whole(path, text)
        written.append(rel)
    return Result(written, removable, edited)
