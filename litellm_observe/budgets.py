"""Budget resets, seen from request metadata.

LiteLLM has no hook for its budget reset job. Each request's metadata carries, for
the key, its user, its team and its end user, the current spend and (for keys) the
next reset time. A reset is seen when, for the same entity, the reset time moves
forward or the spend drops. Workers see different requests, so the first worker to
see a given reset claims it with an exclusive-create marker file in the run
directory; the others see the claim and do not count it again.

Not seen: an entity with no request after its reset; a reset on a proxy without a
database (there is no spend to reset); a reset while spend was already 0.
"""
from __future__ import annotations

import hashlib
import math
import os
from collections import OrderedDict

# entity type -> (id field, spend field, reset-time field or None)
FIELDS = {
    "key": ("user_api_key_hash", "user_api_key_spend", "user_api_key_budget_reset_at"),
    "user": ("user_api_key_user_id", "user_api_key_user_spend", None),
    "team": ("user_api_key_team_id", "user_api_key_team_spend", None),
    "end_user": ("user_api_key_end_user_id", "user_api_key_end_user_spend", None),
}
MAX_TRACKED = 10_000  # entities remembered per worker (least recently seen forgotten first)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


class BudgetResets:
    def __init__(self, marker_dir: str | None):
        self._dir = marker_dir
        self._last: OrderedDict[tuple[str, str], tuple[float | None, str | None]] = OrderedDict()

    def observe(self, metadata: dict) -> list[str]:
        """Entity types whose reset this call is the first to see."""
        resets = []
        for entity, (id_field, spend_field, reset_field) in FIELDS.items():
            ident = metadata.get(id_field)
            if not isinstance(ident, str) or not ident:
                continue
            spend = _number(metadata.get(spend_field))
            reset_at = metadata.get(reset_field) if reset_field else None
            reset_at = str(reset_at) if reset_at not in (None, "") else None
            key = (entity, ident)
            previous = self._last.get(key)
            self._last[key] = (spend, reset_at)
            self._last.move_to_end(key)
            if len(self._last) > MAX_TRACKED:
                self._last.popitem(last=False)
            if previous is None:
                continue
            old_spend, old_reset = previous
            moved = reset_at is not None and old_reset is not None and reset_at > old_reset
            dropped = spend is not None and old_spend is not None and spend < old_spend
            if not (moved or dropped):
                continue
            # The same reset seen by several workers has the same new reset time (or, without
            # one, drops spend from the same window); the marker name encodes that.
            token = f"{entity}\0{ident}\0{reset_at if moved else 'drop'}\0{'' if moved else old_reset}"
            if self._claim(token if moved else f"{token}\0{old_spend}"):
                resets.append(entity)
        return resets

    def _claim(self, token: str) -> bool:
        if self._dir is None:
            return True
        name = hashlib.sha256(token.encode()).hexdigest()[:32]
        try:
            os.close(os.open(os.path.join(self._dir, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            return False
        return True
