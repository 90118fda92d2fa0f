"""The sample file format: what a writer process keeps and the exporter reads.

One file per writer process (a worker, or the exporter for its own counters), and one
archive per directory holding what dead writers left. Layout, little-endian, every
value 8-byte aligned:

  header  magic b"LOB2" | u32 format version | u64 used
  record  u32 key length | u32 slots | key | zero padding to 8 | slots x f64

`used` is the end of the last complete record. The key is compact UTF-8 JSON
`[metric, schema, [label values...]]`; `schema` fingerprints the metric's kind, label
names and buckets (catalogue.Metric.schema), so a reader built from another catalogue
skips a record it would misread instead of mislabelling it.

Invariants a reader relies on (proved by tests/rundir/test_samplefile.py and the
torture test):
- Every value and `used` is written by one aligned 8-byte store (a memoryview cast to
  'd' or 'Q': CPython copies the item with an 8-byte memcpy, one machine store on
  x86-64 and arm64), and read by one aligned 8-byte load (the same cast over a shared
  mapping). So a value is never seen half-written: a counter is seen old or new,
  never 0 or a mix of both. `struct.pack_into` is never used on live bytes: it
  zero-fills its target before writing.
- A record's bytes are written before `used` moves past it; records only ever append
  and files only ever grow, so a mapping of an older size stays valid.
- The writer reserves disk blocks (posix_fallocate) before it maps them, so a full
  filesystem is an OSError at growth, never a SIGBUS on a later store.
"""
from __future__ import annotations

import errno
import functools
import json
import mmap
import os
import struct
from dataclasses import dataclass

MAGIC = b"LOB2"
VERSION = 1
HEADER = struct.Struct("<4sIQ")
RECORD = struct.Struct("<II")
USED_INDEX = 1  # `used` is the second u64 of the header
MAX_SLOTS = 4096
MAX_KEY = 64 * 1024
GROW_STEP = 64 * 1024  # on a nearly full filesystem the file grows by this much instead of doubling


class CorruptSampleFile(ValueError):
    """The bytes are not a sample file (or not a complete one)."""


def encode_key(metric: str, schema: str, labels: tuple[str, ...]) -> bytes:
    return json.dumps([metric, schema, list(labels)], ensure_ascii=False, separators=(",", ":")).encode()


def decode_key(key: bytes) -> tuple[str, str, tuple[str, ...]] | None:
    """(metric, schema, label values), or None for a key this format version cannot have written."""
    try:
        metric, schema, labels = json.loads(key)
    except (ValueError, TypeError):
        return None
    if not (isinstance(metric, str) and isinstance(schema, str) and isinstance(labels, list)
            and all(isinstance(v, str) for v in labels)):
        return None
    return metric, schema, tuple(labels)


def record_size(key: bytes, slots: int) -> int:
    return RECORD.size + len(key) + _pad(len(key)) + 8 * slots


def _pad(key_len: int) -> int:
    return (-(RECORD.size + key_len)) % 8


@dataclass
class Parsed:
    records: list[tuple[bytes, tuple[float, ...]]]
    complete: bool  # False: a record past the last good one did not parse (a live writer's torn tail)
    problem: str = ""


def parse(data: bytes) -> Parsed:
    """Records of a sample file's bytes (a copy: a dead writer's file, or the archive, which is
    written whole; a live file is read through FileReader, never copied).

    Raises CorruptSampleFile when the header is not ours. A record that does not parse
    stops the walk (`complete` False): for a live writer that is a tail not yet visible,
    for a dead one, corruption; the caller decides which.
    """
    data = bytes(data)
    if len(data) < HEADER.size:
        raise CorruptSampleFile(f"{len(data)} bytes, shorter than the header")
    magic, _, used = HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise CorruptSampleFile(f"bad magic {magic!r}")
    if used < HEADER.size or used % 8:
        raise CorruptSampleFile(f"header says {used} bytes used")
    if used > len(data):
        return Parsed([], False, f"header says {used} bytes used, {len(data)} there")
    out = []
    pos = HEADER.size
    unpack = RECORD.unpack_from
    while pos < used:
        if pos + RECORD.size > used:
            return Parsed(out, False, f"truncated record header at {pos}")
        klen, slots = unpack(data, pos)
        key_end = pos + RECORD.size + klen
        value_off = key_end + (-(RECORD.size + klen)) % 8
        end = value_off + 8 * slots
        if klen > MAX_KEY or slots > MAX_SLOTS or end > used:
            return Parsed(out, False, f"record at {pos} runs past the end")
        out.append((data[pos + RECORD.size:key_end], _values(slots).unpack_from(data, value_off)))
        pos = end
    return Parsed(out, True)


@functools.lru_cache(maxsize=None)
def _values(slots: int) -> struct.Struct:
    return struct.Struct(f"<{slots}d")


