"""This process's samples: one sample file (rundir/samplefile.py), written in place.

The file is created under a `.new` name, locked, given its header, then renamed into
place (rundir/protocol.py), and the process holds its flock for life, so the exporter
can tell a dead writer from a live one even after SIGKILL. Every store is one aligned
8-byte write, so the exporter never sees a value half-written, and since the pages are
shared with the kernel a SIGKILLed worker's last increments survive it.

Space is reserved before it is used: a full filesystem makes `inc` and friends raise
OSError (ENOSPC) when a new series needs room, which the logger counts and reports;
series that already exist keep counting. `reserve` creates a series ahead of need.
"""
from __future__ import annotations

import fcntl
import os
import threading

from ..catalogue import BY_NAME
from ..rundir import samplefile
from ..rundir.protocol import NEW_SUFFIX, Directory, create_exclusive

INITIAL_SIZE = 64 * 1024


class WorkerStore:
    def __init__(self, directory: Directory | str, initial_size: int = INITIAL_SIZE):
        directory = directory if isinstance(directory, Directory) else Directory(directory)
        self._lock = threading.Lock()
        self._index: dict[tuple[str, tuple[str, ...]], int] = {}
        self.path = directory.new_sample_file()
        tmp = self.path + NEW_SUFFIX
        fd = create_exclusive(tmp)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held until this process ends
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

    def _slot(self, metric: str, labels: tuple[str, ...]) -> int:
        key = (metric, labels)
        index = self._index.get(key)
        if index is None:
            m = BY_NAME[metric]
            index = self._file.append(samplefile.encode_key(metric, m.schema, labels), m.value_slots())
            self._index[key] = index
        return index

    def reserve(self, metric: str, labels: tuple[str, ...]) -> None:
        with self._lock:
            self._slot(metric, labels)

    def inc(self, metric: str, labels: tuple[str, ...], amount: float = 1.0) -> None:
        with self._lock:
            i = self._slot(metric, labels)
            f = self._file
            f.put(i, f.get(i) + amount)

    def observe(self, metric: str, labels: tuple[str, ...], bucket_index: int, amount: float) -> None:
        """Histogram: one count into its (non-cumulative) bucket slot, `amount` into the sum slot."""
        with self._lock:
            i = self._slot(metric, labels)
            f = self._file
            b = i + bucket_index
            f.put(b, f.get(b) + 1.0)
            s = i + BY_NAME[metric].value_slots() - 1
            f.put(s, f.get(s) + amount)

    def set(self, metric: str, labels: tuple[str, ...], value: float, when: float) -> None:
        """Gauge, most recent value: the value, then when it was written."""
        with self._lock:
            i = self._slot(metric, labels)
            self._file.put(i, value)
            self._file.put(i + 1, when)

    def add(self, metric: str, labels: tuple[str, ...], delta: float, when: float) -> None:
        """Gauge increment (in-flight requests)."""
        with self._lock:
            i = self._slot(metric, labels)
            f = self._file
            f.put(i, f.get(i) + delta)
            f.put(i + 1, when)

    def close(self) -> None:
        with self._lock:
            self._file.close()
            os.close(self._fd)
