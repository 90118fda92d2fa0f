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

import datetime
import errno
import logging
import math
import os
import sys
import threading
import time
from bisect import bisect_left
from collections.abc import Mapping
from typing import Any, Callable, Iterable

from litellm.integrations.custom_logger import CustomLogger

from .. import catalogue, settings as settings_mod
from ..catalogue import Kind
from ..rundir import protocol
from . import error_types
from .budgets import BudgetResets
from .labels import OVERFLOW, UNKNOWN, UNLISTED, LabelCaps, clean
from .store import WorkerStore

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
HOOKS = ("async_pre_call_hook", "async_post_call_streaming_iterator_hook", "async_log_success_event",
         "async_post_call_failure_hook", "async_post_call_failure_deployment_hook", "log_success_fallback_event",
         "log_failure_fallback_event")


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


def _caching_on() -> bool:
    return getattr(sys.modules.get("litellm"), "cache", None) is not None  # no import on the hot path


class ObserveLogger(CustomLogger):
    def __init__(self, settings: settings_mod.Settings | None = None, *, run_directory: str | None = None,
                 model_names: Callable[[], Iterable[str] | None] = _router_model_names,
                 caching_on: Callable[[], bool] = _caching_on, start_exporter: bool | None = None,
                 config_path: str | None = None):
        super().__init__()
        self.settings = settings if settings is not None else settings_mod.load(config_path)
        self._config_path = config_path or settings_mod.proxy_config_path()
        self._fixed_run_directory = run_directory
        self._model_names = model_names
        self._caching_on = caching_on
        self._start_exporter = self.settings.exporter if start_exporter is None else start_exporter
        self._pid = -1
        self.store: WorkerStore | None = None
        self.run_directory: str | None = None
        self._known_models: set[str] = set()
        self._patterns: list[str] = []
        self._models_checked = 0.0
        self._any_model = False  # outside a proxy (no model list): every name is a model group
        self._inflight: dict[str, list] = {}  # call id -> [start epoch, still counted in current_load]
        self._inflight_lock = threading.Lock()
        self._next_sweep = 0.0
        self._error_log_at: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self.disabled_reason: str | None = None
        self._retry_store_at = 0.0
        self._disk_full_logged = False
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
        try:
            if self._fixed_run_directory:
                directory = protocol.prepare(self._fixed_run_directory)
            else:
                base = protocol.base_dir(self.settings.metrics_dir)
                root = protocol.current_root()
                directory = protocol.run_dir(base, root)
                protocol.remove_dead_runs(base, keep=root)
            store = WorkerStore(directory)
            for hook in HOOKS:
                store.reserve("observe_internal_errors", (hook,))
        except OSError as e:
            self._retry_store_at = time.monotonic() + _STORE_RETRY_SECONDS
            if self.disabled_reason is None:
                self.disabled_reason = (f"cannot write metrics to {e.filename or self.settings.metrics_dir}: "
                                        f"{e.strerror or e}")
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
        self._inflight.clear()
        if self._start_exporter and root is not None:
            from .supervisor import ExporterSupervisor

            ExporterSupervisor(directory, root, self.settings, self._config_path).start()
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

    # ---- in flight ---------------------------------------------------------------------------
    def _begin(self, call_id: object) -> None:
        if not isinstance(call_id, str):
            return
        now = time.time()
        with self._inflight_lock:
            if call_id in self._inflight:
                return
            self._inflight[call_id] = [now, True]
        self.store.add("current_load", (), 1.0, now)
        if now >= self._next_sweep:
            self._sweep(now)

    def _release(self, call_id: object) -> float | None:
        """Stop counting a request as in flight; returns when it started, if known."""
        if not isinstance(call_id, str):
            return None
        with self._inflight_lock:
            entry = self._inflight.get(call_id)
            if entry is None or not entry[1]:
                return entry[0] if entry else None
            entry[1] = False
        self.store.add("current_load", (), -1.0, time.time())
        return entry[0]

    def _finish(self, call_id: object) -> float | None:
        """The request ended: forget it (one lock), returns when it started, if known."""
        if not isinstance(call_id, str):
            return None
        with self._inflight_lock:
            entry = self._inflight.pop(call_id, None)
        if entry is None:
            return None
        if entry[1]:
            self.store.add("current_load", (), -1.0, time.time())
        return entry[0]

    def _sweep(self, now: float) -> None:
        """Requests that never ended (a client gone mid-request with no event) stop counting."""
        self._next_sweep = now + 30.0
        cutoff = now - self.settings.inflight_timeout_seconds
        with self._inflight_lock:
            stale = [cid for cid, (start, _) in self._inflight.items() if start < cutoff]
        for cid in stale:
            self._finish(cid)

    def inflight(self) -> int:
        return sum(1 for _, counted in self._inflight.values() if counted)

    # ---- hooks -------------------------------------------------------------------------------
    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):
        try:
            if self._ensure_process():
                self._begin(_dict(data).get("litellm_call_id"))
        except Exception as e:
            self._internal_error("async_pre_call_hook", e)
        return None

    async def async_post_call_streaming_iterator_hook(self, user_api_key_dict, response, request_data):
        try:
            async for item in response:
                yield item
        finally:
            try:
                if self._ensure_process():
                    self._release(_dict(request_data).get("litellm_call_id"))
            except Exception as e:
                self._internal_error("async_post_call_streaming_iterator_hook", e)

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        try:
            if self._ensure_process():
                self._success(_dict(kwargs))
        except Exception as e:
            self._internal_error("async_log_success_event", e)

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
        slo = _dict(kwargs.get("standard_logging_object"))
        meta = _dict(_dict(kwargs.get("litellm_params")).get("metadata"))
        slo_meta = _dict(slo.get("metadata"))
        store = self.store
        provider = self._label("provider", slo.get("custom_llm_provider") or kwargs.get("custom_llm_provider"))
        served = self._model(slo.get("model_group") or meta.get("model_group"))
        requested = meta.get("original_model_group")
        model = self._model(requested) if requested and requested != slo.get("model_group") else served
        team = self._label("team", slo_meta.get("user_api_key_team_alias") or slo_meta.get("user_api_key_team_id"))
        started = self._finish(kwargs.get("litellm_call_id"))
        st, et = _epoch(slo.get("startTime")), _epoch(slo.get("endTime"))
        if st is None:
            st = _epoch(kwargs.get("start_time")) if "start_time" in kwargs else None
        store.inc("requests", (model, provider, team, "200"))
        first = started if started is not None else st
        if et is not None and first is not None:
            self._observe("request_duration_seconds", (model, provider), et - first)
        cache_hit = slo.get("cache_hit") if "cache_hit" in slo else kwargs.get("cache_hit")
        if cache_hit is True:
            store.inc("cache_hits", (served,))
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
        now = time.time()
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
        code = error_types.status_code(exc)
        etype = error_types.error_type(exc, code)
        model = self._model(request_data.get("model"))
        provider = getattr(exc, "llm_provider", None) or None
        provider = self._label("provider", provider)
        team = self._label("team", getattr(user, "team_alias", None) or getattr(user, "team_id", None))
        started = self._finish(request_data.get("litellm_call_id"))
        status = str(code)
        self.store.inc("requests", (model, provider, team, status))
        self.store.inc("errors", (model, provider, team, self._label("error_type", etype), status))
        if started is not None:
            self._observe("request_duration_seconds", (model, provider), time.time() - started)
        meta = _dict(request_data.get("metadata"))
        (retries,) = self._amounts("async_post_call_failure_hook", [(meta.get("attempted_retries"), "attempted_retries")])
        if retries:
            self.store.inc("retries", (provider, self._model(meta.get("model_group") or request_data.get("model"))),
                           retries)

    def _failed_attempt(self, request_data: dict, exc: object) -> None:
        meta = _dict(request_data.get("metadata"))
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
