"""Worker health, recorded by each worker about itself: that it started, that it exited by itself, its
resident memory, and how late its event loop runs a timer. No pid label anywhere.

Invariants (with the exporter's folding, exporter/aggregate.py):
- `worker_starts_total` grows by one per worker process that opened its sample file;
- every started worker adds exactly one `worker_exits_total`: `recycled` written by itself at a clean
  exit (atexit, and multiprocessing's finalizers for workers that end with os._exit), or `killed`
  added by the exporter when it folds the file of a worker that ended without one;
- `workers_live` and the memory gauges are live-worker gauges: a dead worker's share drops out, so
  recycling adds no series.

The loop-lag probe is one timer callback per second on the worker's event loop: it records how late
it ran (0 on an idle, healthy loop; the blocking time when something blocked the loop), and every
MEMORY_EVERY ticks reads /proc/self/statm (one small read; nothing when /proc is missing). Nothing
here raises: a failure is reported to `on_error` and the probe goes on.
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing.util
import os
import threading
import time
import weakref
from collections.abc import Callable

from ..catalogue import EXIT_REASONS, WORKER_EXITS
from ..rundir.record import Recorder

INTERVAL = 1.0  # seconds between loop-lag ticks
MEMORY_EVERY = 3  # ticks between memory reads
STATM = "/proc/self/statm"
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


_LIVE: weakref.WeakSet[WorkerHealth] = weakref.WeakSet()  # weak: a dropped logger's store can close


def _exit_all() -> None:
    for h in list(_LIVE):
        h.exited()


# atexit for spawned workers and plain processes; multiprocessing's finalizers for its forked children,
# which end with os._exit after running them (registered per process: a child starts with none).
atexit.register(_exit_all)
_finalizer_pid: list[int] = []


def _register_finalizer() -> None:
    if _finalizer_pid != [os.getpid()]:
        _finalizer_pid[:] = [os.getpid()]
        multiprocessing.util.Finalize(None, _exit_all, exitpriority=0)


def resident_bytes(path: str = STATM) -> int | None:
    """Resident set size of this process, from statm's second field (pages); None without /proc."""
    try:
        with open(path, "rb") as f:
            return int(f.read(128).split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return None


class WorkerHealth:
    def __init__(self, rec: Recorder, on_error: Callable[[str, BaseException], None], statm: str = STATM):
        self.rec = rec
        self._on_error = on_error
        self._statm = statm
        self._pid = os.getpid()
        self._memory = 0  # what this worker last added to workers_resident_memory_bytes
        self._exited = False
        # the worker's event loop, the probe's (the first start_probe was given, from inside it), and the thread
        # that runs it: hook calls made in it wait for their batch (logger.py)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_thread: int | None = None
        self._due = 0.0
        self._ticks = 0
        self.before_exit: Callable[[], None] | None = None  # run first at a clean exit (hook calls still waiting)

    # ---- start and exit ------------------------------------------------------------------------
    def started(self) -> None:
        now = time.time()
        for reason in EXIT_REASONS:  # at 0, so the exits series exist before the first exit
            self.rec.store.reserve(WORKER_EXITS.name, (reason,))
        self.rec.worker_starts()
        self.rec.workers_live(delta=1.0, when=now)
        self.read_memory()
        _LIVE.add(self)
        _register_finalizer()

    def exited(self) -> None:
        """A clean exit of this worker: counted once, never in a forked child."""
        if self._exited or os.getpid() != self._pid:
            return
        self._exited = True
        if self.before_exit is not None:
            try:
                self.before_exit()
            except Exception as e:  # noqa: BLE001 - never raise at exit
                self._on_error("worker_exit", e)
        try:
            now = time.time()
            self.rec.worker_exits(reason="recycled")
            self.rec.workers_live(delta=-1.0, when=now)
            self.rec.workers_resident_memory_bytes(delta=-float(self._memory), when=now)
            self._memory = 0
        except Exception as e:  # noqa: BLE001 - never raise at exit
            self._on_error("worker_exit", e)

    # ---- memory --------------------------------------------------------------------------------
    def read_memory(self) -> None:
        rss = resident_bytes(self._statm)
        if rss is None or self._exited:
            return
        now = time.time()
        self.rec.worker_resident_memory_max_bytes(value=float(rss), when=now)
        self.rec.workers_resident_memory_bytes(delta=float(rss - self._memory), when=now)
        self._memory = rss

    # ---- loop lag ------------------------------------------------------------------------------
    @property
    def probing(self) -> bool:
        return self.loop is not None

    def start_probe(self, loop: asyncio.AbstractEventLoop) -> None:
        """Probe `loop`, the one running in this thread (called from inside it)."""
        if self.loop is None:
            self.loop, self.loop_thread = loop, threading.get_ident()
            self._schedule()

    def _schedule(self) -> None:
        loop = self.loop
        if loop is None:  # not probing
            return
        self._due = loop.time() + INTERVAL
        loop.call_at(self._due, self._tick)

    def _tick(self) -> None:
        loop = self.loop
        if loop is None:  # not probing
            return
        try:
            if self._exited or os.getpid() != self._pid:
                return
            self.rec.worker_event_loop_lag_seconds(value=max(0.0, loop.time() - self._due))
            self._ticks += 1
            if self._ticks % MEMORY_EVERY == 0:
                self.read_memory()
        except Exception as e:  # noqa: BLE001 - the probe must never break the loop
            self._on_error("worker_health", e)
        if not loop.is_closed():
            self._schedule()
