"""Deployment cooldowns, read from the router: there is no hook for them.

LiteLLM's router puts a deployment in cooldown (takes it out of rotation) after too many failed
calls. A CustomLogger gets no event for it (LiteLLM's own exporter is called directly, by type):
the only place a cooldown shows is the router's cooldown cache, entries
`{timestamp, cooldown_time, status_code}` per deployment id that lapse at
`timestamp + cooldown_time`; in memory per worker, or shared through Redis when the router has
one. So each worker reads it (one async batch read of its deployments' ids, bounded):
- READ_AFTER_FAILURE seconds after a failed attempt of its own (the router sets a cooldown from
  its failure callback, which runs after the deployment failure hook);
- then every POLL_SECONDS while a cooldown it saw is active, to see it lapse.
No read happens while nothing fails: an idle or healthy proxy pays nothing.

A cooldown is one (deployment id, timestamp). A worker counts it once, whatever the number of
reads that see it; across workers (a shared cooldown cache shows one cooldown to every worker
that reads it) the first to create its claim file in the run directory (O_EXCL) counts it.
Invariant: `deployment_cooldowns_total` grows by exactly one per distinct (id, timestamp) any
worker of the run read.

Not seen: a cooldown that lapses before a worker reads it (shorter than READ_AFTER_FAILURE);
one set in a shared cache by another proxy while no worker here fails.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..rundir.files import create_exclusive
from ..rundir.layout import Directory
from . import router_view
from .observations import deployment_name, mapping, number

READ_AFTER_FAILURE = 0.5
POLL_SECONDS = 2.0
_MAP_REFRESH_SECONDS = 60.0
_PRUNE_SECONDS = 60.0
_MAX_SEEN = 10_000


@dataclass(frozen=True, slots=True)
class Deployment:
    """Raw label values of one deployment (the logger cleans and caps them)."""

    provider: object
    group: object
    name: object


@dataclass(frozen=True, slots=True)
class Cooldown:
    deployment: Deployment
    reason: object  # the status code that cooled it down (LiteLLM keeps it as a string)


@dataclass(slots=True)
class Reading:
    started: list[Cooldown]  # cooldowns this worker is the first to count
    active: list[Deployment]  # in cooldown now
    lapsed: list[Deployment]  # in cooldown at the previous read, no longer
    errors: list[OSError]  # claims that could not be made (counted as internal errors; retried next read)


class CooldownWatch:
    def __init__(
        self,
        directory: Directory | None,
        router: Callable[[], object | None],
        clock: Callable[[], float] = time.time,
        timer: Callable[[], float] = time.monotonic,
    ):
        self._dir = directory
        self._router = router
        self._clock = clock  # wall: the router's cooldown timestamps are
        self._timer = timer  # monotonic: when to read next (a wall clock step never delays it)
        self._ids: list[str] = []
        self._by_id: dict[str, Deployment] = {}
        self._mapped_at = float("-inf")
        self._seen: dict[tuple[str, float], float] = {}  # (id, timestamp) -> when it lapses
        self._cooling: set[str] = set()  # ids in cooldown at the last read
        self._claimed: set[tuple[str, float]] = set()  # without a directory: one process
        self._pruned_at = 0.0
        self.next_read: float | None = None

    # ---- when to read ---------------------------------------------------------------------
    def failed(self, now: float) -> bool:
        """A failed attempt at `now` (the monotonic timer's): a read is due soon. True when this scheduled a
        new read."""
        due = now + READ_AFTER_FAILURE
        if self.next_read is not None and self.next_read <= due:
            return False
        self.next_read = due
        return True

    # ---- the read ------------------------------------------------------------------------
    def _map(self, router: object, now: float) -> None:
        self._mapped_at = now
        by_id: dict[str, Deployment] = {}
        for entry in router_view.deployments(router):
            entry = mapping(entry)
            params, info = mapping(entry.get("litellm_params")), mapping(entry.get("model_info"))
            model_id = info.get("id")
            if isinstance(model_id, str) and model_id:
                by_id[model_id] = Deployment(
                    provider=router_view.provider_of(params),
                    group=entry.get("model_name"),
                    name=deployment_name(model_id, params.get("model"), params.get("api_base")),
                )
        self._by_id, self._ids = by_id, list(by_id)

    async def read(self) -> Reading | None:
        """Read the router's active cooldowns; None outside a proxy or when it cannot be read."""
        self.next_read = None
        router = self._router()
        cache = router_view.cooldown_cache(router) if router is not None else None
        if cache is None:
            return None
        now = self._clock()
        if now - self._mapped_at > _MAP_REFRESH_SECONDS:
            self._map(router, now)
        if not self._ids:
            return None
        active = await cache.async_get_active_cooldowns(model_ids=self._ids, parent_otel_span=None)
        now = self._clock()
        reading = Reading(started=[], active=[], lapsed=[], errors=[])
        cooling: set[str] = set()
        for model_id, value in (active or ())[: len(self._ids)]:
            deployment = self._by_id.get(model_id)
            value = mapping(value)
            began, lasts = number(value.get("timestamp")), number(value.get("cooldown_time"))
            if deployment is None or began is None:
                continue
            cooling.add(model_id)
            reading.active.append(deployment)
            key = (model_id, began)
            if key not in self._seen:
                ends = began + (lasts or 0.0)
                try:
                    claimed = self._claim(key, ends)
                except OSError as e:  # not marked seen: the next read tries again
                    reading.errors.append(e)
                    continue
                self._seen[key] = ends
                if claimed:
                    reading.started.append(Cooldown(deployment=deployment, reason=value.get("status_code")))
        reading.lapsed = [self._by_id[i] for i in self._cooling - cooling if i in self._by_id]
        self._cooling = cooling
        if cooling:
            self.next_read = self._timer() + POLL_SECONDS
        if len(self._seen) > _MAX_SEEN or now - self._pruned_at > _PRUNE_SECONDS:
            self._prune(now)
        return reading

    # ---- one count per cooldown, across workers ------------------------------------------------
    def _claim(self, key: tuple[str, float], ends: float) -> bool:
        if self._dir is None:
            if key in self._claimed:
                return False
            self._claimed.add(key)
            return True
        try:
            os.close(create_exclusive(self._dir.cooldown_claim(f"{key[0]}\0{key[1]!r}", ends)))
        except FileExistsError:
            return False
        return True

    def _prune(self, now: float) -> None:
        """Forget cooldowns that lapsed a minute ago, in memory and their claim files."""
        self._pruned_at = now
        for key in [k for k, ends in self._seen.items() if ends < now - _PRUNE_SECONDS]:
            del self._seen[key]
        while len(self._seen) > _MAX_SEEN:
            del self._seen[next(iter(self._seen))]
        self._claimed &= self._seen.keys()
        if self._dir is None:
            return
        try:
            names = os.listdir(self._dir.cooldowns_dir)
        except OSError:
            return
        for name in names:
            ends = name.split("-", 1)[0]
            if ends.isdigit() and int(ends) < now - _PRUNE_SECONDS:
                try:
                    os.unlink(os.path.join(self._dir.cooldowns_dir, name))
                except OSError as e:
                    if e.errno != errno.ENOENT:
                        return
