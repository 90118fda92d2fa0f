"""Runs and liveness: which proxy run a process belongs to, and whether a run still lives.

A run directory is `run-<pid>-<start>-<ns>`, named after the run's root process (the uvicorn supervisor,
the gunicorn or granian master, or a single worker itself): its pid and kernel start time as its own PID
namespace sees them, and `ns`, a token of that namespace and of the host's boot. Two containers whose
proxies are both PID 1, on one host or on hosts sharing a volume, never share a name.

Liveness never rests on a pid read in another namespace. **A run lives while some process holds a flock on
its directory** (the directory's own inode, shared): every process of the run takes one before it writes
there and holds it for life (each worker, through `Membership`, and the run's exporter). The kernel
releases it when the process dies, whatever namespace or container it ran in, and flock works across
containers sharing a volume on one node. Whoever judges a run takes that lock exclusively without waiting:
taking it means nobody holds it, so the run has ended, and the judge keeps holding it while it removes (or
folds) the run, so a process that joins meanwhile waits, then finds the directory gone and makes it anew.

Age-based cleaners (`systemd-tmpfiles --clean`, with the day-scale age rule distributions put on /tmp)
skip a directory on which a process holds a flock: every process of a run also holds its base directory's,
so a live run is never cleaned. A cleaner that ignores locks (tmpreaper, `find -delete`) can still remove
it: `Membership.lost()` notices and `rejoin()` makes it again (worker/supervisor.py, exporter/service.py).

Handshakes:
- join: open `run-X` and take its shared lock (waiting), then check that the directory is still the one at
  that path (a remover may have held the lock and removed it meanwhile: then again). Where there is none,
  make it complete under `.new-run-X-<random>` (sub-folders, shared lock held), then rename it into place;
  if another process made it first, the rename fails and that one is joined.
- remove: take the exclusive lock without waiting, rename the directory to `.gone-run-X-<random>` (out of
  view at once), delete it, then let go. Leftovers of a process that died half-way (`.new-*`, `.gone-*`)
  are removed the same way once nobody holds them.
- The run's exporter watches the root by pid (`Root.alive`): a worker of the run starts it, so it runs in
  the root's PID namespace, where that pid means that process. Nothing else reads a pid.

Why one module of this size: joining and removing a run are two halves of one handshake, and are only
right read together.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import hashlib
import multiprocessing
import os
import shutil
import socket
import uuid
from dataclasses import dataclass

from .files import lock_held, writer_gone
from .handshakes import sidecar_watching
from .layout import RUN_PREFIX, Directory, prepare, private_dir

NEW_PREFIX = ".new-"  # a run directory being made, renamed into place when complete
GONE_PREFIX = ".gone-"  # a run directory being removed
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


# ---- processes ----------------------------------------------------------------------------------
def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, ...); None: no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()  # fields after the command name


def start_time(pid: int) -> int | None:
    fields = stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None  # field 22 of proc(5)


def _cmdline(pid: int) -> bytes | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return None


def _boot_id() -> str:
    with open("/proc/sys/kernel/random/boot_id") as f:
        return f.read().strip()


@functools.lru_cache(maxsize=1)
def namespace_token() -> str:
    """10 hex digits naming this process's PID namespace on this boot of this host: the same for every
    process of a run (they share the root's namespace), different for containers on one host (their
    namespaces differ) and across hosts (their boots differ)."""
    parts = []
    for read in (_boot_id, lambda: os.readlink("/proc/self/ns/pid"), socket.gethostname):
        try:
            parts.append(read())
        except OSError:
            parts.append("?")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Root:
    """The process that owns a proxy run: the supervisor or master whose children are the workers (or the
    worker itself when there is only one), with its namespace token (`ns`). It names the run directory, so a
    new run starts from empty and two proxies sharing a base never share a directory."""

    pid: int
    start: int
    ns: str = ""

    @property
    def name(self) -> str:
        return f"{RUN_PREFIX}{self.pid}-{self.start}" + (f"-{self.ns}" if self.ns else "")

    def alive(self) -> bool:
        """Only meaningful in the root's own PID namespace (the run's exporter, its supervisor's)."""
        return start_time(self.pid) == self.start

    def arg(self) -> str:
        return f"{self.pid}:{self.start}:{self.ns}"

    @classmethod
    def from_arg(cls, text: str) -> Root:
        pid, start, *ns = text.split(":")
        return cls(int(pid), int(start), ns[0] if ns else "")

    @classmethod
    def parse(cls, name: str) -> Root | None:
        """The root a run directory's name says; None for any other name (legacy `run-<pid>-<start>` too)."""
        parts = name[len(RUN_PREFIX) :].split("-") if name.startswith(RUN_PREFIX) else []
        if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts[:2]):
            return None
        if len(parts) == 3 and not (parts[2].isalnum() and parts[2].isascii()):
            return None
        return cls(int(parts[0]), int(parts[1]), parts[2] if len(parts) == 3 else "")


def current_root() -> Root:
    me, parent = os.getpid(), os.getppid()
    supervisor = multiprocessing.parent_process()  # set in spawned workers (uvicorn, granian)
    if supervisor is not None and supervisor.pid:
        pid = supervisor.pid  # may be 1: `litellm` as a container's first process
    elif parent > 0 and _cmdline(parent) == _cmdline(me):
        pid = parent  # gunicorn's workers, forked without exec
    else:
        pid = me  # a single worker is its own run
    return Root(pid, start_time(pid) or 0, namespace_token())


