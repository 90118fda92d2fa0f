"""What the logger could not record: counted in observe_internal_errors_total under the hook's name, and logged
at a bounded rate. Nothing here raises: it is the last line of defence of every hook (logger.py's guard).
"""

from __future__ import annotations

import errno
import logging
import time
from typing import Protocol

from ..rundir.record import Recorder

log = logging.getLogger("litellm_observe")
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})

# Names an internal error can be counted under. Their series exist from the start (process.py reserves them),
# so counting one never needs new space in the sample file (a full disk is itself an internal error).
HOOKS = (
    "async_pre_call_hook",
    "log_pre_api_call",
    "async_post_call_streaming_iterator_hook",
    "async_log_success_event",
    "async_log_failure_event",
    "async_post_call_failure_hook",
    "async_post_call_failure_deployment_hook",
    "log_success_fallback_event",
    "log_failure_fallback_event",
    "grace",
    "settle",
    "batch",  # writing what a batch's acts kept (Recording.write_kept)
    "cooldowns",
    "worker_health",
    "worker_exit",
    "run_directory",
)


class InternalError(Protocol):
    """How the worker reports one: the logger's `_internal_error`."""

    def __call__(self, hook: str, exc: BaseException | None = None, detail: str = "") -> None: ...


class InternalErrors:
    """One logger's internal errors: a count per hook, a log line per hook at most every `interval` seconds
    (saying how many were not logged since), and one line, once, for a full disk."""

    def __init__(self, interval: float):
        self._interval = interval
        self._logged_at: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._disk_full_logged = False

    def report(
        self, rec: Recorder | None, where: str | None, hook: str, exc: BaseException | None = None, detail: str = ""
    ) -> None:
        """Count one under `hook` in `rec` (this process's; None while metrics are off) and log it; `where` is
        the run directory, named when the disk is full."""
        try:
            if rec is not None:
                rec.observe_internal_errors(hook=hook)  # reserved: needs no new space
            if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
                if not self._disk_full_logged:
                    self._disk_full_logged = True
                    log.error(
                        "litellm_observe: the metrics directory %s is full (%s): new series are not recorded "
                        "and each event that needed one is counted in observe_internal_errors_total; the "
                        "proxy keeps serving. Free space there or set litellm_observe.metrics_dir.",
                        where,
                        exc.strerror,
                    )
                return
            now = time.monotonic()
            if now - self._logged_at.get(hook, -1e9) >= self._interval:
                suppressed = self._suppressed.pop(hook, 0)
                self._logged_at[hook] = now
                log.warning(
                    "litellm_observe: %s could not record an event (%s)%s",
                    hook,
                    detail or repr(exc),
                    f"; {suppressed} more since the last message" if suppressed else "",
                    exc_info=exc if exc is not None and not detail else None,
                )
            else:
                self._suppressed[hook] = self._suppressed.get(hook, 0) + 1
        except Exception:  # the last line of defence must not raise either
            pass
