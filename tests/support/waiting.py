"""The one way a test waits: poll a predicate, bounded in time, and fail saying what it waited for."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 30.0,
    interval: float = 0.25,
    what: str = "condition",
    detail: Callable[[], str] | None = None,
) -> T:
    """Poll `predicate` until it returns something truthy, and return that; fail after `timeout` seconds with
    `what`, its last value and, when given, `detail()` (a log's end, read at that moment)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(
        f"timed out after {timeout}s waiting for {what} (last: {last!r})"
        + (f":\n{detail()}" if detail is not None else "")
    )