# ---- directory locks ------------------------------------------------------------------------------
def open_dir(path: str) -> int:
    """A descriptor of the directory itself (never through a symlink), for its flock."""
    return os.open(path, _DIR_FLAGS)


def hold_dir(path: str) -> int:
    """Hold a shared flock on directory `path` until the returned descriptor is closed (waits while a
    remover holds it exclusively)."""
    fd = open_dir(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
    except BaseException:
        os.close(fd)
        raise
    return fd


def still_at(fd: int, path: str) -> bool:
    """Whether the directory held by `fd` is still the one at `path` (not removed, not replaced)."""
    try:
        held, there = os.fstat(fd), os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return held.st_nlink > 0 and (held.st_dev, held.st_ino) == (there.st_dev, there.st_ino)


def claim_ended(path: str) -> int | None:
    """The exclusive lock of a run directory nobody holds (the descriptor: keep it while removing or folding
    the run, then close it), or None while any process of the run lives. Also None while its exporter or a
    writer still holds its own lock (runs made by an older version hold no directory lock) and on any
    error: a live run is never taken for ended."""
    try:
        fd = open_dir(path)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        run = Directory(path)
        if not lock_held(run.exporter_lock) and all(writer_gone(p) for p in run.sample_files()):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def remove_claimed(path: str, fd: int) -> None:
    """Remove a run directory whose exclusive lock `fd` holds (claim_ended), then let go of it."""
    try:
        gone = os.path.join(os.path.dirname(path), f"{GONE_PREFIX}{os.path.basename(path)}-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(path, gone)  # out of view at once: a joiner waiting on the lock then finds no directory
        except FileNotFoundError:
            return
        except OSError:
            gone = path
        shutil.rmtree(gone, ignore_errors=True)
    finally:
        os.close(fd)


def remove_dead_runs(base: str, keep: Root | None = None) -> list[str]:
    """Delete the run directories of `base` that no process holds (left to a sidecar serving the base,
    which folds them first), and leftovers of interrupted joins and removals; returns what was removed."""
    if sidecar_watching(base):
        return []
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return []
    removed = []
    for name in names:
        if keep is not None and name == keep.name:
            continue
        if not (name.startswith((NEW_PREFIX, GONE_PREFIX)) or Root.parse(name) is not None):
            continue
        path = os.path.join(base, name)
        fd = claim_ended(path)
        if fd is not None:
            remove_claimed(path, fd)
            removed.append(name)
    return removed


# ---- a process's place in its run ----------------------------------------------------------------
class Membership:
    """This process's place in one run: shared flocks on the base directory and on the run directory, held
    until `close()`. While held, the run lives (for every reader, in any namespace) and age-based cleaners
    skip both directories.

    `join` makes the run directory (and the base) when missing, or joins the one there; `create=False`
    (an exporter at its start) raises FileNotFoundError instead. `lost()` tells whether the directory was
    removed or replaced under it since; `rejoin()` makes it again.
    """

    def __init__(self, base: str, name: str, *, create: bool = True):
        self.base, self.name, self.pid = base, name, os.getpid()
        self.path = os.path.join(base, name)
        self.directory = Directory(self.path)
        self._base_fd = self._run_fd = -1
        self._join(create)

    def _join(self, create: bool) -> None:
        if create:
            private_dir(self.base, parents=True)
        self._base_fd = hold_dir(self.base)
        for _ in range(100):  # each round means another process removed or made it meanwhile
            try:
                fd = hold_dir(self.path)
            except FileNotFoundError:
                if not create:
                    raise
                if self._make():
                    return
                continue
            if still_at(fd, self.path):
                private_dir(self.path, create=False)  # the same checks as ever: ours, not a symlink
                self._run_fd = fd
                return
            os.close(fd)
        raise OSError(errno.EBUSY, f"could not join run directory {self.path}: it keeps being removed")

    def _make(self) -> bool:
        """Make the run directory complete under a temporary name, locked, then rename it into place;
        False when another process's got there first (then join that one)."""
        tmp = os.path.join(self.base, f"{NEW_PREFIX}{self.name}-{uuid.uuid4().hex[:8]}")
        try:
            private_dir(tmp)
            fd = hold_dir(tmp)  # before anything else: until then a remover may take it for a leftover
        except FileNotFoundError:
            return False
        try:
            if not still_at(fd, tmp):
                os.close(fd)
                return False
            prepare(tmp, parents=False)
            os.rename(tmp, self.path)  # fails when the name holds a (non-empty) run directory already
        except OSError as e:
            os.close(fd)
            shutil.rmtree(tmp, ignore_errors=True)
            if e.errno in (errno.EEXIST, errno.ENOTEMPTY):
                return False
            raise
        self._run_fd = fd
        return True

    def lost(self) -> bool:
        """Whether the run directory (or the base) was removed or replaced since this process joined."""
        return not (still_at(self._run_fd, self.path) and still_at(self._base_fd, self.base))

    def rejoin(self) -> Directory:
        """Let go of the old directory and join the one at the path again, making it when missing."""
        self.close()
        self._join(create=True)
        return self.directory

    def close(self) -> None:
        for fd in (self._run_fd, self._base_fd):
            if fd >= 0:
                os.close(fd)
        self._run_fd = self._base_fd = -1


def hold_base(base: str) -> int:
    """A sidecar's shared flock on the base it serves (age-based cleaners then skip it), for its life."""
    return hold_dir(base)
