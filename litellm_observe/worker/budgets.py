"""Budget resets, seen from request metadata.

LiteLLM has no hook for its budget reset job. Each request's metadata carries, for
the key, its user, its team and its end user, the current spend and (for keys) the
next reset time. A worker sees a reset when, for the same entity, the reset time
moved forward or the spend dropped since that worker's previous sighting of it: the
latest request for the entity of each batch of events (recording.py's
write_kept; a batch without batching is one event).

Workers see different requests, so one reset is seen by up to every worker. Each
entity has a claim file in the run directory; under its flock, a worker counts the
reset only if nobody claimed one after this worker's previous sighting of the
entity (the reset it sees happened after that sighting), then stamps the claim.

Not seen: an entity with no request after its reset; resets on a proxy without a
database (there is no spend to reset); a reset while the spend was already 0 and
the key has no reset time; two resets of one entity between two of a worker's
sightings of it count once; a reset in the batch of a worker's first sighting of
the entity; a reset after which the entity spent, in the same batch, more than it
had before.
"""

from __future__ import annotations

import os
import struct
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from ..rundir.files import lock_exclusively, open_file
from ..rundir.layout import Directory, private_dir
from .observations import BudgetSighting

MAX_TRACKED = 10_000  # entities remembered per worker (least recently seen forgotten first)
_STAMP = struct.Struct("<d")


class BudgetResets:
    """What one worker saw of each entity's spend, and the claims that count each reset once across workers.
    What a request's metadata says is observations.budgets' to read."""

    def __init__(self, directory: Directory | str | None, clock: Callable[[], float] = time.time):
        self._dir = Directory(directory) if isinstance(directory, str) else directory
        if self._dir is not None:
            private_dir(self._dir.resets_dir)
        self._clock = clock
        self._claims: dict[str, float] = {}  # without a directory: one process, claims in memory
        # (entity, id) -> (spend, reset time, when this worker saw it)
        self._last: OrderedDict[tuple[str, str], tuple[float | None, str | None, float]] = OrderedDict()

    def observe(self, sightings: Iterable[BudgetSighting], now: float | None = None) -> list[str]:
        """Entity types whose reset this request is the first to count; `now`: the wall clock, if the caller read
        it already (else read here, when a sighting changed)."""
        resets = []
        for sighting in sightings:
            entity_type, ident, spend, reset_at = sighting  # observations.BUDGET_SIGHTING_FIELDS
            key = (entity_type, ident)
            previous = self._last.get(key)
            if previous is not None and previous[0] == spend and previous[1] == reset_at:
                self._last.move_to_end(key)  # nothing changed: the common case, no clock read
                continue
            now = self._clock() if now is None else now
            self._last[key] = (spend, reset_at, now)
            self._last.move_to_end(key)
            if len(self._last) > MAX_TRACKED:
                self._last.popitem(last=False)
            if previous is None:
                continue
            old_spend, old_reset, seen_at = previous
            moved = reset_at is not None and old_reset is not None and reset_at > old_reset
            dropped = spend is not None and old_spend is not None and spend < old_spend
            if (moved or dropped) and self._claim(f"{entity_type}\0{ident}", seen_at, now):
                resets.append(entity_type)
        return resets

    def _claim(self, entity: str, seen_at: float, now: float) -> bool:
        """Count a reset unless one was claimed after `seen_at` (then it is the same reset)."""
        if self._dir is None:
            if self._claims.get(entity, float("-inf")) > seen_at:
                return False
            self._claims[entity] = now
            return True
        fd = open_file(self._dir.reset_claim(entity), os.O_RDWR | os.O_CREAT)
        try:
            lock_exclusively(fd)
            raw = os.pread(fd, _STAMP.size, 0)
            claimed_at = _STAMP.unpack(raw)[0] if len(raw) == _STAMP.size else float("-inf")
            if claimed_at > seen_at:
                return False
            os.pwrite(fd, _STAMP.pack(max(now, claimed_at)), 0)
            return True
        finally:
            os.close(fd)
