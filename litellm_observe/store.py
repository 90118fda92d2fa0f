"""Per-process sample storage: one memory-mapped file per worker.

Layout (little-endian):
  header  : magic b"LOB1", u32 0, u64 used   (used = end of the last complete record)
  record  : u32 key_len, u32 slots, key (UTF-8 JSON [metric, [label values]]), pad to 8, slots x f64

A record is written in full before `used` moves past it, so a reader never sees a
half-written record, and since the pages are shared with the kernel a SIGKILLed
worker's last increments survive. The worker holds an exclusive flock on its file
for its whole life: whoever can take that lock knows the worker is gone.
"""
from __future__ import annotations

import fcntl
import json
import mmap
import os
import struct
import threading
import uuid

MAGIC = b"LOB1"
HEADER = struct.Struct("<4sIQ")
RECORD = struct.Struct("<II")
F64 = struct.Struct("<d")
INITIAL_SIZE = 64 * 1024
WORKER_PREFIX = "w-"
SUFFIX = ".lob"  # not `.db`: prometheus_client and LiteLLM glob and wipe `*.db`


class CorruptStore(ValueError):
    pass


def encode_key(metric: str, labels: tuple[str, ...]) -> bytes:
    return json.dumps([metric, list(labels)], ensure_ascii=False, separators=(",", ":")).encode()


class WorkerStore:
    """The writing side, used by the logger in one process."""

    def __init__(self, directory: str, slots_for: dict[str, int]):
        self._slots_for = slots_for
        self._lock = threading.Lock()
        self._offsets: dict[tuple, int] = {}
        self.path = os.path.join(directory, f"{WORKER_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}")
        tmp = self.path + ".new"
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)  # held until this process ends
        os.ftruncate(fd, INITIAL_SIZE)
        self._fd = fd
        self._size = INITIAL_SIZE
        self._mm = mmap.mmap(fd, INITIAL_SIZE)
        self._used = HEADER.size
        HEADER.pack_into(self._mm, 0, MAGIC, 0, self._used)
        os.rename(tmp, self.path)  # visible to readers only once it has a header and a lock

    def _offset(self, metric: str, labels: tuple[str, ...]) -> int:
        key = (metric, labels)
        off = self._offsets.get(key)
        if off is None:
            off = self._add_record(key)
        return off

    def _add_record(self, key: tuple) -> int:
        metric, labels = key
        data = encode_key(metric, labels)
        slots = self._slots_for[metric]
        pad = (-(RECORD.size + len(data))) % 8
        need = RECORD.size + len(data) + pad + 8 * slots
        if self._used + need > self._size:
            self._grow(self._used + need)
        start = self._used
        RECORD.pack_into(self._mm, start, len(data), slots)
        self._mm[start + RECORD.size:start + RECORD.size + len(data)] = data
        value_off = start + RECORD.size + len(data) + pad
        self._used = value_off + 8 * slots
        HEADER.pack_into(self._mm, 0, MAGIC, 0, self._used)
        self._offsets[key] = value_off
        return value_off

    def _grow(self, minimum: int) -> None:
        size = self._size
        while size < minimum:
            size *= 2
        os.ftruncate(self._fd, size)
        self._mm.close()
        self._mm = mmap.mmap(self._fd, size)
        self._size = size

    def inc(self, metric: str, labels: tuple[str, ...], amount: float = 1.0) -> None:
        with self._lock:
            off = self._offset(metric, labels)
            mm = self._mm
            F64.pack_into(mm, off, F64.unpack_from(mm, off)[0] + amount)

    def observe(self, metric: str, labels: tuple[str, ...], bucket_index: int, amount: float) -> None:
        """Histogram: one count into its (non-cumulative) bucket slot, `amount` into the sum slot."""
        with self._lock:
            off = self._offset(metric, labels)
            mm = self._mm
            b = off + 8 * bucket_index
            F64.pack_into(mm, b, F64.unpack_from(mm, b)[0] + 1.0)
            s = off + 8 * (self._slots_for[metric] - 1)
            F64.pack_into(mm, s, F64.unpack_from(mm, s)[0] + amount)

    def set(self, metric: str, labels: tuple[str, ...], value: float, when: float) -> None:
        with self._lock:
            off = self._offset(metric, labels)
            F64.pack_into(self._mm, off, value)
            F64.pack_into(self._mm, off + 8, when)

    def add(self, metric: str, labels: tuple[str, ...], delta: float, when: float) -> None:
        """Gauge increment (in-flight requests)."""
        with self._lock:
            off = self._offset(metric, labels)
            F64.pack_into(self._mm, off, F64.unpack_from(self._mm, off)[0] + delta)
            F64.pack_into(self._mm, off + 8, when)

    def close(self) -> None:
        self._mm.close()
        os.close(self._fd)


def parse(data: bytes) -> list[tuple[bytes, tuple[float, ...]]]:
    """Records of a store file's bytes; raises CorruptStore on anything malformed."""
    if len(data) < HEADER.size:
        raise CorruptStore(f"{len(data)} bytes, shorter than the header")
    magic, _, used = HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise CorruptStore(f"bad magic {magic!r}")
    if used > len(data) or used < HEADER.size:
        raise CorruptStore(f"header says {used} bytes used, file has {len(data)}")
    out = []
    pos = HEADER.size
    while pos < used:
        if pos + RECORD.size > used:
            raise CorruptStore(f"truncated record header at {pos}")
        klen, slots = RECORD.unpack_from(data, pos)
        key_end = pos + RECORD.size + klen
        value_off = key_end + (-(RECORD.size + klen)) % 8
        end = value_off + 8 * slots
        if end > used or slots > 4096:
            raise CorruptStore(f"record at {pos} runs past the end")
        out.append((bytes(data[pos + RECORD.size:key_end]), struct.unpack_from(f"<{slots}d", data, value_off)))
        pos = end
    return out


def read(path: str) -> list[tuple[bytes, tuple[float, ...]]]:
    with open(path, "rb") as f:
        return parse(f.read())


def write(path: str, records: list[tuple[bytes, tuple[float, ...]]]) -> None:
    """Write a whole store file atomically (the exporter's archive of dead workers)."""
    body = bytearray(HEADER.size)
    for key, values in records:
        body += RECORD.pack(len(key), len(values)) + key
        body += b"\0" * ((-(RECORD.size + len(key))) % 8)
        body += struct.pack(f"<{len(values)}d", *values)
    HEADER.pack_into(body, 0, MAGIC, 0, len(body))
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(body)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def lock_held(path: str, create: bool = False) -> bool | None:
    """Whether some process holds an flock on `path` (None: no such file and not `create`).
    The test takes the lock for an instant and gives it back."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644) if create else os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def is_dead(path: str) -> bool:
    """True when no process holds the worker's lock (it exited, was killed, or never locked)."""
    return lock_held(path) is False
