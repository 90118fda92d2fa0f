"""The CustomLogger the proxy calls: a thin adapter from LiteLLM's hooks to this process's state.

Each hook keeps the base class's parameter names (LiteLLM calls hooks with keyword arguments) and hands its
arguments, through one guard (_hook), to a pair of flow.py's functions: a reader that parses them at once
(observations.py), and an act that decides how the request ended (calls.py) and records it (recording.py,
labels.py), at once or with the next batch (settings.event_batch_seconds; process.py keeps the queue). The
guard gets this process's state (process.py: built once per process) and catches everything: nothing raises
into LiteLLM; what cannot be recorded is counted in observe_internal_errors_total under the hook's name and
logged at a bounded rate (errors.py). Timers and the cooldown reader go through _guard, which records what
waits first.

Which hook counts what (README "Where each number comes from"):
  request level  the first of: async_post_call_failure_hook, async_log_success_event, the streaming
                 iterator closed by a disconnect (499), or a stream that ended with neither (calls.py).
                 Not async_log_failure_event: it fires once for several attempts on some paths.
  attempt level  log_pre_api_call starts one; async_log_success_event (not cache hits) and
                 async_post_call_failure_deployment_hook (once per attempt) report it; the rest are
                 settled after the request ended. Retries: at the request's end, the attempts of each
                 model group after its first (calls.py).
  deployments    state 0 after a success, 1 after a failed attempt, 2 while the router's cooldown
                 cache holds it (read after failures, deployments.py); cooldowns counted from there.
  guardrails     the runs the success and failure events carry, each run counted once.
  in flight      +1 in async_pre_call_hook, -1 at the end of the stream or of the request.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncGenerator, Callable, Iterable
from threading import get_ident
from typing import Any, TypeVarTuple

from litellm.integrations.custom_logger import CustomLogger

from .. import settings as settings_mod
from ..rundir import files
from ..rundir.record import Recorder
from ..rundir.writer import SampleWriter
from . import calls, flow, router_view
from . import observations as obs
from . import process as process_mod
from .calls import CallBook
from .errors import InternalErrors
from .labels import OVERFLOW, UNKNOWN, UNLISTED
from .process import Processes, WorkerProcess

_Args = TypeVarTuple("_Args")
_Seen = TypeVarTuple("_Seen")
MAX_PENDING = 256  # hook calls a batch holds at most: a full one is recorded at once (bounded memory and pause)


def _router_model_names() -> Iterable[str] | None:
    """The proxy's public model groups, or None outside a proxy."""
    router, in_proxy = router_view.current()
    if router is None:
        return () if in_proxy else None
    return router_view.group_names(router)


def _router() -> object | None:
    return router_view.current()[0]


def _caching_on() -> bool:
    return getattr(sys.modules.get("litellm"), "cache", None) is not None  # no import on the hot path


