"""Budget resets, seen from request metadata.

LiteLLM has no hook for its budget reset job. Each request's metadata carries, for
the key, its user, its team and its end user, the current spend and (for keys) the
next reset time. A worker sees a reset when, for the same entity, the reset time
moved forward or the spend dropped since that worker's previous request for it.

Workers see different requests, so one reset is seen by up to every worker. Each
entity has a claim file in the run directory; under its flock, a worker counts the
reset only if nobody claimed one after this worker's previous sighting of the
entity (the reset it sees happened after that sighting), then stamps the claim.

Not seen: an entity with no request after its reset; resets on a proxy without a
database (there is no spend to reset); a reset while the spend was already 0 and
the key has no reset time; two resets of one entity between two of a worker's
requests for it count once.
"""
from __future__ import annotations

import fcntl
import math
import os
import struct
import time
from collections import OrderedDict

from ..rundir.protocol import Directory, open_file, private_dir

# entity type -> (id field, spend field, reset-time field or None)
FIELDS = {
    "key": ("user_api_key_hash", "user_api_key_spend", "user_api_key_budget_reset_at"),
    "user": ("user_api_key_user_id", "user_api_key_user_spend", None),
    "team": ("user_api_key_team_id", "user_api_key_team_spend", None),
    "end_user": ("user_api_key_end_user_id", "user_api_key_end_user_spend", None),
}
MAX_TRACKED = 10_000  # entities remembered per worker (least recently seen forgotten first)
MAX_ID = 256  # identifiers are cut to this many characters: bounded work on hostile metadata
_STAMP = struct.Struct("<d")


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def _stamp(value: object) -> str | None:
    """A reset time as comparable text (ISO strings and datetimes sort in time order)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value[:64]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return None if isinstance(value, int) and abs(value) > 10**18 else repr(value)
    isoformat = getattr(value, "isoformat", None)
    try:
        return str(isoformat())[:64] if callable(isoformat) else None
    except Exception:
        return None


class BudgetResets:
    def __init__(self, directory: Directory | str | None, clock=time.time):
        self._dir = Directory(directory) if isinstance(directory, str) else directory
        if self._dir is not None:
            private_dir(self._dir.resets_dir)
        self._clock = clock
        self._claims: dict[str, float] = {}  # without a directory: one process, claims in memory
        # (entity, id) -> (spend, reset time, when this worker saw it)
        self._last: OrderedDict[tuple[str, str], tuple[float | None, str | None, float]] = OrderedDict()

    def observe(self, metadata) -> list[str]:
        """Entity types whose reset this call is the first to count."""
        resets = []
        now = None
        for entity, (id_field, spend_field, reset_field) in FIELDS.items():
            ident = metadata.get(id_field)
            if not isinstance(ident, str) or not ident:
                continue
            ident = ident[:MAX_ID]
            spend = _number(metadata.get(spend_field))
            reset_at = _stamp(metadata.get(reset_field)) if reset_field else None
            key = (entity, ident)
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
            if (moved or dropped) and self._claim(f"{entity}\0{ident}", seen_at, now):
                resets.append(entity)
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
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, _STAMP.size, 0)
            claimed_at = _STAMP.unpack(raw)[0] if len(raw) == _STAMP.size else float("-inf")
            if claimed_at > seen_at:
                return False
            os.pwrite(fd, _STAMP.pack(max(now, claimed_at)), 0)
            return True
        finally:
            os.close(fd)
