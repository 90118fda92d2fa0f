"""Where things are: the names in a base directory and in a run directory, the base directory's policy
(per user, private, checked on every start), and `Directory`, a directory of sample files with every path in
it named once. The tree and the handshakes over it are described in rundir/__init__.py.

Invariants: a directory used for samples is checked with lstat every time (`private_dir`): a real directory,
owned by this user, writable by no one else (nor the group unless opted in); never a silent fallback.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from .files import Sharing, writer_gone

BASE_NAME = "litellm_observe"
RUN_PREFIX = "run-"
WORKER_PREFIX = "w-"
SAMPLE_SUFFIX = ".lob"  # not `.db`: prometheus_client and LiteLLM glob and wipe `*.db`
NEW_SUFFIX = ".new"  # earlier versions' files being created
CORRUPT_SUFFIX = ".corrupt"
ARCHIVE = "archive" + SAMPLE_SUFFIX
COMPACT_LOCK = "compact.lock"
EXPORTER_LOCK = "exporter.lock"
EXPORTER_PID = "exporter.pid"
BIND_FAILURES = "exporter.bindfail"  # "<failed attempts> <when the failure was last logged>"
SPAWN_LOCK = "spawn.lock"
SIDECAR_LOCK = "sidecar.lock"
REMADE = "remade"  # created (O_EXCL) by the first process to notice that its run directory was removed
LABELS_DIR = "labels"
RESETS_DIR = "resets"
COOLDOWNS_DIR = "cooldowns"


class UnsafeDirectory(PermissionError):
    """A metrics directory someone else could tamper with: not used, never a silent fallback."""


# ---- base directories ----------------------------------------------------------------------------
def base_name(uid: int | None = None) -> str:
    """The default base directory's name in a directory shared by users: one per user."""
    return f"{BASE_NAME}-{os.geteuid() if uid is None else uid}"


def default_base(environ: Mapping[str, str] = os.environ) -> str:
    """Where runs go by default: `$PROMETHEUS_MULTIPROC_DIR/litellm_observe-<uid>` when that is set
    (a sub-folder LiteLLM's wipe of *.db leaves alone), else `$XDG_RUNTIME_DIR/litellm_observe`
    (a directory of the user's own, where the system provides one), else
    `<temp dir>/litellm_observe-<uid>`."""
    multiproc = environ.get("PROMETHEUS_MULTIPROC_DIR") or environ.get("prometheus_multiproc_dir")
    if multiproc:
        return os.path.join(multiproc, base_name())
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and os.path.isdir(runtime):
        return os.path.join(runtime, BASE_NAME)
    return os.path.join(tempfile.gettempdir(), base_name())


def base_dir(configured: str | None, environ: Mapping[str, str] = os.environ) -> str:
    return configured or default_base(environ)


def private_dir(path: str, parents: bool = False, create: bool = True) -> str:
    """Create `path` (mode per Sharing) if missing, then check with lstat, every time, that it is
    safe to keep samples in: a real directory (not a symlink), owned by this user, writable by no
    one else (nor by the group, unless the group is opted in). Raises UnsafeDirectory, naming the
    directory and what is wrong, rather than use someone else's."""
    if parents:
        os.makedirs(os.path.dirname(os.path.abspath(path)), mode=Sharing.dir_mode(), exist_ok=True)
    if create:
        try:
            os.mkdir(path, Sharing.dir_mode())
            if Sharing.group:
                os.chmod(path, Sharing.dir_mode())  # the umask may have narrowed it
        except FileExistsError:
            pass
    st = os.lstat(path)
    problem = None
    if stat.S_ISLNK(st.st_mode):
        problem = "it is a symbolic link"
    elif not stat.S_ISDIR(st.st_mode):
        problem = "it is not a directory"
    elif st.st_uid != os.geteuid() and not (Sharing.group and st.st_gid in (os.getegid(), *os.getgroups())):
        problem = f"it belongs to uid {st.st_uid}, not to this user (uid {os.geteuid()})" + (
            " nor to one of its groups" if Sharing.group else ""
        )
    elif st.st_mode & (0o002 if Sharing.group else 0o022):
        problem = f"others can write in it (mode {stat.S_IMODE(st.st_mode):04o})"
    if problem:
        raise UnsafeDirectory(
            errno.EPERM,
            f"refusing to keep metrics in {path}: {problem}; remove it, or "
            "set litellm_observe.metrics_dir to a directory of this user's own",
            path,
        )
    return path


