"""Where one proxy run keeps its samples, with no set-up.

A proxy run is identified by its root process: the uvicorn supervisor or gunicorn
master whose children are the workers (or the worker itself when there is only
one). Its pid and kernel start time name the run directory, so a new run starts
from empty, two proxies on one host never share a directory, and directories of
runs whose root is gone are removed by the next run (and by their exporter).
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from dataclasses import dataclass

BASE_NAME = "litellm_observe"
RUN_PREFIX = "run-"
LABELS_DIR = "labels"
RESETS_DIR = "resets"
ARCHIVE = "archive.lob"


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except OSError:
        return None
    return raw[raw.rfind(")") + 2:].split()  # fields after the command name


def start_time(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None  # field 22 of proc(5)


def _cmdline(pid: int) -> bytes | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return None


@dataclass(frozen=True)
class Root:
    pid: int
    start: int

    @property
    def name(self) -> str:
        return f"{RUN_PREFIX}{self.pid}-{self.start}"

    def alive(self) -> bool:
        return start_time(self.pid) == self.start

    @classmethod
    def parse(cls, name: str) -> "Root | None":
        try:
            pid, start = name[len(RUN_PREFIX):].split("-")
            return cls(int(pid), int(start))
        except ValueError:
            return None


def current_root() -> Root:
    """The process that owns this proxy run."""
    me, parent = os.getpid(), os.getppid()
    supervisor = multiprocessing.parent_process()  # set in uvicorn's spawned workers
    if supervisor is not None and supervisor.pid:
        pid = supervisor.pid  # may be 1: `litellm` as a container's first process
    elif parent > 0 and _cmdline(parent) == _cmdline(me):
        pid = parent  # gunicorn's workers, forked without exec
    else:
        pid = me  # a single worker is its own run
    return Root(pid, start_time(pid) or 0)


def base_dir(configured: str | None, environ=os.environ) -> str:
    if configured:
        return configured
    multiproc = environ.get("PROMETHEUS_MULTIPROC_DIR") or environ.get("prometheus_multiproc_dir")
    if multiproc:
        return os.path.join(multiproc, BASE_NAME)  # honoured, in a sub-folder LiteLLM's wipe leaves alone
    return os.path.join(tempfile.gettempdir(), BASE_NAME)


def run_dir(base: str, root: Root) -> str:
    return prepare(os.path.join(base, root.name))


def prepare(path: str) -> str:
    """Create a run directory with its sub-folders (raises OSError when it cannot)."""
    os.makedirs(os.path.join(path, LABELS_DIR), exist_ok=True)
    os.makedirs(os.path.join(path, RESETS_DIR), exist_ok=True)
    return path


def remove_dead_runs(base: str, keep: Root | None = None) -> list[str]:
    """Delete run directories whose root process has exited; returns what was removed."""
    removed = []
    try:
        names = os.listdir(base)
    except OSError:
        return removed
    for name in names:
        root = Root.parse(name) if name.startswith(RUN_PREFIX) else None
        if root is None or root == keep or root.alive():
            continue
        shutil.rmtree(os.path.join(base, name), ignore_errors=True)
        removed.append(name)
    return removed
