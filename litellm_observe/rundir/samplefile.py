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

Over 300 lines for a reason: both sides of the format live here (the reader's walk and the
writer's appends, over one mapping type), so that what one writes and the other reads is
checked in one file.
"""

from __future__ import annotations

import errno
import functools
import json
import mmap
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass

MAGIC = b"LOB2"
VERSION = 1
HEADER = struct.Struct("<4sIQ")
RECORD = struct.Struct("<II")
USED_INDEX = 1  # `used` is the second u64 of the header
MAX_SLOTS = 4096
MAX_KEY = 64 * 1024
COMPARE_GROUP = 16  # records compared as one run of bytes first, then in halves (FileReader._changed)
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
    if not (
        isinstance(metric, str)
        and isinstance(schema, str)
        and isinstance(labels, list)
        and all(isinstance(v, str) for v in labels)
    ):
        return None
    return metric, schema, tuple(labels)


def record_size(key: bytes, slots: int) -> int:
    return RECORD.size + len(key) + _pad(len(key)) + 8 * slots


def _pad(key_len: int) -> int:
    return (-(RECORD.size + key_len)) % 8


Record = tuple[bytes, tuple[float, ...]]  # (key, values)


@dataclass
class Parsed:
    records: list[tuple[bytes, tuple[float, ...]]]
    complete: bool  # False: a record past the last good one did not parse (a live writer's torn tail)
    problem: str = ""
    # FileReader: `records` differs from the records list `since` (the reader's previous complete read) only at
    # the indices in `changed` (values loaded again, or records appended); None when not known
    since: list[tuple[bytes, tuple[float, ...]]] | None = None
    changed: list[int] | None = None


class _Walk:
    """One pass over the records of `buf` from `pos` (where a record starts) up to `used`: iterating yields each
    whole record as (key start, key end, offset of its first value, slots). Afterwards `pos` is the end of the
    last whole record and `problem` says why the walk stopped short of `used` ("" when it did not). The one
    record walk of this module: `parse` (a copy of the bytes) and `FileReader` (a live mapping) share it."""

    __slots__ = ("_buf", "_used", "pos", "problem")

    def __init__(self, buf: bytes | memoryview, pos: int, used: int):
        self._buf, self._used, self.pos, self.problem = buf, used, pos, ""

    def __iter__(self) -> Iterator[tuple[int, int, int, int]]:
        buf, pos, used, unpack = self._buf, self.pos, self._used, RECORD.unpack_from
        while pos < used:
            if pos + RECORD.size > used:
                self.problem = f"truncated record header at {pos}"
                break
            klen, slots = unpack(buf, pos)  # written once, before `used` covered them
            key_end = pos + RECORD.size + klen
            value_off = key_end + _pad(klen)
            end = value_off + 8 * slots
            if klen > MAX_KEY or slots > MAX_SLOTS or end > used:
                self.problem = f"record at {pos} runs past the end"
                break
            yield pos + RECORD.size, key_end, value_off, slots
            pos = end
        self.pos = pos


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
    walk = _Walk(data, HEADER.size, used)
    records = [
        (data[key:key_end], _values(slots).unpack_from(data, value_off)) for key, key_end, value_off, slots in walk
    ]
    return Parsed(records, not walk.problem, walk.problem)


@functools.cache
def _values(slots: int) -> struct.Struct:
    return struct.Struct(f"<{slots}d")


class _Mapping:
    """A file mapped whole, with its byte view and its aligned u64 and f64 views (one 8-byte load or store per
    item). `close` releases the views, then the map: the one unmap of this module."""

    __slots__ = ("_mm", "view", "words", "doubles", "size")

    def __init__(self, fd: int, size: int, prot: int = mmap.PROT_READ | mmap.PROT_WRITE):
        self._mm: mmap.mmap | None = mmap.mmap(fd, size, prot=prot)
        self.view = memoryview(self._mm)
        self.words = self.view.cast("Q")
        self.doubles: memoryview[float] = self.view.cast("d")
        self.size = size

    def close(self) -> None:
        if self._mm is not None:
            self.doubles.release()
            self.words.release()
            self.view.release()
            self._mm.close()
            self._mm = None


class FileReader:
    """Follows one sample file across reads (the exporter keeps one per file).

    The file is mapped once, and again only when it has grown; each record's layout is
    parsed once, so a later read is one 8-byte load per value. Valid because files only
    grow and records only append: what was parsed once never moves. A file replaced
    under the same name (the archive) needs a new reader: compare `inode`.

    A read that finds the file's bytes exactly as last served returns the last `Parsed` (the
    same object: callers may reuse what they derived from it). `_served` holds the bits of the
    values last returned (packed from them, never from a bulk copy), so "unchanged" is exact:
    a bulk copy that equals them saw every value as served, whatever it tore. The same holds per
    record: where a file changed, a record whose values are as served is the last read's very
    (key, values) object, so callers can reuse what they derived per series (aggregate.Snapshot).
    """

    def __init__(self, path: str):
        self.path = path
        self._fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        self._mapping: _Mapping | None = None
        self._layout: list[tuple[bytes, int, int]] = []  # key, first value index, slots
        self._parsed_to = HEADER.size
        self._last: Parsed | None = None  # the last complete read, and the bytes it served
        self._served = b""
        try:
            st = os.fstat(self._fd)
            self.inode = (st.st_dev, st.st_ino)
            mapping = self._map(st.st_size)
            if bytes(mapping.view[:4]) != MAGIC:
                raise CorruptSampleFile(f"bad magic {bytes(mapping.view[:4])!r}")
        except BaseException:
            self.close()
            raise

    def _map(self, size: int) -> _Mapping:
        size -= size % 8
        if size < HEADER.size:
            raise CorruptSampleFile(f"{size} bytes, shorter than the header")
        if self._mapping is not None:
            self._mapping.close()
            self._mapping = None
        self._mapping = _Mapping(self._fd, size, prot=mmap.PROT_READ)
        return self._mapping

    def read(self) -> Parsed:
        mapping = self._mapping
        if mapping is None:
            raise ValueError(f"{self.path}: read after close")
        used = mapping.words[USED_INDEX]  # one 8-byte load
        if used < self._parsed_to or used % 8:
            raise CorruptSampleFile(f"header says {used} bytes used")
        problem = ""
        if used > mapping.size:  # the writer grew the file since it was mapped
            mapping = self._map(os.fstat(self._fd).st_size)
            if used > mapping.size:
                problem = f"header says {used} bytes used, {mapping.size} mapped"
                used = self._parsed_to
        view = mapping.view
        walk = _Walk(view, self._parsed_to, used)
        self._layout += [(bytes(view[key:key_end]), value_off // 8, slots) for key, key_end, value_off, slots in walk]
        self._parsed_to = walk.pos
        problem = problem or walk.problem
        if problem:
            self._last = None
        else:
            seen = view[HEADER.size : self._parsed_to].tobytes()  # one copy, to compare: values come from 8-byte loads
            if self._last is not None and seen == self._served:
                return self._last
        doubles = mapping.doubles
        records: list[tuple[bytes, tuple[float, ...]]]
        if problem:
            records = [(key, tuple(doubles[first : first + slots].tolist())) for key, first, slots in self._layout]
            return Parsed(records, False, problem)
        since = self._last.records if self._last is not None else None
        records, served, changed = self._changed(doubles, seen)
        parsed = Parsed(records, True, since=since, changed=changed if since is not None else None)
        self._last, self._served = parsed, bytes(served)
        return parsed

    def _changed(self, doubles: memoryview[float], seen: bytes) -> tuple[list[Record], bytearray, list[int]]:
        """Every record, the bits served (`seen` with each value as loaded), and the indices of the records
        loaded again: the last read's very record where its values' bytes are as served (the reasoning of the
        class docstring, per record), loaded again where they changed, so a caller can tell per series.

        Runs of records are compared as one span of bytes (keys never change, so only values can differ): runs
        of COMPARE_GROUP first, and a run that differs in halves, down to single records, so a changed record
        costs a few comparisons, not one per record of its run."""
        last, old, base = (self._last.records if self._last else []), self._served, HEADER.size
        served = bytearray(seen)
        records: list[Record] = []
        changed: list[int] = []
        layout, known = self._layout, len(last)

        def load(i: int) -> None:
            key, first, slots = layout[i]
            values = tuple(doubles[first : first + slots].tolist())
            _values(slots).pack_into(served, first * 8 - base, *values)
            records.append((key, values))
            changed.append(i)

        runs = [(lo, min(lo + COMPARE_GROUP, known)) for lo in range(0, known, COMPARE_GROUP)]
        runs.reverse()  # a stack, taken from its end: records come out in order
        while runs:
            lo, hi = runs.pop()
            start = layout[lo][1] * 8 - base
            end = (layout[hi - 1][1] + layout[hi - 1][2]) * 8 - base
            if seen[start:end] == old[start:end]:
                records += last[lo:hi]
            elif hi - lo > 1:
                mid = (lo + hi) // 2
                runs += ((mid, hi), (lo, mid))
            else:
                load(lo)
        for i in range(known, len(layout)):
            load(i)
        return records, served, changed

    def close(self) -> None:
        if self._mapping is not None:
            self._mapping.close()
            self._mapping = None
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

    Not thread-safe: the caller (rundir/writer.py) serialises calls.
    """

    def __init__(self, fd: int, initial_size: int):
        self._fd = fd
        self._mapping = self._reserve(initial_size, None)
        self.used = HEADER.size
        self._mapping.view[: HEADER.size] = HEADER.pack(MAGIC, VERSION, self.used)  # before the file is visible

    @classmethod
    def copy_of(cls, source: MappedFile, fd: int) -> MappedFile:
        """A new file at `fd` holding what `source` holds, at the same offsets (so record indices stay
        valid); the caller keeps `source` from changing meanwhile and publishes the file afterwards."""
        new = cls.__new__(cls)
        new._fd = fd
        new._mapping = new._reserve(source._mapping.size, None)
        new._mapping.view[: source.used] = source._mapping.view[: source.used]
        new.used = source.used
        return new

    def _reserve(self, size: int, old: _Mapping | None) -> _Mapping:
        """A mapping of `size` bytes, blocks reserved first; `old` is unmapped once the new one exists (an
        OSError, ENOSPC, leaves the file and `old` as they were)."""
        os.posix_fallocate(self._fd, 0, size)  # blocks exist before any store touches them
        if old is not None:
            old.close()
        return _Mapping(self._fd, size)

    def append(self, key: bytes, slots: int) -> int:
        """Add a zeroed record; returns the index of its first value (in 8-byte units)."""
        need = record_size(key, slots)
        mapping = self._mapping
        if self.used + need > mapping.size:
            size = mapping.size
            while size < self.used + need:
                size *= 2
            try:
                mapping = self._mapping = self._reserve(size, mapping)
            except OSError as e:
                if e.errno not in (errno.ENOSPC, errno.EDQUOT):
                    raise
                just_enough = -(-(self.used + need) // GROW_STEP) * GROW_STEP  # nearly full: just enough
                mapping = self._mapping = self._reserve(just_enough, mapping)
        start = self.used
        view = mapping.view
        view[start : start + RECORD.size] = RECORD.pack(len(key), slots)
        view[start + RECORD.size : start + RECORD.size + len(key)] = key
        value_off = start + RECORD.size + len(key) + _pad(len(key))
        # the new bytes are zero (fallocate), so values start at 0.0 and padding is zero
        self.used = value_off + 8 * slots
        mapping.words[USED_INDEX] = self.used  # one 8-byte store publishes the record
        return value_off // 8

    @property
    def doubles(self) -> memoryview[float]:
        """The values as a 'd' view: `doubles[i] = x` is one 8-byte store. Valid until the next
        `append` (which may grow and map the file again)."""
        return self._mapping.doubles

    def get(self, index: int) -> float:
        return float(self._mapping.doubles[index])

    def put(self, index: int, value: float) -> None:
        self._mapping.doubles[index] = value  # one 8-byte store

    def close(self) -> None:
        self._mapping.close()
