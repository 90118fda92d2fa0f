"""The CustomLogger the proxy calls. Every hook is guarded: nothing raises into
LiteLLM; what cannot be recorded is counted in observe_internal_errors_total and
logged at a bounded rate.

Which hook counts what (see README "Where each number comes from"):
  request level  async_log_success_event (success) and async_post_call_failure_hook
                 (failure; also sees bad keys and malformed bodies). Not
                 async_log_failure_event: it fires once per attempt.
  attempt level  async_log_success_event for the attempt that succeeded (not cache
                 hits) and async_post_call_failure_deployment_hook per failed attempt.
  in flight      +1 in async_pre_call_hook, -1 at the end of the stream, the success
                 event or the failure hook, whichever comes first.
"""
from __future__ import annotations

import asyncio
import datetime
import errno
import logging
import math
import os
import sys
import time
from bisect import bisect_left
from collections.abc import Mapping
from typing import Any, Callable, Iterable

from litellm.integrations.custom_logger import CustomLogger

from .. import catalogue, compat, settings as settings_mod
from ..catalogue import Kind
from ..rundir import protocol
from . import calls, error_types
from .budgets import BudgetResets
from .labels import OVERFLOW, UNKNOWN, UNLISTED, LabelCaps, clean
from ..rundir.store import WorkerStore

log = logging.getLogger("litellm_observe")

_BUCKETS = {m.name: m.buckets for m in catalogue.CATALOGUE if m.kind is Kind.HISTOGRAM}
_RATELIMIT_HEADERS = (
    ("requests_remaining", "x_ratelimit_remaining_requests"),
    ("requests_limit", "x_ratelimit_limit_requests"),
    ("tokens_remaining", "x_ratelimit_remaining_tokens"),
    ("tokens_limit", "x_ratelimit_limit_tokens"),
)
_MODEL_REFRESH_SECONDS = 10.0
_STORE_RETRY_SECONDS = 30.0  # a process whose sample file could not be created tries again this often
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
# Hooks that can count an internal error: their series exist from the start, so counting
# one never needs new space in the sample file (a full disk is itself an internal error).
HOOKS = ("async_pre_call_hook", "log_pre_api_call", "async_post_call_streaming_iterator_hook",
         "async_log_success_event", "async_log_failure_event", "async_post_call_failure_hook",
         "async_post_call_failure_deployment_hook", "log_success_fallback_event", "log_failure_fallback_event",
         "grace", "settle")
CLIENT_CLOSED = "client_disconnected"  # error_type of a request whose client went away mid-stream
CLIENT_CLOSED_STATUS = 499  # nginx's and LiteLLM's own code for a client that closed the request
_ERROR_FRAMES = (b"event: error", b"event:error", b'"type":"error"', b'"type": "error"', b"response.failed",
                 b'data: {"error"')


def _float(value: object) -> float | None:
    """A finite float from an int or float (not bool); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = float(value)  # an int past 1e308 raises OverflowError
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def _amount(value: object) -> float | None:
    """A number that may go into a counter, None when absent; ValueError when it is bad."""
    if value is None:
        return None
    number = _float(value)
    if number is None or number < 0:
        raise ValueError(f"negative, not finite or not a number: {str(value)[:40]!r}")
    return number


def _epoch(value: object) -> float | None:
    if isinstance(value, datetime.datetime):
        try:
            return value.timestamp()
        except (OverflowError, ValueError, OSError):
            return None
    return _float(value)


def _dict(value: object) -> Mapping:
    # LiteLLM hands some hooks a MappingProxyType, not a dict.
    return value if type(value) is dict or isinstance(value, Mapping) else {}


def _router_model_names() -> Iterable[str] | None:
    """The proxy's public model groups, or None outside a proxy."""
    server = sys.modules.get("litellm.proxy.proxy_server")
    router = getattr(server, "llm_router", None)
    if router is None:
        return None if server is None else ()
    names = list(getattr(router, "model_names", None) or ())
    try:
        names += [g for g in router.get_model_names() if g not in names]
    except Exception:
        pass
    return names


def _error_item(item: object) -> bool:
    """A stream item that carries an error in-band: an SSE frame (bytes or text, /v1/messages) or a
    Responses API event of type `error` or `response.failed`."""
    if isinstance(item, (bytes, str)):
        raw = item.encode(errors="replace") if isinstance(item, str) else item
        return any(marker in raw for marker in _ERROR_FRAMES)
    kind = getattr(item, "type", None)
    return kind == "error" or kind == "response.failed"


