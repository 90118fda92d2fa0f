"""Merge the sample files of one directory (a run, or a sidecar's base): this module only reads and folds.

Scrape cost depends on live data, not on how many writers ever lived: the files of
writers that are gone are folded into one archive (counters and histograms only; a
dead writer's gauges drop out) and deleted. Folding holds `compact.lock` exclusively
and reading holds it shared, so a scrape never counts a dead writer both in its own
file and in the archive.

Sums must not depend on which writers are folded yet: float addition is not
associative, and a counter that drops by one ulp reads as a reset to Prometheus.
So every total is `math.fsum` over per-writer values (correctly rounded, order free)
and the archive keeps each folded sum as a double-double (hi, lo), exact to about
106 bits, so fsum over (hi, lo, live...) equals fsum over all writers. A sum that
overflows is +Inf for that series alone (valid exposition), never an error.

What a read error means:
- OSError (too many open files, out of memory, ...) says nothing about the file: it
  is retried on the next scrape, never renamed or deleted.
- A file that does not parse while its writer lives is a tail not yet visible: read
  what parses, retry the rest.
- Only a file that does not parse and whose writer is gone is set aside
  (`*.corrupt`), counted and logged once: its samples are lost.
Whenever a scrape could not read everything, it serves, per series, the larger of the
last complete values and what it could read (`Snapshot.fill`), so a counter never
drops because of a transient error, and never counts more than was written.

What a scrape costs is what changed since the last one: when the same files are read
again, completely, and only live files changed, each reader says which records changed
(samplefile.FileReader), and only the series those records feed are combined again, from
their contributions kept per series across scrapes (`_stepped`); the result says which
series changed (`Stepped`), so the text of only those is written again. Each series
recombined takes all its contributions, in read order, so it has the bits a whole read
would give it; anything else (a new file, a fold, an error, a sidecar's runs) is a whole
read.

A directory removed under a live run (a cleaner that ignores locks, or a hand):
while it is missing, reads are incomplete (the last values are served). When it is
there again (rundir/runs.py: the run's processes make it again), the first aggregator
to see it folds the archive it last read into the new one, exactly and once (under a
MERGED name tied to that archive's content), and lets the live files it last read
stand in, as last read, until their writers publish them again (same names) or, for
a writer that died meanwhile, for VANISHED_SECONDS, then folds them as dead writers,
once (MERGED under the file's name). Only what changed in the last read's interval
before the removal can be lost.

Why one module of this size: reading, folding and restoring share one per-file cache of
the last records read (what stands in for a file that cannot be read now, and what a
vanished directory is restored from); apart, each would need the others' state.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from operator import is_

from ..catalogue import BY_NAME, WORKER_EXITS, WORKER_STARTS, GaugeMode, Kind
from ..rundir import samplefile
from ..rundir.files import locked, write_atomically, writer_gone
from ..rundir.layout import CORRUPT_SUFFIX, Directory

log = logging.getLogger("litellm_observe.exporter")
MERGED = "__merged__"  # archive records naming the files (or runs) already folded in
VANISHED_SECONDS = 30.0  # how long a vanished directory's live files stand in for their writers

SeriesKey = tuple[str, tuple[str, ...]]
Series = dict[SeriesKey, list[float]]
Halves = tuple[tuple[float, ...], tuple[float, ...]]  # a folded sum as double-double (hi, lo)
# per series: the archive's halves and the other contributions summed last, and their sums
Kept = dict[SeriesKey, tuple[Halves | None, list, list[float]]]
QUARANTINED, RETRIED = "quarantined", "retried"
ErrorHook = Callable[[str, str, BaseException], None]
Source = tuple[str, Callable[[], list | None], Callable[[], object]]  # (name, read records, remove)


def exact_sum(values: Sequence[float]) -> float:
    """fsum; a sum past the float range is +Inf (or -Inf / NaN), never an exception."""
    try:
        return math.fsum(values)
    except (OverflowError, ValueError):
        total = 0.0
        for v in values:
            total += v
        return total


def double_double(parts: list[float]) -> tuple[float, float]:
    """The exact sum of `parts` as hi + lo: hi correctly rounded, lo what rounding left."""
    hi = exact_sum(parts)
    return hi, (exact_sum(parts + [-hi]) if math.isfinite(hi) else 0.0)


@dataclass
class Snapshot:
    """What one read saw: per series, the contributions still to be combined. The archive's halves stay in
    `base`, the very dict (and tuples) of the last read while the archive is unchanged, so a scrape does not
    build them into every series again; `sums` holds every other contribution."""

    base: dict[SeriesKey, Halves] = field(default_factory=dict)
    sums: dict[SeriesKey, list[tuple[float, ...]]] = field(default_factory=dict)
    gauges: dict[SeriesKey, list[tuple[float, float]]] = field(default_factory=dict)  # (value, written at)
    complete: bool = True
    unchanged: bool = False  # every source read returned the records of the last read: nothing added (collect)
    stepped: Series | None = None  # the series, when this read was the last one plus known changes (collect)

    def add_sum(self, key: SeriesKey, values: tuple[float, ...]) -> None:
        self.sums.setdefault(key, []).append(values)

    def contributions(self) -> list[tuple[SeriesKey, tuple[float, ...]]]:
        """Every contribution, one (series, values) each: the archive's halves, then the rest."""
        out = [(key, half) for key, halves in self.base.items() for half in halves]
        out += [(key, part) for key, parts in self.sums.items() for part in parts]
        return out

    def merge(self, other: Snapshot) -> Snapshot:
        for key, halves in other.base.items():  # a child's archive: contributions like any other here
            self.sums.setdefault(key, []).extend(halves)
        for key, sums in other.sums.items():
            self.sums.setdefault(key, []).extend(sums)
        for key, gauges in other.gauges.items():
            self.gauges.setdefault(key, []).extend(gauges)
        self.complete &= other.complete
        return self

    def combined(self, kept: Kept) -> tuple[Series, Kept]:
        """Every series, combined per catalogue rules, and what to pass as `kept` next time. A series whose
        contributions are the very objects `kept` summed (a file read unchanged returns the same records:
        samplefile.FileReader) takes `kept`'s sums, the same bits fsum would give again."""
        out: Series = {}
        keep: Kept = {}
        for key, gauges in self.gauges.items():
            out[key] = _gauge(key, gauges)
        base = self.base
        for key, parts in self.sums.items():
            halves = base.get(key)
            last = kept.get(key)
            if last is not None and last[0] is halves and len(last[1]) == len(parts) and all(map(is_, last[1], parts)):
                out[key] = last[2]
                keep[key] = last
                continue
            out[key] = _summed(parts if halves is None else [*halves, *parts])
            keep[key] = (halves, parts, out[key])
        # folded series no live file writes: a loop of their own (one loop over the union of the keys, with an
        # empty list per series, measured 0.7 ms more a scrape at 4 x 2,000 series and 100 folded)
        for key in base.keys() - self.sums.keys():
            halves = base[key]
            last = kept.get(key)
            if last is not None and last[0] is halves and not last[1]:
                out[key] = last[2]
                keep[key] = last
                continue
            out[key] = _summed(list(halves))
            keep[key] = (halves, [], out[key])
        return out, keep


