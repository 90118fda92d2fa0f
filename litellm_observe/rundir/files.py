"""Files and locks of the run directory: opening without following a symlink, creating exclusively, creating
a file locked before anyone can see it, replacing one whole, and every flock on a file the package takes
(the worker and exporter sides take their locks through here; the locks on directories, which say whether a
run lives, are runs.py's).

Invariants: no file is opened through a symbolic link in its last component (O_NOFOLLOW); a file created here
gets exactly the sharing mode (`Sharing`); an error that says nothing about a file's content is transient
(`is_transient`): retried, never a reason to set the file aside; `writer_gone` answers True only when certain.
"""

from __future__ import annotations

import errno
import fcntl
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

CREATING_PREFIX = ".creating-"  # a file being created, locked before anything sees it (create_locked)
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


# Errors that say nothing about a file's content: retry later, never set the file aside.
TRANSIENT_ERRNOS = frozenset(
    {
        errno.EMFILE,
        errno.ENFILE,
        errno.ENOMEM,
        errno.EINTR,
        errno.EAGAIN,
        errno.ENOBUFS,
        errno.EIO,
        errno.ETIMEDOUT,
        errno.ESTALE,
    }
)


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


def write_atomically(path: str, data: bytes) -> None:
    """Replace `path` by a file holding `data`: readers see the old file or the new, whole."""
    tmp = f"{path}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    fd = create_exclusive(tmp, os.O_WRONLY)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
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


def lock_exclusively(fd: int) -> None:
    """Wait for an exclusive flock on an open file (released when the descriptor is closed): the claim files of
    label values and budget resets (worker/labels.py, worker/budgets.py)."""
    fcntl.flock(fd, fcntl.LOCK_EX)