class ObserveLogger(CustomLogger):
    def __init__(
        self,
        settings: settings_mod.Settings | None = None,
        *,
        run_directory: str | None = None,
        model_names: Callable[[], Iterable[str] | None] = _router_model_names,
        caching_on: Callable[[], bool] = _caching_on,
        start_exporter: bool | None = None,
        config_path: str | None = None,
        router: Callable[[], object | None] = _router,
    ):
        super().__init__()
        self.settings = settings if settings is not None else settings_mod.load(config_path)
        files.share_with_group(self.settings.metrics_dir_group_shared)
        self._errors = InternalErrors(self.settings.error_log_interval_seconds)
        self._processes = Processes(
            self.settings,
            run_directory=run_directory,
            model_names=model_names,
            caching_on=caching_on,
            router=router,
            start_exporter=self.settings.exporter if start_exporter is None else start_exporter,
            internal_error=self._internal_error,
            keep_run=self.keep_run,
            on_settle=self._on_timer,
            read_cooldowns=self.read_cooldowns,
        )
        self._processes.current()

    # ---- the guard -------------------------------------------------------------------------------
    def _hook(
        self,
        hook: str,
        act: Callable[[WorkerProcess, *_Seen], None],
        read: Callable[[WorkerProcess, *_Args], tuple[*_Seen]],
        *args: *_Args,
        opening: bool = True,
    ) -> None:
        """A LiteLLM hook's call, with this process's state (built if needed, unless not `opening`; nothing runs
        while metrics are off): `read(process, *args)` at once (what the call says, parsed before LiteLLM goes on
        changing its payload), then `act(process, *what_was_read)`, timed as now (process.mono, process.wall).
        With `event_batch_seconds` set, a call made in the worker's event loop (process.health.loop: the loop-lag
        probe's, the proxy's; its thread while it runs) is queued for its batch: the first call queued schedules
        it that many seconds later (README "How it works with several workers"). What waits and this call are
        acted on at once when the call comes from anywhere else (a thread, another loop: asyncio.run per call,
        whose loop stops) or when MAX_PENDING wait. Whatever `read` or `act` raises is counted under `hook` and
        logged."""
        try:
            # Processes.current()'s first answer inline, and live()'s (every hook call: a call fewer each): this
            # process's state, built in this process (no fork since), probing its loop
            p = self._processes._process
            if p is None or p.generation != process_mod._generation or p.health.loop is None:
                p = self._processes.current() if opening else self._processes.live()
                if p is None:
                    return
            mono, wall = time.monotonic(), time.time()
            seen = read(p, *args)
            if p.batch_seconds:
                pending = p.pending
                pending.append((hook, act, seen, mono, wall))
                # In the worker's loop: its thread, while it runs (a loop runs in one thread, one loop at a time;
                # not asyncio.get_running_loop(), whose getpid() is a system call on every call: 0.2 µs a hook)
                health = p.health
                loop = health.loop
                if (
                    loop is None
                    or get_ident() != health.loop_thread
                    or not loop.is_running()
                    or len(pending) >= MAX_PENDING
                ):
                    p.record_pending()  # at once: not in the worker's loop (a thread, another loop), or a full batch
                elif len(pending) == 1:  # the first call since the last batch: schedule the next
                    loop.call_later(p.batch_seconds, p.record_pending)
                return
            p.mono, p.wall = mono, wall
            act(p, *seen)
        except Exception as e:
            self._internal_error(hook, e)

    def _guard(
        self, hook: str, handler: Callable[[WorkerProcess, *_Args], None], *args: *_Args, opening: bool = True
    ) -> None:
        """Run `handler(process, *args)` now, after the hook calls waiting for their batch (timers, the cooldown
        reader: WorkerProcess.act_now); otherwise as _hook."""
        try:
            p = self._processes.current() if opening else self._processes.live()
            if p is not None:
                p.act_now(handler, *args)
        except Exception as e:
            self._internal_error(hook, e)

    def _internal_error(self, hook: str, exc: BaseException | None = None, detail: str = "") -> None:
        p = self._processes.live()
        self._errors.report(p.rec if p is not None else None, self._processes.run_directory, hook, exc, detail)

    # ---- the hooks ---------------------------------------------------------------------------------
    async def async_pre_call_hook(self, user_api_key_dict: Any, cache: Any, data: Any, call_type: Any) -> None:
        self._hook(
            "async_pre_call_hook",
            flow.request_started,
            flow.read_request_start,
            data,
            user_api_key_dict,
            call_type,
        )
        return None

    def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
        """Once per upstream attempt (retries and fallback steps too; not for cache hits)."""
        self._hook("log_pre_api_call", flow.attempt_started, flow.read_attempt_start, kwargs, opening=False)

    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict: Any, response: Any, request_data: Any
    ) -> AsyncGenerator[Any, None]:
        how, error, error_frame = calls.EXHAUSTED, None, False
        try:
            async for item in response:
                if not error_frame and obs.stream_error(item):
                    error_frame = True
                yield item
        except (GeneratorExit, asyncio.CancelledError):
            how = calls.CLOSED  # the client went away
            raise
        except Exception as e:
            how, error = calls.RAISED, e
            raise
        finally:
            self._hook(
                "async_post_call_streaming_iterator_hook",
                flow.stream_ended,
                flow.read_stream_end,
                request_data,
                how,
                error,
                error_frame,
            )

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._hook("async_log_success_event", flow.succeeded, flow.read_success, kwargs)

    async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._hook("async_log_failure_event", flow.failure_reported, flow.read_failure_event, kwargs)

    async def async_post_call_failure_hook(
        self, request_data: Any, original_exception: Any, user_api_key_dict: Any, traceback_str: Any = None
    ) -> None:
        self._hook(
            "async_post_call_failure_hook",
            flow.request_failed,
            flow.read_failure,
            request_data,
            original_exception,
            user_api_key_dict,
        )
        return None

    async def async_post_call_failure_deployment_hook(
        self, request_data: Any, exception: Any, call_type: Any, fallback_depth: Any = None
    ) -> None:
        self._hook(
            "async_post_call_failure_deployment_hook",
            flow.attempt_failed,
            flow.read_failed_attempt,
            request_data,
            exception,
        )
        return None

    async def log_success_fallback_event(self, original_model_group: Any, kwargs: Any, original_exception: Any) -> None:
        self._hook("log_success_fallback_event", flow.fell_back, flow.read_fallback, original_model_group, kwargs, True)

    async def log_failure_fallback_event(self, original_model_group: Any, kwargs: Any, original_exception: Any) -> None:
        self._hook(
            "log_failure_fallback_event", flow.fell_back, flow.read_fallback, original_model_group, kwargs, False
        )

    # ---- timers, the supervisor, tests ----------------------------------------------------------------
    def _on_timer(self) -> None:
        self._guard("settle", flow.settle_now, opening=False)

    async def read_cooldowns(self) -> None:
        """Read the router's cooldowns; record cooldowns begun and deployment states (then every few seconds
        while one is active: deployments.py). Called by the timers after failed attempts, or by hand."""
        p = self._processes.live()
        if p is None:
            return
        try:
            reading = await p.cooldowns.read()
        except Exception as e:
            self._internal_error("cooldowns", e)
            return
        if reading is not None:
            self._guard("cooldowns", flow.cooldowns_read, reading, opening=False)

    def keep_run(self) -> bool:
        """Called by the supervisor every few seconds: make the run directory again when it was removed under
        this process (process.py). True when it did."""
        p = self._processes.live()
        return p.keep_run() if p is not None else False

    def settle(self, now: float | None = None) -> None:
        """Settle what is due by `now` on the monotonic clock (default: the present), after recording the hook
        calls waiting; the event loop's timer does this in a proxy, tests call it with a time in the future."""
        p = self._processes.current()
        if p is not None:
            p.act_now(flow.settle, time.monotonic() if now is None else now)

    def flush(self) -> None:
        """Record the hook calls waiting for their batch now."""
        p = self._processes.live()
        if p is not None:
            p.record_pending()

    def inflight(self) -> int:
        p = self._processes.live()
        if p is None:
            return 0
        p.record_pending()
        return flow.inflight(p)

    @property
    def process(self) -> WorkerProcess | None:
        """This process's state; None while metrics are off here."""
        return self._processes.live()

    @property
    def store(self) -> SampleWriter | None:
        p = self._processes.live()
        return p.writer if p is not None else None

    @property
    def rec(self) -> Recorder | None:
        p = self._processes.live()
        return p.rec if p is not None else None

    @property
    def calls(self) -> CallBook | None:
        p = self._processes.live()
        return p.calls if p is not None else None

    @property
    def run_directory(self) -> str | None:
        return self._processes.run_directory

    @property
    def disabled_reason(self) -> str | None:
        return self._processes.disabled_reason


__all__ = ["ObserveLogger", "OVERFLOW", "UNKNOWN", "UNLISTED"]