class Stepped(dict):
    """A Series that is `previous` but for the values of the series in `changed` (Aggregator._stepped), so
    whatever was made from `previous` needs making again only for those (textformat.TextWriter). When a newer
    step is made from this one, `previous` is let go: steps never hold more than the dict before them."""

    __slots__ = ("previous", "changed")

    def __init__(self, previous: Series, changed: list[SeriesKey]):
        super().__init__(previous)
        self.previous: Series | None = previous
        self.changed = changed


def _summed(parts: list[tuple[float, ...]]) -> list[float]:
    """One series' contributions summed slot by slot (the first one's width; another width is skipped)."""
    width = len(parts[0])
    if len(parts) == 1:
        return list(parts[0])
    return [exact_sum(col) for col in zip(*(p for p in parts if len(p) == width))]


def combine_one(key: SeriesKey, parts: Iterable[tuple[float, ...]], folded: int) -> list[float]:
    """One series combined from its contributions in read order, the first `folded` of them the archive's
    halves: what Snapshot.combined gives that series (a gauge the archive holds, which no archive written here
    does, takes the archive's sum there too)."""
    if BY_NAME[key[0]].kind is not Kind.GAUGE:
        return _summed(list(parts))
    if folded:
        return _summed(list(parts)[:folded])
    return _gauge(key, [(p[0], p[1]) for p in parts])


