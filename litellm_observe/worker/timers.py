"""The event-loop timers of one worker process: the settle timer, and the reads of the router's cooldowns.

Both are scheduled on the running event loop (the proxy's); without one (a test driving hooks by hand)
nothing is scheduled: the next hook settles what is due, and tests call the logger's settle() and
read_cooldowns() themselves. Deadlines are on the monotonic clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

SETTLE_SLACK = 0.01  # the settle timer fires this long after the deadline, so that it is surely due


class Timers:
    """`on_settle()` runs by the earliest deadline asked for, one timer at a time (moved earlier when a deadline
    falls due sooner); `read_cooldowns()` is started as a task at the times asked for."""

    def __init__(self, on_settle: Callable[[], None], read_cooldowns: Callable[[], Coroutine[Any, Any, None]]):
        self._on_settle = on_settle
        self._read_cooldowns = read_cooldowns
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # the loop keeps only a weak reference to a task

    def settle_by(self, due: float) -> None:
        """Make sure on_settle runs by `due`, even if no hook comes."""
        if self._timer_at is not None and due >= self._timer_at:
            return  # the timer set fires first
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop here: the next hook settles what is due
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = due
        self._timer = loop.call_later(max(0.0, due - time.monotonic()) + SETTLE_SLACK, self._fire)

    def _fire(self) -> None:
        self._timer = self._timer_at = None
        self._on_settle()

    def read_cooldowns_at(self, when: float) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (a test driving hooks by hand): read_cooldowns() is called directly
        loop.call_later(max(0.0, when - time.monotonic()), self._start_read, loop)

    def _start_read(self, loop: asyncio.AbstractEventLoop) -> None:
        task = loop.create_task(self._read_cooldowns())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