# ---- a directory of sample files ---------------------------------------------------------------------
def _named(name: str) -> property:
    return property(lambda self: os.path.join(self.path, name), doc=f"`{name}` in this directory")


@dataclass(frozen=True)
class Directory:
    """A directory of sample files: a run directory, or a sidecar's base directory."""

    path: str

    def join(self, *parts: str) -> str:
        return os.path.join(self.path, *parts)

    archive = _named(ARCHIVE)
    compact_lock = _named(COMPACT_LOCK)
    exporter_lock = _named(EXPORTER_LOCK)
    exporter_pid = _named(EXPORTER_PID)
    bind_failures = _named(BIND_FAILURES)
    spawn_lock = _named(SPAWN_LOCK)
    sidecar_lock = _named(SIDECAR_LOCK)
    labels_dir = _named(LABELS_DIR)
    resets_dir = _named(RESETS_DIR)
    cooldowns_dir = _named(COOLDOWNS_DIR)

    def label_values(self, label: str) -> str:
        return self.join(LABELS_DIR, f"{label}.values")

    def new_sample_file(self) -> str:
        """A fresh name for this process's sample file."""
        return self.join(f"{WORKER_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}{SAMPLE_SUFFIX}")

    def sample_files(self) -> list[str]:
        """Visible sample files of writers (live or dead), sorted; the archive excluded."""
        try:
            names = os.listdir(self.path)
        except FileNotFoundError:
            return []
        return sorted(self.join(n) for n in names if n.startswith(WORKER_PREFIX) and n.endswith(SAMPLE_SUFFIX))

    def abandoned_new_files(self) -> list[str]:
        """`.new` files whose creator died before publishing them."""
        try:
            names = os.listdir(self.path)
        except FileNotFoundError:
            return []
        return [
            self.join(n)
            for n in names
            if n.startswith(WORKER_PREFIX) and n.endswith(SAMPLE_SUFFIX + NEW_SUFFIX) and writer_gone(self.join(n))
        ]

    def run_dirs(self) -> list[Directory]:
        """The run directories in this base (rundir/runs.py names them), sorted."""
        try:
            names = os.listdir(self.path)
        except OSError:
            return []
        return [
            Directory(self.join(n)) for n in sorted(names) if n.startswith(RUN_PREFIX) and os.path.isdir(self.join(n))
        ]

    def reset_claim(self, entity: str) -> str:
        """The claim file of one budget entity (worker/budgets.py)."""
        return self.join(RESETS_DIR, hashlib.sha256(entity.encode()).hexdigest()[:32])

    def cooldown_claim(self, cooldown: str, ends: float) -> str:
        """The claim file of one cooldown (worker/deployments.py): named after when it ends, so
        claims of cooldowns long over can be deleted by name alone."""
        return self.join(COOLDOWNS_DIR, f"{int(ends)}-{hashlib.sha256(cooldown.encode()).hexdigest()[:32]}")


def prepare(path: str, parents: bool = True) -> Directory:
    """Create a run directory with its sub-folders, each checked by private_dir (raises OSError,
    UnsafeDirectory included, when it cannot)."""
    private_dir(path, parents=parents)
    for sub in (LABELS_DIR, RESETS_DIR, COOLDOWNS_DIR):
        private_dir(os.path.join(path, sub))
    return Directory(path)
