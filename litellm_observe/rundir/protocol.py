"""The run directory protocol: every path, file name, lock and handshake, in one place (with runs.py,
which names runs and says whether one lives).

The worker side (worker/) and the exporter side (exporter/) both follow this module
and never import each other.

  <base>/                       litellm_observe-<uid> in the temp dir, or the configured
                                metrics_dir; checked on every start (private_dir); every
                                process of a live run holds a shared flock on it (runs.py)
    sidecar.lock                held by a `serve-metrics` sidecar serving the base
    w-*.lob, archive.lob        the sidecar's own counters and the runs it folded
    .new-run-*, .gone-run-*     a run directory being made, or removed (runs.py)
    run-<pid>-<start>-<ns>/     one proxy run, named after its root process and its PID
                                namespace (runs.py); every process of the run holds a
                                shared flock on it for life: the run lives while one does
      w-<pid>-<rand>.lob        one sample file per live writer, flock held for life
      .creating-w-<pid>-<rand>.lob  being created: locked from before anything sees it,
                                never read nor removed (a writer killed there leaves
                                it to the run's removal)
      w-<pid>-<rand>.lob.new    made by earlier versions while being created; removed
                                once its lock is free
      archive.lob               what dead writers left (written whole, then renamed)
      *.corrupt                 a dead writer's file that did not parse, set aside
      compact.lock              folding (exclusive) excludes reading (shared)
      exporter.lock             held by the run's one exporter for its whole life
      exporter.pid              the exporter's pid, written once it listens
      exporter.bindfail         failed attempts to listen and when one was last logged (gone once it listens)
      spawn.lock                the worker that starts an exporter holds it meanwhile
      remade                    made by the first process to notice the directory was removed
      labels/<label>.values     label values admitted in this run, one JSON per line
      resets/<sha256 prefix>    budget reset claims, an 8-byte stamp each
      cooldowns/<end>-<sha256>  deployment cooldown claims: empty files created with O_EXCL,
                                so one cooldown seen by several workers counts once

Handshakes:
- A writer creates `.creating-<name>`, takes an exclusive flock on it, writes the header,
  then renames it to `<name>`: a visible sample file is always complete and locked
  while its writer lives. Whoever can take that flock knows the writer is gone. Nothing
  removes a `.creating-` file, so no reader can take one for abandoned between its
  creation and its lock (a `.new` name once let a compaction delete it there).
- A dead writer's file is folded into `archive.lob` under `compact.lock` held
  exclusively; readers hold it shared, so no reader counts a writer twice.
- A run ends when its root process is gone (its exporter, in the root's PID namespace,
  watches the root) and, for everyone else, when no process holds its directory's flock
  (runs.py). Its exporter then deletes the run directory, unless a sidecar holds
  `sidecar.lock` in the base: then the sidecar folds the run into the base's archive and
  deletes it (so its totals never drop).
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import stat
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Mapping

BASE_NAME = "litellm_observe"
RUN_PREFIX = "run-"
WORKER_PREFIX = "w-"
SAMPLE_SUFFIX = ".lob"  # not `.db`: prometheus_client and LiteLLM glob and wipe `*.db`
NEW_SUFFIX = ".new"  # earlier versions' files being created
CREATING_PREFIX = ".creating-"
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

# The exporter's exit codes, read by the supervisor that started it.
EXPORTER_MODULE = "litellm_observe.exporter"
EXIT_BUSY = 0  # another exporter already serves this run
EXIT_BIND = 3  # the address could not be bound: retry later, with backoff
EXIT_UNSAFE = 4  # the directory is missing or unsafe (protocol.private_dir): do not retry soon

_OPEN_FLAGS = os.O_CLOEXEC | os.O_NOFOLLOW


class Sharing:
    """Who may use a metrics directory: its owner only (the default: directories 0700, files
    0600), or, opted in with `metrics_dir_group_shared`, also its group (0770 / 0660), for a
    sidecar running as another user of that group. Never anyone else. Set once per process
    by its entry point (`share_with_group`)."""

    group = False

    @classmethod
    def file_mode(cls) -> int:
        return 0o660 if cls.group else 0o600

    @classmethod
    def dir_mode(cls) -> int:
        return 0o770 if cls.group else 0o700


def share_with_group(group: bool) -> None:
    Sharing.group = bool(group)


class UnsafeDirectory(PermissionError):
    """A metrics directory someone else could tamper with: not used, never a silent fallback."""

# Errors that say nothing about a file's content: retry later, never set the file aside.
TRANSIENT_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.EINTR, errno.EAGAIN,
                              errno.ENOBUFS, errno.EIO, errno.ETIMEDOUT, errno.ESTALE})


def is_transient(error: OSError) -> bool:
    return error.errno in TRANSIENT_ERRNOS


# ---- opening files ------------------------------------------------------------------------------
def open_file(path: str, flags: int = os.O_RDONLY, mode: int | None = None) -> int:
    """os.open that never follows a symlink in the last component. A file it creates gets the
    sharing mode exactly (the umask could only narrow it; fchmod makes it what the policy says)."""
    mode = Sharing.file_mode() if mode is None else mode
    fd = os.open(path, flags | _OPEN_FLAGS, mode)
    if flags & os.O_CREAT and Sharing.group:
        try:
            os.fchmod(fd, mode)
        except OSError:
            pass
    return fd


def create_exclusive(path: str, flags: int = os.O_RDWR) -> int:
    """A new file that did not exist (no symlink, no file planted in advance)."""
    return open_file(path, flags | os.O_CREAT | os.O_EXCL)


def create_locked(path: str) -> tuple[int, str]:
    """A new file that will become `path`, exclusively flocked before any other process could take it for
    anything: created as `.creating-<name>` beside it (a name no reader reads or removes). The caller
    writes it, then renames the returned temporary path to `path`. Returns (descriptor, temporary path)."""
    tmp = os.path.join(os.path.dirname(path), CREATING_PREFIX + os.path.basename(path))
    fd = create_exclusive(tmp)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # held until the writer ends
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, tmp


def bind_failed(directory: "Directory", now: float, quiet_seconds: float) -> tuple[int, bool]:
    """One more failed attempt to bind the exporter's address, across every exporter the run starts:
    (attempts so far, whether to log this one: the first, then at most once per `quiet_seconds`)."""
    attempts, logged = 0, None
    try:
        with open(directory.bind_failures, "rb") as f:
            fields = f.read(64).split()
        attempts, logged = int(fields[0]), float(fields[1])
    except (OSError, ValueError, IndexError):
        pass
    attempts += 1
    speak = logged is None or now - logged >= quiet_seconds
    try:
        write_atomically(directory.bind_failures, f"{attempts} {now if speak else logged!r}".encode())
    except OSError:
        pass  # cannot remember: log every time rather than never
    return attempts, speak


def bound(directory: "Directory") -> int:
    """The address is bound: forget the failures; returns how many there were."""
    try:
        with open(directory.bind_failures, "rb") as f:
            attempts = int(f.read(64).split()[0])
        os.unlink(directory.bind_failures)
        return attempts
    except (OSError, ValueError, IndexError):
        return 0


def write_atomically(path: str, data: bytes) -> None:
    """Replace `path` by a file holding `data`: readers see the old file or the new, whole."""
    tmp = f"{path}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    fd = create_exclusive(tmp, os.O_WRONLY)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)


# ---- locks --------------------------------------------------------------------------------------
@contextmanager
def locked(path: str, *, shared: bool = False, wait: bool = True) -> Iterator[bool]:
    """Hold an flock on `path` (created if missing) for the `with` block.

    Yields True when held; with wait=False, yields False when another process holds it."""
    fd = open_file(path, os.O_RDWR | os.O_CREAT)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def hold(path: str) -> int | None:
    """Take an exclusive flock for as long as the returned descriptor stays open (None: taken)."""
    fd = open_file(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def lock_held(path: str, create: bool = False) -> bool | None:
    """Whether some process holds an flock on `path` (None: no such file and not `create`).
    The probe takes the lock for an instant and gives it back. Raises other OSErrors."""
    try:
        fd = open_file(path, os.O_RDWR | os.O_CREAT) if create else open_file(path)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def writer_gone(path: str) -> bool:
    """True only when certain: the file exists and no process holds its lock. Any error
    (too many open files, ...) answers False: a live writer's file is never taken for dead."""
    try:
        return lock_held(path) is False
    except OSError:
        return False


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
            " nor to one of its groups" if Sharing.group else "")
    elif st.st_mode & (0o002 if Sharing.group else 0o022):
        problem = f"others can write in it (mode {stat.S_IMODE(st.st_mode):04o})"
    if problem:
        raise UnsafeDirectory(errno.EPERM, f"refusing to keep metrics in {path}: {problem}; remove it, or "
                              "set litellm_observe.metrics_dir to a directory of this user's own", path)
    return path


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
        """A fresh name for this process's sample file (without the `.new` suffix)."""
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
        return [self.join(n) for n in names if n.startswith(WORKER_PREFIX) and n.endswith(SAMPLE_SUFFIX + NEW_SUFFIX)
                and writer_gone(self.join(n))]

    def run_dirs(self) -> list["Directory"]:
        """The run directories in this base (rundir/runs.py names them), sorted."""
        try:
            names = os.listdir(self.path)
        except OSError:
            return []
        return [Directory(self.join(n)) for n in sorted(names)
                if n.startswith(RUN_PREFIX) and os.path.isdir(self.join(n))]

    def sidecar_watching(self) -> bool:
        """Whether a sidecar serves this run or its base (then the sidecar folds the run when it
        ends, and removes it)."""
        return sidecar_watching(self.path) or sidecar_watching(os.path.dirname(self.path))

    def reset_claim(self, entity: str) -> str:
        """The claim file of one budget entity (worker/budgets.py)."""
        return self.join(RESETS_DIR, hashlib.sha256(entity.encode()).hexdigest()[:32])

    def cooldown_claim(self, cooldown: str, ends: float) -> str:
        """The claim file of one cooldown (worker/deployments.py): named after when it ends, so
        claims of cooldowns long over can be deleted by name alone."""
        return self.join(COOLDOWNS_DIR, f"{int(ends)}-{hashlib.sha256(cooldown.encode()).hexdigest()[:32]}")


def first_to_notice(directory: "Directory") -> bool:
    """Whether this process is the first of its run to find the run directory made again after it was
    removed (then it, alone, logs and counts it): the one that creates `remade` there."""
    try:
        os.close(create_exclusive(directory.join(REMADE)))
    except OSError:
        return False
    return True


def sidecar_watching(directory: str) -> bool:
    """Whether a `serve-metrics` sidecar holds `directory`'s sidecar lock."""
    try:
        return bool(lock_held(os.path.join(directory, SIDECAR_LOCK)))
    except OSError:
        return True  # unsure: keep a run for the sidecar rather than lose it


def watch_as_sidecar(directory: str) -> int:
    """Take a shared hold on `directory`'s sidecar lock for this process's life (several
    sidecars may serve one directory); returns the descriptor."""
    fd = open_file(os.path.join(directory, SIDECAR_LOCK), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def prepare(path: str, parents: bool = True) -> Directory:
    """Create a run directory with its sub-folders, each checked by private_dir (raises OSError,
    UnsafeDirectory included, when it cannot)."""
    private_dir(path, parents=parents)
    for sub in (LABELS_DIR, RESETS_DIR, COOLDOWNS_DIR):
        private_dir(os.path.join(path, sub))
    return Directory(path)
