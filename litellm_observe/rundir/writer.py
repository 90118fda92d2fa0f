"""The writing side of one sample file (samplefile.py), written in place: a worker keeps its samples
through it, and the exporter its own counters. Metrics are written through rundir/record.py's Recorder,
whose named-label methods call the four writes below (inc, observe, set, add); nothing else writes.

The file is created under a `.creating-` name, locked, given its header, then renamed
into place (rundir/files.py, create_locked), and the process holds its flock for life, so the exporter
can tell a dead writer from a live one even after SIGKILL. Every store is one aligned
8-byte write, so the exporter never sees a value half-written, and since the pages are
shared with the kernel a SIGKILLed worker's last increments survive it.

Space is reserved before it is used: a full filesystem makes `inc` and friends raise
OSError (ENOSPC) when a new series needs room, which the logger counts and reports;
series that already exist keep counting. `reserve` creates a series ahead of need.
"""

from __future__ import annotations

import os
import threading

from ..catalogue import BY_NAME, CATALOGUE, Kind
from . import samplefile
from .files import create_locked
from .layout import Directory

INITIAL_SIZE = 64 * 1024
_SUM_SLOT = {m.name: m.value_slots() - 1 for m in CATALOGUE if m.kind is Kind.HISTOGRAM}
Key = tuple[str, tuple[str, ...]]  # (metric, label values in the catalogue's order)


class SampleWriter:
    """One process's sample file. Thread-safe: each write takes the writer's lock, looks its series up (one
    dict lookup; a new series is appended to the file) and makes one or two 8-byte stores.

    The hot path (rundir/record.py's Slots) skips the lookup: it keeps each series' `index`, takes `lock`
    once for several stores and writes `values[i]` itself. An index stays valid for the writer's life
    (records only append; `republish` keeps every offset); `values` is the current view, to be read under
    the lock after the last `index` that may have created a series (a new series may map the file anew)."""

    def __init__(self, directory: Directory | str, initial_size: int = INITIAL_SIZE):
        directory = directory if isinstance(directory, Directory) else Directory(directory)
        self.lock = threading.RLock()  # re-entrant: a write inside a held `with lock:` cannot hang the proxy
        self._index: dict[Key, int] = {}
        self.path = directory.new_sample_file()
        fd, tmp = create_locked(self.path)  # the flock is held until this process ends
        try:
            self._file = samplefile.MappedFile(fd, initial_size)
            os.rename(tmp, self.path)  # visible to readers only once it has a header and a lock
        except BaseException:
            os.close(fd)
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        self._fd = fd
        self.values: memoryview[float] = self._file.doubles

    def unlinked(self) -> bool:
        """Whether this writer's file was removed from its directory (by hand, or by a cleaner that
        removed the whole run directory): values written from then on reach no reader."""
        try:
            return os.fstat(self._fd).st_nlink == 0 or not _same_file(self._fd, self.path)
        except OSError:
            return True

    def republish(self, directory: Directory) -> None:
        """Publish this writer's file again in `directory` (its own was removed): the same name, a copy
        of every value as of now, through the same `.new`, lock, rename handshake. Every value stays at
        its offset, so writes go on unchanged; none is lost, since they wait on the writer's lock
        meanwhile. Raises OSError when it cannot (the writer then keeps its old file)."""
        with self.lock:
            path = directory.join(os.path.basename(self.path))
            fd, tmp = create_locked(path)
            try:
                new = samplefile.MappedFile.copy_of(self._file, fd)
                os.rename(tmp, path)
            except BaseException:
                os.close(fd)
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
            old, old_fd = self._file, self._fd
            self._file, self._fd, self.path = new, fd, path
            self.values = new.doubles
            old.close()
            os.close(old_fd)

    def _new(self, key: Key) -> int:
        """Append a zeroed record for a series; its first value's index. The caller holds the lock."""
        metric, labels = key
        m = BY_NAME[metric]
        index = self._file.append(samplefile.encode_key(metric, m.schema, labels), m.value_slots())
        self.values = self._file.doubles  # the file may have grown: a new view
        self._index[key] = index
        return index

    def reserve(self, metric: str, labels: tuple[str, ...]) -> None:
        with self.lock:
            if (metric, labels) not in self._index:
                self._new((metric, labels))

    def index(self, key: Key) -> int:
        """The index in `values` of a series' first value, the series created if new. The caller holds
        `lock`, and reads `values` again afterwards."""
        i = self._index.get(key)
        return self._new(key) if i is None else i

    # The four writes. Each store is `values[i] = ...`: one aligned 8-byte write (rundir/samplefile.py). The
    # view is read after the lookup: creating a series may have grown the file and mapped it again.
    def inc(self, metric: str, labels: tuple[str, ...], amount: float = 1.0) -> None:
        """Counter: `amount` added."""
        key = (metric, labels)
        with self.lock:
            i = self._index.get(key)
            if i is None:
                i = self._new(key)
            self.values[i] += amount

    def observe(self, metric: str, labels: tuple[str, ...], bucket_index: int, amount: float) -> None:
        """Histogram: one count into its (non-cumulative) bucket slot, `amount` into the sum slot."""
        key = (metric, labels)
        with self.lock:
            i = self._index.get(key)
            if i is None:
                i = self._new(key)
            values = self.values
            values[i + bucket_index] += 1.0
            values[i + _SUM_SLOT[metric]] += amount

    def set(self, metric: str, labels: tuple[str, ...], value: float, when: float) -> None:
        """Gauge, most recent value (or the largest, for a live-max gauge: the exporter compares): the
        value, then when it was written."""
        key = (metric, labels)
        with self.lock:
            i = self._index.get(key)
            if i is None:
                i = self._new(key)
            values = self.values
            values[i] = value
            values[i + 1] = when

    def add(self, metric: str, labels: tuple[str, ...], delta: float, when: float) -> None:
        """Gauge increment (in-flight requests, live workers, their memory)."""
        key = (metric, labels)
        with self.lock:
            i = self._index.get(key)
            if i is None:
                i = self._new(key)
            values = self.values
            values[i] += delta
            values[i + 1] = when

    def close(self) -> None:
        """Unmap and close the file (its values are released views from then on: a write raises)."""
        with self.lock:
            self._file.close()
            os.close(self._fd)


def _same_file(fd: int, path: str) -> bool:
    held, there = os.fstat(fd), os.stat(path, follow_symlinks=False)
    return (held.st_dev, held.st_ino) == (there.st_dev, there.st_ino)