def _caching_on() -> bool:
    return getattr(sys.modules.get("litellm"), "cache", None) is not None  # no import on the hot path


class ObserveLogger(CustomLogger):
    def __init__(self, settings: settings_mod.Settings | None = None, *, run_directory: str | None = None,
                 model_names: Callable[[], Iterable[str] | None] = _router_model_names,
                 caching_on: Callable[[], bool] = _caching_on, start_exporter: bool | None = None,
                 config_path: str | None = None):
        super().__init__()
        self.settings = settings if settings is not None else settings_mod.load(config_path)
        self._fixed_run_directory = run_directory
        self._model_names = model_names
        self._caching_on = caching_on
        self._start_exporter = self.settings.exporter if start_exporter is None else start_exporter
        protocol.share_with_group(self.settings.metrics_dir_group_shared)
        self._pid = -1
        self.store: WorkerStore | None = None
        self.run_directory: str | None = None
        self._known_models: set[str] = set()
        self._patterns: list[str] = []
        self._models_checked = 0.0
        self._any_model = False  # outside a proxy (no model list): every name is a model group
        self.calls = calls.CallBook()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._next_sweep = 0.0
        self._error_log_at: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self.disabled_reason: str | None = None
        self._retry_store_at = 0.0
        self._disk_full_logged = False
        self._warned_version = False
        self._ensure_process()

    # ---- per-process state -------------------------------------------------------------------
    def _ensure_process(self) -> bool:
        """Open this process's store; after a fork the child opens its own. A process whose
        store could not be created (unwritable or full directory) retries now and then."""
        if self._pid == os.getpid():
            if self.store is not None or time.monotonic() < self._retry_store_at:
                return self.store is not None
        else:
            self._pid = os.getpid()
            self.store = None
        root = None
        base = self._fixed_run_directory or protocol.base_dir(self.settings.metrics_dir)
        try:
            if self._fixed_run_directory:
                directory = protocol.prepare(self._fixed_run_directory)
            else:
                root = protocol.current_root()
                directory = protocol.run_dir(base, root)
                protocol.remove_dead_runs(base, keep=root)
            store = WorkerStore(directory)
            for hook in HOOKS:
                store.reserve("observe_internal_errors", (hook,))
        except OSError as e:
            self._retry_store_at = time.monotonic() + _STORE_RETRY_SECONDS
            if self.disabled_reason is None:
                where = f" ({e.filename})" if e.filename and e.filename != base else ""
                self.disabled_reason = e.strerror if isinstance(e, protocol.UnsafeDirectory) else (
                    f"cannot write metrics to {base}: {e.strerror or e}{where}")
                log.error("litellm_observe: %s; metrics are OFF in process %s, the proxy keeps serving; retrying "
                          "every %d s. Set litellm_observe.metrics_dir to a writable directory with free space.",
                          self.disabled_reason, self._pid, _STORE_RETRY_SECONDS)
            return False
        if self.disabled_reason is not None:
            log.warning("litellm_observe: metrics are ON again in process %s (%s)", self._pid, directory.path)
            self.disabled_reason = None
        self.store = store
        self.run_directory = directory.path
        self.caps = LabelCaps(self.settings.cap_for, directory, self._overflowed)
        self.budgets = BudgetResets(directory)
        self.calls.clear()
        self._timer = self._timer_at = None
        line, warning = compat.startup_line()
        if warning and not self._warned_version:  # once per process; the exporter logs the line itself
            self._warned_version = True
            log.warning(warning)
        if self._start_exporter and root is not None:
            from .supervisor import ExporterSupervisor

            ExporterSupervisor(directory, root, self.settings).start()
        return True

    # ---- helpers -----------------------------------------------------------------------------
    def _overflowed(self, label: str) -> None:
        self.store.inc("observe_label_overflow", (label,))

    def _label(self, name: str, value: object) -> str:
        return self.caps.admit(name, clean(value))

    def _model(self, name: object) -> str:
        value = clean(name)
        if value == UNKNOWN:
            return value
        if value not in self._known_models and not self._any_model:
            now = time.monotonic()
            if now - self._models_checked > _MODEL_REFRESH_SECONDS or not self._models_checked:
                self._models_checked = now
                names = self._model_names()
                self._any_model = names is None
                if names is None:  # not inside a proxy: every name is a model group
                    return self.caps.admit("model", value)
                names = [clean(n) for n in names]
                self._known_models = {n for n in names if "*" not in n}
                self._patterns = [n for n in names if "*" in n]
            if value not in self._known_models:
                import fnmatch

                match = next((p for p in self._patterns if fnmatch.fnmatchcase(value, p)), None)
                if match is None:
                    return UNLISTED
                value = match
        return self.caps.admit("model", value)

    def _observe(self, metric: str, labels: tuple, value: float | None) -> None:
        if value is None or not math.isfinite(value) or value < 0:
            return
        self.store.observe(metric, labels, bisect_left(_BUCKETS[metric], value), value)

    def _internal_error(self, hook: str, exc: BaseException | None = None, detail: str = "") -> None:
        try:
            if self.store is not None:
                self.store.inc("observe_internal_errors", (hook,))  # reserved: needs no new space
            if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
                if not self._disk_full_logged:
                    self._disk_full_logged = True
                    log.error("litellm_observe: the metrics directory %s is full (%s): new series are not recorded "
                              "and each event that needed one is counted in observe_internal_errors_total; the "
                              "proxy keeps serving. Free space there or set litellm_observe.metrics_dir.",
                              self.run_directory, exc.strerror)
                return
            now = time.monotonic()
            if now - self._error_log_at.get(hook, -1e9) >= self.settings.error_log_interval_seconds:
                suppressed = self._suppressed.pop(hook, 0)
                self._error_log_at[hook] = now
                log.warning("litellm_observe: %s could not record an event (%s)%s", hook,
                            detail or repr(exc), f"; {suppressed} more since the last message" if suppressed else "",
                            exc_info=exc if exc is not None and not detail else None)
            else:
                self._suppressed[hook] = self._suppressed.get(hook, 0) + 1
        except Exception:  # the last line of defence must not raise either
            pass

    def _amounts(self, hook: str, pairs: list[tuple[object, str]]) -> list[float | None]:
        out = []
        for raw, what in pairs:
            try:
                out.append(_amount(raw))
            except ValueError as e:
                self._internal_error(hook, detail=f"{what}: {e}")
                out.append(None)
        return out

    # ---- calls in flight and how they end (calls.py) ---------------------------------------
    def _begin(self, data: Mapping, user: object) -> None:
        now = time.time()
        call = self.calls.begin(data.get("litellm_call_id"), now, data.get("model"), user)
        if call is None:
            return
        self.store.add("current_load", (), 1.0, now)
        if now >= self._next_sweep:
            self._sweep(now)

    def _unload(self, call, now: float) -> None:
        """The request stops counting in flight (end of stream, or its end, whichever is first)."""
        if call is not None and call.in_load:
            call.in_load = False
            self.store.add("current_load", (), -1.0, now)

    def _sweep(self, now: float) -> None:
        """Requests that never ended (no event at all) stop counting in flight after the timeout."""
        self._next_sweep = now + 30.0
        for call in self.calls.stale(now - self.settings.inflight_timeout_seconds):
            self._unload(call, now)

    def inflight(self) -> int:
        return sum(1 for call in self.calls.calls() if call.in_load)

    def _tick(self, now: float) -> None:
        """Settle what is due: at every hook, and from a timer on the event loop when idle."""
        due = self.calls.next_due()
        if due is None:
            return  # the common case: nothing waits
        while due is not None and due <= now:  # a grace's end can make a settle due by `now` too
            for kind, call in self.calls.due(now):
                try:
                    if kind == "grace":
                        self._stream_ended_alone(call)
                    else:
                        self._settle(call)
                except Exception as e:
                    self._internal_error(kind, e)
            due = self.calls.next_due()
        if due is not None and (self._timer_at is None or due < self._timer_at):
            self._wake(due)

    def settle(self, now: float | None = None) -> None:
        """Settle what is due by `now` (default: the present); the event loop's timer does this in a
        proxy, tests call it with a time in the future."""
        if self._ensure_process():
            self._tick(time.time() if now is None else now)

    def _wake(self, due: float) -> None:
        """Make sure the event loop runs _tick by `due`, even if no hook comes (one timer at a time)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop here: the next hook settles what is due
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = due
        self._timer = loop.call_later(max(0.0, due - time.time()) + 0.01, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        try:
            if self.store is not None and self._pid == os.getpid():
                self._tick(time.time())
        except Exception as e:
            self._internal_error("settle", e)

    # ---- hooks -------------------------------------------------------------------------------
    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):
        try:
            if self._ensure_process():
                self._begin(_dict(data), user_api_key_dict)
        except Exception as e:
            self._internal_error("async_pre_call_hook", e)
        return None

    def log_pre_api_call(self, model, messages, kwargs):
        """Once per upstream attempt (retries and fallback steps too; not for cache hits)."""
        try:
            if self.store is not None and self._pid == os.getpid():
                kwargs = _dict(kwargs)
                call_id = kwargs.get("litellm_call_id")
                if self.calls.known(call_id):
                    params = _dict(kwargs.get("litellm_params"))
                    meta = _dict(params.get("metadata")) or _dict(params.get("litellm_metadata"))
                    provider = kwargs.get("custom_llm_provider") or params.get("custom_llm_provider")
                    self.calls.attempt_started(call_id, time.time(), (provider, meta.get("model_group")))
        except Exception as e:
            self._internal_error("log_pre_api_call", e)

    async def async_post_call_streaming_iterator_hook(self, user_api_key_dict, response, request_data):
        how, error, error_frame = calls.EXHAUSTED, None, False
        try:
            async for item in response:
                if not error_frame and _error_item(item):
                    error_frame = True
                yield item
        except (GeneratorExit, asyncio.CancelledError):
            how = calls.CLOSED  # the client went away
            raise
        except Exception as e:
            how, error = calls.RAISED, e
            raise
        finally:
            try:
                if self._ensure_process():
                    self._stream_ended(_dict(request_data).get("litellm_call_id"), how, error, error_frame)
            except Exception as e:
                self._internal_error("async_post_call_streaming_iterator_hook", e)

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        try:
            if self._ensure_process():
                self._success(_dict(kwargs))
        except Exception as e:
            self._internal_error("async_log_success_event", e)

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):
        """Not counted (it fires once for several failed attempts, or once per attempt, depending
        on the path): only remembered, to say why a stream that ended alone failed."""
        try:
            if self._ensure_process():
                kwargs = _dict(kwargs)
                self.calls.remember_error(kwargs.get("litellm_call_id"), kwargs.get("exception"))
        except Exception as e:
            self._internal_error("async_log_failure_event", e)

    async def async_post_call_failure_hook(self, request_data, original_exception, user_api_key_dict,
                                           traceback_str=None):
        try:
            if self._ensure_process():
                self._failure(_dict(request_data), original_exception, user_api_key_dict)
        except Exception as e:
            self._internal_error("async_post_call_failure_hook", e)
        return None

    async def async_post_call_failure_deployment_hook(self, request_data, exception, call_type, fallback_depth=None):
        try:
            if self._ensure_process():
                self._failed_attempt(_dict(request_data), exception)
        except Exception as e:
            self._internal_error("async_post_call_failure_deployment_hook", e)
        return None

    async def log_success_fallback_event(self, original_model_group, kwargs, original_exception):
        await self._fallback("log_success_fallback_event", original_model_group, kwargs, "true")

    async def log_failure_fallback_event(self, original_model_group, kwargs, original_exception):
        await self._fallback("log_failure_fallback_event", original_model_group, kwargs, "false")

    # ---- what each event records -------------------------------------------------------------
    def _success(self, kwargs: dict) -> None:
        hook = "async_log_success_event"
        now = time.time()
        book = self.calls
        if book.next_due() is not None:
            self._tick(now)
        call_id = kwargs.get("litellm_call_id")
        call = book.get(call_id)
        slo = _dict(kwargs.get("standard_logging_object"))
        cache_hit = slo.get("cache_hit") if "cache_hit" in slo else kwargs.get("cache_hit")
        # request level once: unless a disconnect or a stream that ended alone ended it already
        # (LiteLLM sends a success event for billing after a client disconnect)
        if call is None:
            request_level = not book.ended_earlier(call_id)
        else:
            if cache_hit is not True:
                call.succeeded += 1  # this attempt is reported (calls.py)
            request_level = book.end_call(call, calls.SUCCESS, now) is not None
            self._unload(call, now)
        meta = _dict(_dict(kwargs.get("litellm_params")).get("metadata"))
        slo_meta = _dict(slo.get("metadata"))
        store = self.store
        provider = self._label("provider", slo.get("custom_llm_provider") or kwargs.get("custom_llm_provider"))
        served = self._model(slo.get("model_group") or meta.get("model_group"))
        requested = meta.get("original_model_group")
        model = self._model(requested) if requested and requested != slo.get("model_group") else served
        team = self._label("team", slo_meta.get("user_api_key_team_alias") or slo_meta.get("user_api_key_team_id"))
        st, et = _epoch(slo.get("startTime")), _epoch(slo.get("endTime"))
        if st is None:
            st = _epoch(kwargs.get("start_time")) if "start_time" in kwargs else None
        if request_level:
            store.inc("requests", (model, provider, team, "200"))
            first = call.started if call is not None else st
            if et is not None and first is not None:
                self._observe("request_duration_seconds", (model, provider), et - first)
            if cache_hit is True:
                store.inc("cache_hits", (served,))
        if cache_hit is True:
            return  # no upstream call: no attempt, tokens or spend
        if self._caching_on():
            store.inc("cache_misses", (served,))
        store.inc("provider_requests", (provider, served, "200"))
        pm = (provider, served)
        if st is not None and et is not None:
            self._observe("provider_latency_seconds", pm, et - st)
        prompt, completion, cost, retries = self._amounts(hook, [
            (slo.get("prompt_tokens"), "prompt_tokens"), (slo.get("completion_tokens"), "completion_tokens"),
            (slo.get("response_cost"), "response_cost"), (meta.get("attempted_retries"), "attempted_retries")])
        if slo.get("stream") is True or kwargs.get("stream") is True:
            cst = _epoch(slo.get("completionStartTime"))
            if cst is not None and st is not None:
                self._observe("time_to_first_token_seconds", pm, cst - st)
                if completion is not None and completion > 1 and et is not None:
                    self._observe("time_per_output_token_seconds", pm, (et - cst) / (completion - 1))
        usage = _dict(slo_meta.get("usage_object"))
        details = _dict(usage.get("prompt_tokens_details"))
        (cached,) = self._amounts(hook, [(details.get("cached_tokens"), "cached_tokens")])
        for token_type, amount in (("input", prompt), ("output", completion), ("cached_input", cached)):
            if amount:
                store.inc("tokens_used", (provider, served, team, token_type), amount)
        if cost:
            store.inc("spend_usd", (provider, served, team), cost)
        if retries:
            store.inc("retries", pm, retries)
        headers = _dict(_dict(slo.get("hidden_params")).get("additional_headers"))
        for metric, header in _RATELIMIT_HEADERS:
            value = headers.get(header)
            if isinstance(value, str):
                value = error_types.ascii_int(value)
            value = _float(value)
            if value is not None:
                store.set(metric, pm, value, now)
        for entity in self.budgets.observe(slo_meta):
            store.inc("budget_resets", (entity,))

    def _failure(self, request_data: dict, exc: object, user: object) -> None:
        now = time.time()
        if self.calls.next_due() is not None:
            self._tick(now)
        call_id = request_data.get("litellm_call_id")
        call = self.calls.get(call_id)
        if call is None and self.calls.ended_earlier(call_id):
            return  # a late failure hook for a request that ended without one: counted once
        if call is not None:
            if self.calls.end(call_id, calls.FAILURE, now) is None:
                return  # ended already (a disconnect, or a stream that ended alone): counted once
            self.calls.remember_error(call_id, exc)
            self._unload(call, now)
        self._request_failed(request_data.get("model"), exc, user, call.started if call is not None else None,
                             now, retries_meta=_dict(request_data.get("metadata")))

    def _request_failed(self, requested: object, exc: object, user: object, started: float | None, now: float,
                        retries_meta: Mapping | None = None, provider: object = None,
                        code: int | None = None, etype: str | None = None) -> None:
        code = error_types.status_code(exc) if code is None else code
        etype = error_types.error_type(exc, code) if etype is None else etype
        model = self._model(requested)
        provider = self._label("provider", getattr(exc, "llm_provider", None) or provider or None)
        team = self._label("team", getattr(user, "team_alias", None) or getattr(user, "team_id", None))
        status = str(code)
        self.store.inc("requests", (model, provider, team, status))
        self.store.inc("errors", (model, provider, team, self._label("error_type", etype), status))
        if started is not None:
            self._observe("request_duration_seconds", (model, provider), now - started)
        meta = retries_meta or {}
        (retries,) = self._amounts("async_post_call_failure_hook", [(meta.get("attempted_retries"), "attempted_retries")])
        if retries:
            self.store.inc("retries", (provider, self._model(meta.get("model_group") or requested)), retries)

    def _stream_ended(self, call_id: object, how: str, error: object, error_frame: bool) -> None:
        now = time.time()
        call = self.calls.get(call_id)
        if call is None:
            return
        self._unload(call, now)
        ended = self.calls.stream_ended(call_id, how, now, error, error_frame)
        if ended is not None:  # the client disconnected: the request ends here, as 499
            provider = (ended.attempt_labels or (None,))[0]
            self._request_failed(ended.model, None, ended.user, ended.started, now, provider=provider,
                                 code=CLIENT_CLOSED_STATUS, etype=CLIENT_CLOSED)
        self._tick(now)

    def _stream_ended_alone(self, call) -> None:
        """GRACE seconds after its stream ended, no terminal event came: end it from what was seen."""
        failed = call.stream_end == calls.RAISED or call.error_frame
        end = call.stream_ended_at
        if self.calls.end(call.call_id, calls.STREAM_FAILED if failed else calls.STREAM_EMPTY,
                          end + self.calls.grace) is None:
            return
        provider = (call.attempt_labels or (None,))[0]
        if failed:
            self._request_failed(call.model, call.error, call.user, call.started, end, provider=provider)
            return
        model, provider = self._model(call.model), self._label("provider", provider)
        team = self._label("team", getattr(call.user, "team_alias", None) or getattr(call.user, "team_id", None))
        self.store.inc("requests", (model, provider, team, "200"))
        self._observe("request_duration_seconds", (model, provider), end - call.started)

    def _settle(self, call) -> None:
        """SETTLE seconds after a request ended: attempts nobody reported (a stream broken mid-way,
        cancelled by a disconnect, or ended empty) are counted now, as what ended them."""
        n = call.unreported()
        if not n:
            return
        provider, group = call.attempt_labels or (None, None)
        pm = (self._label("provider", provider), self._model(group or call.model))
        if call.ended == calls.DISCONNECT:
            code, etype = CLIENT_CLOSED_STATUS, CLIENT_CLOSED
        elif call.ended == calls.STREAM_EMPTY or (call.ended == calls.SUCCESS and call.error is None):
            code, etype = 200, None
        else:
            code = error_types.status_code(call.error)
            etype = error_types.error_type(call.error, code)
        self.store.inc("provider_requests", (*pm, str(code)), n)
        if etype is not None:
            self.store.inc("provider_errors", (*pm, etype), n)
        if call.attempt_began is not None:  # the last attempt's duration, up to the end of its stream
            self._observe("provider_latency_seconds", pm, (call.stream_ended_at or call.ended_at) - call.attempt_began)

    def _failed_attempt(self, request_data: dict, exc: object) -> None:
        call_id = request_data.get("litellm_call_id")
        self.calls.remember_error(call_id, exc)
        if not self.calls.attempt_failed(call_id):
            return  # the same attempt reported twice (/v1/messages through the Responses API)
        meta = _dict(request_data.get("metadata")) or _dict(request_data.get("litellm_metadata"))
        provider = getattr(exc, "llm_provider", None)
        if not provider:
            deployment = str(request_data.get("model") or "")
            provider = deployment.split("/", 1)[0] if "/" in deployment else None
        pm = (self._label("provider", provider), self._model(meta.get("model_group")))
        code = error_types.status_code(exc)
        self.store.inc("provider_requests", (*pm, str(code)))
        self.store.inc("provider_errors", (*pm, error_types.error_type(exc, code)))
        logging_obj = request_data.get("litellm_logging_obj")
        details = _dict(getattr(logging_obj, "model_call_details", None))
        began = _epoch(details.get("api_call_start_time"))
        if began is not None:
            self._observe("provider_latency_seconds", pm, time.time() - began)

    async def _fallback(self, hook: str, original_model_group: Any, kwargs: Any, success: str) -> None:
        try:
            if self._ensure_process():
                kwargs = _dict(kwargs)
                to = kwargs.get("model") or _dict(kwargs.get("metadata")).get("model_group")
                self.store.inc("fallbacks", (self._model(original_model_group), self._model(to), success))
        except Exception as e:
            self._internal_error(hook, e)


__all__ = ["ObserveLogger", "OVERFLOW", "UNKNOWN", "UNLISTED"]