class FileReader:
    """Follows one sample file across reads (the exporter keeps one per file).

    The file is mapped once, and again only when it has grown; each record's layout is
    parsed once, so a later read is one 8-byte load per value. Valid because files only
    grow and records only append: what was parsed once never moves. A file replaced
    under the same name (the archive) needs a new reader: compare `inode`.
    """

    def __init__(self, path: str):
        self.path = path
        self._fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        self._mm: mmap.mmap | None = None
        self._size = 0
        self._layout: list[tuple[bytes, int, int]] = []  # key, first value index, slots
        self._parsed_to = HEADER.size
        try:
            st = os.fstat(self._fd)
            self.inode = (st.st_dev, st.st_ino)
            self._map(st.st_size)
            if bytes(self._view[:4]) != MAGIC:
                raise CorruptSampleFile(f"bad magic {bytes(self._view[:4])!r}")
        except BaseException:
            self.close()
            raise

    def _map(self, size: int) -> None:
        size -= size % 8
        if size < HEADER.size:
            raise CorruptSampleFile(f"{size} bytes, shorter than the header")
        self._unmap()
        self._mm = mmap.mmap(self._fd, size, prot=mmap.PROT_READ)
        self._view = memoryview(self._mm)
        self._words = self._view.cast("Q")
        self._doubles = self._view.cast("d")
        self._size = size

    def _unmap(self) -> None:
        if self._mm is not None:
            self._doubles.release()
            self._words.release()
            self._view.release()
            self._mm.close()
            self._mm = None

    def read(self) -> Parsed:
        used = self._words[USED_INDEX]  # one 8-byte load
        if used < self._parsed_to or used % 8:
            raise CorruptSampleFile(f"header says {used} bytes used")
        problem = ""
        if used > self._size:  # the writer grew the file since it was mapped
            self._map(os.fstat(self._fd).st_size)
            if used > self._size:
                problem = f"header says {used} bytes used, {self._size} mapped"
                used = self._parsed_to
        view, pos = self._view, self._parsed_to
        while pos < used:
            if pos + RECORD.size > used:
                problem = f"truncated record header at {pos}"
                break
            klen, slots = RECORD.unpack_from(view, pos)  # written once, before `used` covered them
            value_off = pos + RECORD.size + klen + (-(RECORD.size + klen)) % 8
            end = value_off + 8 * slots
            if klen > MAX_KEY or slots > MAX_SLOTS or end > used:
                problem = f"record at {pos} runs past the end"
                break
            self._layout.append((bytes(view[pos + RECORD.size:pos + RECORD.size + klen]), value_off // 8, slots))
            pos = end
        self._parsed_to = pos
        doubles = self._doubles
        records = [(key, tuple(doubles[first:first + slots].tolist())) for key, first, slots in self._layout]
        return Parsed(records, not problem, problem)

    def close(self) -> None:
        self._unmap()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def read_whole(path: str) -> Parsed:
    """Read a file whose writer is gone (nothing can change under the reader) and parse it:
    one read, no mapping. OSError when it cannot be opened or read."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return parse(b"".join(chunks))


def read(path: str) -> Parsed:
    """Map a file read-only and parse it once; OSError when it cannot be opened or mapped."""
    reader = FileReader(path)
    try:
        return reader.read()
    finally:
        reader.close()


def encode(records: list[tuple[bytes, tuple[float, ...]]]) -> bytes:
    """A whole file's bytes (the archive is written whole, then renamed into place)."""
    body = bytearray(HEADER.size)
    for key, values in records:
        body += RECORD.pack(len(key), len(values)) + key + b"\0" * _pad(len(key))
        body += struct.pack(f"<{len(values)}d", *values)
    HEADER.pack_into(body, 0, MAGIC, VERSION, len(body))
    return bytes(body)


class MappedFile:
    """The writing side's view of one file: appends records, stores values in place.

    Not thread-safe: the caller (worker/store.py) serialises calls.
    """

    def __init__(self, fd: int, initial_size: int):
        self._fd = fd
        self._size = 0
        self._mm: mmap.mmap | None = None
        self._reserve(initial_size)
        self.used = HEADER.size
        self._mm[:HEADER.size] = HEADER.pack(MAGIC, VERSION, self.used)  # before the file is visible

    @classmethod
    def copy_of(cls, source: "MappedFile", fd: int) -> "MappedFile":
        """A new file at `fd` holding what `source` holds, at the same offsets (so record indices stay
        valid); the caller keeps `source` from changing meanwhile and publishes the file afterwards."""
        new = cls.__new__(cls)
        new._fd, new._size, new._mm = fd, 0, None
        new._reserve(source._size)
        new._mm[:source.used] = source._mm[:source.used]
        new.used = source.used
        return new

    def _reserve(self, size: int) -> None:
        os.posix_fallocate(self._fd, 0, size)  # blocks exist before any store touches them
        self._release()
        self._mm = mmap.mmap(self._fd, size)
        self._view = memoryview(self._mm)
        self._doubles = self._view.cast("d")
        self._words = self._view.cast("Q")
        self._size = size

    def _release(self) -> None:
        if self._mm is not None:
            self._doubles.release()
            self._words.release()
            self._view.release()
            self._mm.close()
            self._mm = None

    def append(self, key: bytes, slots: int) -> int:
        """Add a zeroed record; returns the index of its first value (in 8-byte units)."""
        need = record_size(key, slots)
        if self.used + need > self._size:
            size = self._size
            while size < self.used + need:
                size *= 2
            try:
                self._reserve(size)  # OSError (ENOSPC) here leaves the file as it was
            except OSError as e:
                if e.errno not in (errno.ENOSPC, errno.EDQUOT):
                    raise
                self._reserve(-(-(self.used + need) // GROW_STEP) * GROW_STEP)  # nearly full: just enough
        start = self.used
        self._view[start:start + RECORD.size] = RECORD.pack(len(key), slots)
        self._view[start + RECORD.size:start + RECORD.size + len(key)] = key
        value_off = start + RECORD.size + len(key) + _pad(len(key))
        # the new bytes are zero (fallocate), so values start at 0.0 and padding is zero
        self.used = value_off + 8 * slots
        self._words[USED_INDEX] = self.used  # one 8-byte store publishes the record
        return value_off // 8

    @property
    def doubles(self) -> memoryview:
        """The values as a 'd' view: `doubles[i] = x` is one 8-byte store. Valid until the next
        `append` (which may grow and map the file again)."""
        return self._doubles

    def get(self, index: int) -> float:
        return self._doubles[index]

    def put(self, index: int, value: float) -> None:
        self._doubles[index] = value  # one 8-byte store

    def close(self) -> None:
        self._release()
