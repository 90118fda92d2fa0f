"""The handshakes between a run's processes beyond the sample files: how a worker's supervisor starts the
run's exporter and reads how it ended (the module it runs, its exit codes), how a failure to listen is logged
once across every exporter the run starts, how the first process to find its run directory made again says so
alone, and how a `serve-metrics` sidecar takes ended runs over (its lock in the base).
"""

from __future__ import annotations

import fcntl
import os

from .files import create_exclusive, lock_held, open_file, write_atomically
from .layout import REMADE, SIDECAR_LOCK, Directory

# The exporter's exit codes, read by the supervisor that started it.
EXPORTER_MODULE = "litellm_observe.exporter"
EXIT_BUSY = 0  # another exporter already serves this run
EXIT_BIND = 3  # the address could not be bound: retry later, with backoff
EXIT_UNSAFE = 4  # the directory is missing or unsafe (layout.private_dir): do not retry soon


def bind_failed(directory: Directory, now: float, quiet_seconds: float) -> tuple[int, bool]:
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


def bound(directory: Directory) -> int:
    """The address is bound: forget the failures; returns how many there were."""
    try:
        with open(directory.bind_failures, "rb") as f:
            attempts = int(f.read(64).split()[0])
        os.unlink(directory.bind_failures)
        return attempts
    except (OSError, ValueError, IndexError):
        return 0


def first_to_notice(directory: Directory) -> bool:
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


def left_to_sidecar(run: Directory) -> bool:
    """Whether a sidecar serves this run or its base (then the sidecar folds the run when it ends, and removes
    it)."""
    return sidecar_watching(run.path) or sidecar_watching(os.path.dirname(run.path))