def _gauge(key: SeriesKey, gauges: list[tuple[float, float]]) -> list[float]:
    """A gauge's workers' (value, written at) pairs, in read order, combined per its catalogue mode (the most
    recent: the first written last)."""
    mode = BY_NAME[key[0]].gauge_mode
    if mode is GaugeMode.MOSTRECENT:
        return [max(gauges, key=lambda p: p[1])[0]]
    if mode is GaugeMode.LIVEMAX:
        return [max(p[0] for p in gauges)]
    return [exact_sum([p[0] for p in gauges])]


def fill(last: Series, now: Series) -> Series:
    """An incomplete read, made safe to serve: counters and histogram slots take the larger
    of the last complete value and what was read; gauges keep their last values."""
    out = dict(now)
    for key, old in last.items():
        new = now.get(key)
        if BY_NAME[key[0]].kind is Kind.GAUGE or new is None or len(new) != len(old):
            out[key] = old
        else:
            out[key] = [max(a, b) for a, b in zip(old, new)]
    return out


class Aggregator:
    """Reads and folds one directory of sample files (rundir/__init__.py describes the directory)."""

    def __init__(self, directory: Directory | str, on_error: ErrorHook | None = None, retry_log_seconds: float = 60.0):
        self.dir = directory if isinstance(directory, Directory) else Directory(directory)
        self._keys: dict[bytes, SeriesKey | None] = {}
        self._live_keys: dict[bytes, tuple[SeriesKey, bool] | None] = {}
        self._on_error = on_error or (lambda outcome, path, err: None)
        self._retry_log_seconds = retry_log_seconds
        self._retry_logged = -1e9
        self._cache: dict[str, tuple[tuple | None, list]] = {}  # path -> (identity, records last read)
        self._readers: dict[str, samplefile.FileReader] = {}  # open, mapped files, one per path
        self.last: Series = {}
        self._dir_identity: tuple[int, int] | None = None  # the directory last read (st_dev, st_ino)
        self._vanished: tuple[list, dict[str, list]] | None = None  # its archive and live files, as last read
        self._orphans: dict[str, tuple[float, list]] = {}  # live file name -> (deadline, records last read)
        self._decoded: dict[str, tuple[list, list]] = {}  # the archive's path -> (records, [halves, merged])
        self._kept: Kept = {}  # the last sums per series and what they summed (Snapshot.combined)
        # the sources `last` was combined from, when complete and alone: their paths and records
        self._sources: tuple[list[str], list[list]] | None = None
        self._parsed: dict[str, samplefile.Parsed] = {}  # path -> what its reader returned last (_read)
        # per series, every contribution to it in `_parts_from` (the records of one collect's sources), by its
        # place in read order (`_order`): what a scrape that finds a few records changed recombines (_stepped)
        self._parts: dict[SeriesKey, dict[int, tuple[float, ...]]] = {}
        self._parts_from: list[list] | None = None

    # ---- reading one file ----------------------------------------------------------------------
    def _decode(self, key: bytes) -> SeriesKey | None:
        try:
            return self._keys[key]
        except KeyError:
            pass
        decoded = samplefile.decode_key(key)
        out = None
        if decoded is not None:
            metric, schema, labels = decoded
            m = BY_NAME.get(metric)
            if metric == MERGED or (m is not None and m.schema == schema and len(labels) == len(m.labels)):
                out = (metric, labels)  # a record of another catalogue version is skipped, never misread
        if len(self._keys) > 200_000:
            self._keys.clear()
        self._keys[key] = out
        return out

    def _retry(self, path: str, err: BaseException) -> None:
        self._on_error(RETRIED, path, err)
        now = time.monotonic()
        if now - self._retry_logged >= self._retry_log_seconds:
            self._retry_logged = now
            log.warning("litellm_observe: could not read %s for now (%s); serving the last values, retrying", path, err)

    def _quarantine(self, path: str, err: BaseException) -> None:
        try:
            os.replace(path, path + CORRUPT_SUFFIX)
        except OSError:
            pass
        log.error(
            "litellm_observe: skipped unreadable sample file %s (%s); its writer is gone and its samples are lost",
            path,
            err,
        )
        self._on_error(QUARANTINED, path, err)

    def _reader(self, path: str) -> samplefile.FileReader:
        """The open reader of `path`, opened (or reopened, when the name now holds another file:
        the archive is replaced whole) as needed. Raises what opening raises."""
        reader = self._readers.get(path)
        if reader is not None and path == self.dir.archive:
            st = os.stat(path, follow_symlinks=False)  # no descriptor needed
            if (st.st_dev, st.st_ino) != reader.inode:
                self._forget(path)
                reader = None
        if reader is None:
            reader = samplefile.FileReader(path)
            self._readers[path] = reader
        return reader

    def _forget(self, path: str, records: bool = False) -> None:
        reader = self._readers.pop(path, None)
        if reader is not None:
            reader.close()
        self._decoded.pop(path, None)
        self._parsed.pop(path, None)
        if records:
            self._cache.pop(path, None)

    def _read(self, path: str, writer_may_live: bool, once: bool = False) -> tuple[list, bool] | None:
        """(records, complete) of a file; None when it is gone or was set aside.

        `writer_may_live`: a parse failure is a tail not yet visible unless the writer is gone.
        When the file cannot be read now, its records from the last read stand in for it
        (values only grow, so they are never more than the file holds): complete when it is
        provably the same file, unchanged since (a dead writer's, or the archive), else not.
        `once`: a dead writer's file read to be folded: read whole, no reader kept."""
        cached = self._cache.get(path)
        if not (writer_may_live or once) and cached is not None and cached[0] is not None and path in self._readers:
            # a file no writer changes (the archive, replaced whole, never written in place): while it is the same
            # file, unchanged since, its records as last read, without copying and comparing its bytes
            if cached[0] == _identity(path):
                return cached[1], True
        try:
            parsed = samplefile.read_whole(path) if once else self._reader(path).read()
        except FileNotFoundError:
            self._forget(path, records=True)
            return None
        except samplefile.CorruptSampleFile as e:
            self._forget(path)
            if writer_may_live and not writer_gone(path):
                self._retry(path, e)
                return (cached[1] if cached else []), False
            self._forget(path, records=True)
            self._quarantine(path, e)
            return None
        except OSError as e:
            self._forget(path)
            self._retry(path, e)
            if cached is not None and cached[0] is not None and cached[0] == _identity(path):
                return cached[1], True
            return (cached[1] if cached else []), False
        if parsed.complete:
            if not once:
                self._cache[path] = (None if writer_may_live else _identity(path), parsed.records)
                self._parsed[path] = parsed
            return parsed.records, True
        self._parsed.pop(path, None)
        if writer_may_live and not writer_gone(path):
            # a live writer's tail not yet visible: what parses, and the rest as last read
            seen = dict(cached[1]) if cached else {}
            seen.update(parsed.records)
            return list(seen.items()), False
        self._forget(path, records=True)
        self._quarantine(path, samplefile.CorruptSampleFile(parsed.problem))
        return None

    # ---- folding -------------------------------------------------------------------------------
    def _load_archive(self) -> tuple[dict[SeriesKey, list[tuple]], set[str]] | None:
        """The archive as per-series contributions to sum (its hi and lo halves), and the names
        already folded; None when it exists but cannot be read now (then nothing may be folded:
        it would be lost)."""
        got = self._read(self.dir.archive, writer_may_live=False)
        if got is None:
            return {}, set()
        records, complete = got
        if not complete:
            return None
        halves, merged = self._archive(records)
        return {key: [hi, lo] for key, (hi, lo) in halves.items()}, merged

    def _archive(self, records: list) -> tuple[dict[SeriesKey, Halves], set[str]]:
        """An archive's records: per series its (hi, lo) halves, and the names already folded."""
        halves: dict[SeriesKey, Halves] = {}
        merged: set[str] = set()
        for key, values in records:
            decoded = self._decode(key)
            if decoded is None:
                continue
            if decoded[0] == MERGED:
                merged.add(decoded[1][0])
            else:
                half = len(values) // 2
                halves[decoded] = (values[:half], values[half:])
        return halves, merged

    def _fold(self, sources: list[Source]) -> int:
        """Fold (name, read records, remove) sources into the archive; returns how many were folded."""
        if not sources:
            return 0
        with locked(self.dir.compact_lock):
            loaded = self._load_archive()
            if loaded is None:
                return 0  # retried next time
            archive, merged = loaded
            folded = []
            for name, read_records, remove in sources:
                if name in merged:
                    folded.append((name, remove))  # folded before a crash, not yet removed
                    continue
                records = read_records()
                if records is None:
                    continue
                for key, values in records:
                    archive.setdefault(key, []).append(values)
                folded.append((name, remove))
            if not folded:
                return 0
            # Name only what still exists: those are what a crash between the archive's
            # rename and the removals below could count twice.
            records = []
            for key, parts in archive.items():
                width = len(parts[-1])
                pairs = [double_double(list(col)) for col in zip(*(p for p in parts if len(p) == width))]
                records.append(
                    (
                        samplefile.encode_key(key[0], BY_NAME[key[0]].schema, key[1]),
                        tuple(p[0] for p in pairs) + tuple(p[1] for p in pairs),
                    )
                )
            records += [(samplefile.encode_key(MERGED, "", (n,)), ()) for n, _ in sorted(folded)]
            try:
                write_atomically(self.dir.archive, samplefile.encode(records))
            except OSError as e:  # full disk, out of descriptors: nothing removed, retried next time
                self._retry(self.dir.archive, e)
                return 0
            self._forget(self.dir.archive, records=True)
            for name, remove in folded:
                remove()
                self._forget(self.dir.join(name), records=True)
            return len(folded)

    def _counters_of(self, path: str) -> list | None:
        """A dead writer's counter and histogram records; None when it cannot be read whole now.

        A worker counts its own start and, when it exits by itself, its own exit (worker/health.py); one
        that ended without exiting (SIGKILL, the OOM killer, a crash) cannot, so its file folds with one
        `worker_exits{reason="killed"}` added. Exactly one exit per started worker, once folded."""
        got = self._read(path, writer_may_live=False, once=True)
        if got is None or not got[1]:
            return None
        return self._counters(got[0])

    def _counters(self, records: list) -> list:
        """A dead writer's counter and histogram records, with its `killed` exit when it had none."""
        out, started, exited = [], False, False
        for key, values in records:
            decoded = self._decode(key)
            if decoded is not None and decoded[0] != MERGED and BY_NAME[decoded[0]].kind is not Kind.GAUGE:
                out.append((decoded, values))
                started |= decoded[0] == WORKER_STARTS.name and values[0] > 0
                exited |= decoded[0] == WORKER_EXITS.name and values[0] > 0
        if started and not exited:
            out.append(((WORKER_EXITS.name, ("killed",)), (1.0,)))
        return out

    def compact(self) -> int:
        """Fold dead writers into the archive (and the live files of a vanished directory whose writers
        never published them again); returns how many were folded."""
        for path in self.dir.abandoned_new_files():
            _unlink(path)
        dead = [p for p in self.dir.sample_files() if writer_gone(p)]
        now = time.monotonic()
        expired = [(n, r) for n, (deadline, r) in self._orphans.items() if deadline <= now]
        sources: list[Source] = [
            (os.path.basename(p), partial(self._counters_of, p), partial(_unlink, p)) for p in dead
        ]
        sources += [(n, partial(self._counters, r), partial(self._orphans.pop, n, None)) for n, r in expired]
        return self._fold(sources)

    # ---- a directory removed under a live run ------------------------------------------------------
    def _check_identity(self) -> bool:
        """Whether the directory is there; notes when it vanished or was made anew since the last read,
        keeping what it held as last read (before anything is forgotten)."""
        try:
            st = os.stat(self.dir.path, follow_symlinks=False)
            identity = (st.st_dev, st.st_ino)
        except OSError:
            identity = None
        if identity != self._dir_identity and self._dir_identity is not None and self._vanished is None:
            cached = {p: records for p, (_, records) in self._cache.items()}
            archive = cached.pop(self.dir.archive, [])
            live = {os.path.basename(p): records for p, records in cached.items()}
            if archive or live:
                self._vanished = (archive, live)
            for path in list(self._readers):
                self._forget(path)
            self._cache.clear()
        self._dir_identity = identity
        return identity is not None

    def _restore(self) -> None:
        """Into the directory made anew: the vanished archive, folded once (MERGED under a name tied to its
        content, so another reader restoring the same one adds nothing), and the vanished live files as
        stand-ins until their writers publish them again."""
        assert self._vanished is not None
        archive, live = self._vanished
        if archive:
            marker = "restored-" + hashlib.sha256(samplefile.encode(archive)).hexdigest()[:16]

            def contributions() -> list:
                halves, _ = self._archive(archive)
                return [(key, part) for key, (hi, lo) in halves.items() for part in (hi, lo)]

            if not self._fold([(marker, contributions, lambda: None)]) and not self._restored(marker):
                return  # the archive could not be written now: retried at the next read
        deadline = time.monotonic() + VANISHED_SECONDS
        self._orphans.update({name: (deadline, records) for name, records in live.items()})
        self._vanished = None

    def _restored(self, marker: str) -> bool:
        got = self._read(self.dir.archive, writer_may_live=False)
        return got is not None and marker in self._archive(got[0])[1]

    def fold_directories(self, ended: list[Aggregator], remove: Callable[[Directory], None]) -> int:
        """Fold whole directories whose every writer is gone (a sidecar's ended runs) into this
        one's archive, each contribution kept apart so the sums stay exact; then `remove` them."""

        def contributions(agg: Aggregator) -> list | None:
            agg.compact()
            snap = agg.snapshot()
            if not snap.complete:
                return None
            return snap.contributions()

        return self._fold(
            [(os.path.basename(a.dir.path), partial(contributions, a), partial(remove, a.dir)) for a in ended]
        )

    # ---- reading everything ----------------------------------------------------------------------
    def snapshot(self, children: Iterable[Aggregator] = (), reuse: bool = False) -> Snapshot:
        """Every contribution of the directory (the archive's halves and each live file), and of
        `children` read while this directory's folding is held off, so a child folded into this
        archive meanwhile is never missed nor counted twice.

        `reuse` (collect, with no children): when every file read returns the very records of the read
        `last` was combined from, the snapshot is left empty with `unchanged` set instead."""
        snap = Snapshot()
        if not self._check_identity():  # removed: the last values stand until it is there again
            snap.complete = self._vanished is None
            return snap
        if self._vanished is not None:
            try:
                self._restore()
            except OSError as e:
                self._retry(self.dir.path, e)
            if self._vanished is not None:
                snap.complete = False
                return snap
        try:
            with locked(self.dir.compact_lock, shared=True):
                self._read_all(snap, reuse)
                for child in children:
                    snap.merge(child.snapshot())
        except OSError as e:  # even the lock could not be opened: serve the last values
            self._retry(self.dir.compact_lock, e)
            snap.complete = False
        return snap

    def _read_all(self, snap: Snapshot, reuse: bool) -> None:
        reads: list[list] = []  # the records of every source read: the archive's first, then each live file's
        paths: list[str] = []  # and the path of each
        halves: dict[SeriesKey, Halves] = {}
        merged: set[str] = set()
        got = self._read(self.dir.archive, writer_may_live=False)
        if got is not None:
            snap.complete &= got[1]
            reads.append(got[0])
            paths.append(self.dir.archive)
            halves, merged = self._decode_archive(got[0])
        files = self.dir.sample_files()
        for path in (set(self._cache) | set(self._readers) | set(self._decoded)) - set(files) - {self.dir.archive}:
            self._forget(path, records=True)
        live: list[list] = []
        for path in files:
            if os.path.basename(path) in merged:
                continue  # folded by a compaction that crashed before deleting it
            got = self._read(path, writer_may_live=True)
            if got is not None:
                snap.complete &= got[1]
                reads.append(got[0])
                paths.append(path)
                live.append(got[0])
        alone = reuse and snap.complete and not self._orphans
        last, self._sources = self._sources, ((paths, reads) if alone else None)
        if alone and last is not None and last[0] == paths:
            if all(map(is_, reads, last[1])):
                snap.unchanged = True
                return
            snap.stepped = self._stepped(paths, reads, last[1])
            if snap.stepped is not None:
                return
        snap.base = halves  # the same dict while the archive is unchanged (Snapshot.combined)
        names = {os.path.basename(p) for p in files}
        for name, (_, records) in list(self._orphans.items()):
            if name in names or name in merged:  # published again by its writer, or folded
                del self._orphans[name]
                continue
            snap.complete = False  # a stand-in, as last read: never served lower than before
            for key, values in records:
                decoded = self._decode(key)
                if decoded is not None and decoded[0] != MERGED and BY_NAME[decoded[0]].kind is not Kind.GAUGE:
                    snap.add_sum(decoded, values)
        add, add_gauge = snap.sums.setdefault, snap.gauges.setdefault
        known, series_of = self._live_keys, self._live_series
        for records in live:
            for key, values in records:
                live_key = known[key] if key in known else series_of(key)
                if live_key is None:
                    continue
                if live_key[1]:
                    add_gauge(live_key[0], []).append((values[0], values[1]))  # (value, written at)
                else:
                    add(live_key[0], []).append(values)

    # ---- a scrape that finds a few records changed -----------------------------------------------
    def _order(self, path: str, source: int, index: int) -> int:
        """A contribution's place in read order: the archive's halves (index 0 hi, 1 lo) first, then each live
        file's records, file by file, record by record (Snapshot.combined sums and picks in that order)."""
        return index if path == self.dir.archive else ((source + 1) << 40) + index

    def _parts_of(self, paths: list[str], reads: list[list]) -> dict[SeriesKey, dict[int, tuple[float, ...]]]:
        """Every contribution of these sources, per series, in read order."""
        parts: dict[SeriesKey, dict[int, tuple[float, ...]]] = {}
        known, series_of = self._live_keys, self._live_series
        for source, (path, records) in enumerate(zip(paths, reads)):
            if path == self.dir.archive:
                for key, (hi, lo) in self._decode_archive(records)[0].items():
                    parts[key] = {0: hi, 1: lo}
                continue
            base = self._order(path, source, 0)
            for index, (key, values) in enumerate(records):
                live_key = known[key] if key in known else series_of(key)
                if live_key is not None:
                    parts.setdefault(live_key[0], {})[base + index] = values
        return parts

    def _stepped(self, paths: list[str], reads: list[list], last: list[list]) -> Series | None:
        """The series of `reads`, when each source that changed since `last` (the sources `self.last` was
        combined from, at the same paths) is a live file whose reader says which records changed: only the
        series those records feed are combined again, the rest are `self.last`'s. None otherwise (a full read).

        Exact: each recombined series takes every contribution it has in `reads`, in read order, so it gets
        the bits Snapshot.combined would give it (tests/exporter/test_aggregate.py compares the two)."""
        steps = []
        for path, records, before in zip(paths, reads, last):
            if records is before:
                continue
            parsed = self._parsed.get(path)
            if path == self.dir.archive or parsed is None or parsed.records is not records:
                return None
            if parsed.since is not before or parsed.changed is None:
                return None
            steps.append((path, records, parsed.changed))
        parts = self._parts if self._parts_from is last else self._parts_of(paths, last)
        self._parts_from = None  # until the step below is whole
        known, series_of = self._live_keys, self._live_series
        dirty: dict[SeriesKey, bool] = {}  # series -> a contribution was added (not only replaced)
        for path, records, changed in steps:
            base = self._order(path, paths.index(path), 0)
            for index in changed:
                key, values = records[index]
                live_key = known[key] if key in known else series_of(key)
                if live_key is None:
                    continue
                series = live_key[0]
                mine = parts.get(series)
                if mine is None:
                    mine = parts[series] = {}
                added = base + index not in mine
                mine[base + index] = values
                dirty[series] = dirty.get(series, False) or added
        out = Stepped(self.last, list(dirty))
        for series, added in dirty.items():
            mine = parts[series]
            if added and len(mine) > 1:
                mine = parts[series] = dict(sorted(mine.items()))  # read order again
            out[series] = combine_one(series, mine.values(), (0 in mine) + (1 in mine))
        if isinstance(self.last, Stepped):
            self.last.previous = None
        self._parts, self._parts_from = parts, reads
        return out

    def _live_series(self, key: bytes) -> tuple[SeriesKey, bool] | None:
        """A live file's record key as (series, whether a gauge); None for what a live file's sum skips."""
        try:
            return self._live_keys[key]
        except KeyError:
            pass
        decoded = self._decode(key)
        out = None if decoded is None or decoded[0] == MERGED else (decoded, BY_NAME[decoded[0]].kind is Kind.GAUGE)
        if len(self._live_keys) > 200_000:
            self._live_keys.clear()
        self._live_keys[key] = out
        return out

    def _decode_archive(self, records: list) -> tuple[dict[SeriesKey, Halves], set[str]]:
        """`_archive(records)`, kept while the archive's reader returns the same records."""
        kept = self._decoded.get(self.dir.archive)
        if kept is not None and kept[0] is records:
            return kept[1][0], kept[1][1]
        halves, merged = self._archive(records)
        self._decoded[self.dir.archive] = (records, [halves, merged])
        return halves, merged

    def collect(self, children: Iterable[Aggregator] = ()) -> Series:
        """Every series, combined per catalogue rules. Safe to serve even when a file could not
        be read: then filled from the last values this aggregator returned. When no file changed since
        the last complete collect (and there are no children), that collect's very dict, at the cost of
        reading the files."""
        children = list(children)
        snap = self.snapshot(children, reuse=not children)
        if snap.unchanged:
            return self.last
        if snap.stepped is not None:
            self.last = snap.stepped
            return self.last
        now, self._kept = snap.combined(self._kept)
        if not snap.complete:
            now = fill(self.last, now)
        self.last = now
        return now


def _identity(path: str) -> tuple | None:
    """What changes when a file is replaced or written (stat needs no descriptor)."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
