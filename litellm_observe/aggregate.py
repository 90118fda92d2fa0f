"""Read one run directory and combine every worker's samples.

Scrape cost depends on live data, not on how many workers ever lived: the files of
workers that are gone are folded into one archive (counters and histograms only;
a dead worker's gauges drop out) and deleted. Folding and reading exclude each
other through an flock on `compact.lock`, so a scrape never counts a dead worker
both in its own file and in the archive.

Sums must not depend on which workers are folded yet: float addition is not
associative, and a counter that drops by one ulp reads as a reset to Prometheus.
So every total is `math.fsum` over per-worker values (correctly rounded, order
free) and the archive keeps each folded sum as a double-double (hi, lo), exact to
about 106 bits, so fsum over (hi, lo, live...) equals fsum over all workers.
"""
from __future__ import annotations

import fcntl
import json
import logging
import math
import os
from contextlib import contextmanager
from typing import Iterator

from . import store
from .catalogue import BY_NAME, GaugeMode, Kind
from .rundir import ARCHIVE

log = logging.getLogger("litellm_observe.exporter")
MERGED = "__merged__"  # archive records naming the worker files already folded in
CORRUPT_SUFFIX = ".corrupt"

Series = dict[tuple[str, tuple[str, ...]], list[float]]


@contextmanager
def _flock(path: str, mode: int) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)


class Aggregator:
    def __init__(self, directory: str, on_corrupt=None):
        self.dir = directory
        self._keys: dict[bytes, tuple[str, tuple[str, ...]] | None] = {}
        self._on_corrupt = on_corrupt or (lambda path, err: None)
        self._lock_path = os.path.join(directory, "compact.lock")

    def _decode(self, key: bytes) -> tuple[str, tuple[str, ...]] | None:
        try:
            return self._keys[key]
        except KeyError:
            pass
        try:
            metric, labels = json.loads(key)
            decoded = (metric, tuple(labels)) if metric in BY_NAME or metric == MERGED else None
        except (ValueError, TypeError):
            decoded = None
        if len(self._keys) > 200_000:
            self._keys.clear()
        self._keys[key] = decoded
        return decoded

    def worker_files(self) -> list[str]:
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return []
        return sorted(os.path.join(self.dir, n) for n in names
                      if n.startswith(store.WORKER_PREFIX) and n.endswith(store.SUFFIX))

    def _read(self, path: str) -> list | None:
        try:
            return store.read(path)
        except FileNotFoundError:
            return None
        except (store.CorruptStore, OSError) as e:
            self._quarantine(path, e)
            return None

    def _quarantine(self, path: str, err: Exception) -> None:
        """A zero-byte or truncated file: set aside (so it is read once), counted, logged once."""
        try:
            os.replace(path, path + CORRUPT_SUFFIX)
        except OSError:
            pass
        log.error("litellm_observe: skipped unreadable sample file %s (%s); its samples are lost", path, err)
        self._on_corrupt(path, err)

    def compact(self) -> int:
        """Fold dead workers into the archive; returns how many files were folded."""
        dead = [p for p in self.worker_files() if store.is_dead(p)]
        if not dead:
            return 0
        archive_path = os.path.join(self.dir, ARCHIVE)
        with _flock(self._lock_path, fcntl.LOCK_EX):
            archive: dict[bytes, list[list[float]]] = {}  # key -> per slot, the values to fsum
            merged: set[str] = set()
            for key, values in (self._read(archive_path) or []):
                decoded = self._decode(key)
                if decoded and decoded[0] == MERGED:
                    merged.add(decoded[1][0])
                elif decoded:
                    half = len(values) // 2
                    archive[key] = [[hi, lo] for hi, lo in zip(values[:half], values[half:])]
            folded = []
            for path in dead:
                name = os.path.basename(path)
                if name in merged:
                    folded.append(path)  # folded before a crash, not yet deleted
                    continue
                records = self._read(path)
                if records is None:
                    continue
                for key, values in records:
                    decoded = self._decode(key)
                    if decoded is None or BY_NAME[decoded[0]].kind is Kind.GAUGE:
                        continue
                    acc = archive.get(key)
                    if acc is None or len(acc) != len(values):
                        archive[key] = [[v] for v in values]
                    else:
                        for parts, v in zip(acc, values):
                            parts.append(v)
                folded.append(path)
            # Remember only names whose files still exist: those are the ones a crash
            # between the archive's rename and the unlink below could count twice.
            names = {os.path.basename(p) for p in folded}
            records = [(k, _double_double(slots)) for k, slots in archive.items()]
            records += [(store.encode_key(MERGED, (n,)), ()) for n in sorted(names)]
            store.write(archive_path, records)
            for path in folded:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
            return len(folded)

    def collect(self) -> Series:
        """Every series of the run: archive plus live workers, combined per catalogue rules."""
        sums: dict[tuple[str, tuple[str, ...]], list[tuple[float, ...]]] = {}
        gauges: Series = {}
        stamps: dict[tuple[str, tuple[str, ...]], float] = {}
        with _flock(self._lock_path, fcntl.LOCK_SH):
            archive = os.path.join(self.dir, ARCHIVE)
            for path in [archive] + self.worker_files():
                records = self._read(path) if path != archive or os.path.exists(path) else None
                for key, values in records or ():
                    decoded = self._decode(key)
                    if decoded is None or decoded[0] == MERGED:
                        continue
                    metric = BY_NAME[decoded[0]]
                    if metric.kind is not Kind.GAUGE:
                        if path == archive:  # hi half, lo half
                            half = len(values) // 2
                            sums.setdefault(decoded, []).extend((values[:half], values[half:]))
                        else:
                            sums.setdefault(decoded, []).append(values)
                    elif metric.gauge_mode is GaugeMode.MOSTRECENT:
                        if decoded not in gauges or values[1] >= stamps[decoded]:
                            gauges[decoded] = [values[0]]
                            stamps[decoded] = values[1]
                    elif decoded in gauges:
                        gauges[decoded][0] += values[0]
                    else:
                        gauges[decoded] = [values[0]]
        out: Series = gauges
        for series, parts in sums.items():
            width = len(parts[0])
            if any(len(p) != width for p in parts):
                parts = [p for p in parts if len(p) == width]  # a record from another catalogue version
            out[series] = list(parts[0]) if len(parts) == 1 else [math.fsum(col) for col in zip(*parts)]
        return out


def _double_double(slots: list[list[float]]) -> tuple[float, ...]:
    """Each slot's exact sum as hi + lo: hi the correctly rounded sum, lo what rounding left."""
    hi = [math.fsum(parts) for parts in slots]
    lo = [math.fsum(parts + [-h]) for parts, h in zip(slots, hi)]
    return tuple(hi + lo)
