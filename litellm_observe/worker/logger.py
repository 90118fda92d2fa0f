"""The CustomLogger the proxy calls: hook guards, label values, in-flight bookkeeping, and recording.

What a payload says is observations.py's job (pure); how a request ended is calls.py's; this module
turns observations into label values (clean, capped, checked against the proxy's model list) and
records them through the catalogue's named-label methods (rundir/record.py). Every hook is guarded:
nothing raises into LiteLLM; what cannot be recorded is counted in observe_internal_errors_total and
logged at a bounded rate.

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
import errno
import fnmatch
import logging
import math
import os
import sys
import time
from typing import Any, Callable, Iterable

from litellm.integrations.custom_logger import CustomLogger

from .. import compat, settings as settings_mod
from ..catalogue import INTERNAL_ERRORS
from ..rundir import protocol, runs
from ..rundir.record import Recorder
from ..rundir.writer import SampleWriter
from . import calls, observations as obs, router_view
from .budgets import BudgetResets
from .deployments import CooldownWatch
from .health import WorkerHealth
from .labels import OVERFLOW, UNKNOWN, UNLISTED, LabelCaps, clean

log = logging.getLogger("litellm_observe")

_MODEL_REFRESH_SECONDS = 10.0
_STORE_RETRY_SECONDS = 30.0  # a process whose sample file could not be created tries again this often
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
# Hooks that can count an internal error: their series exist from the start, so counting
# one never needs new space in the sample file (a full disk is itself an internal error).
HOOKS = ("async_pre_call_hook", "log_pre_api_call", "async_post_call_streaming_iterator_hook",
         "async_log_success_event", "async_log_failure_event", "async_post_call_failure_hook",
         "async_post_call_failure_deployment_hook", "log_success_fallback_event", "log_failure_fallback_event",
         "grace", "settle", "cooldowns", "worker_health", "worker_exit", "run_directory")
CLIENT_CLOSED = "client_disconnected"  # error_type of a request whose client went away mid-stream
CLIENT_CLOSED_STATUS = 499  # nginx's and LiteLLM's own code for a client that closed the request
_ERROR_FRAMES = (b"event: error", b"event:error", b'"type":"error"', b'"type": "error"', b"response.failed",
                 b'data: {"error"')


def _router_model_names() -> Iterable[str] | None:
    """The proxy's public model groups, or None outside a proxy."""
    router, in_proxy = router_view.current()
    if router is None:
        return () if in_proxy else None
    return router_view.group_names(router)


def _router() -> object | None:
    return router_view.current()[0]


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


def _duration(value: float | None) -> float | None:
    """A duration that may go into a histogram (a clock that went backwards gives none)."""
    return value if value is not None and math.isfinite(value) and value >= 0 else None


class ObserveLogger(CustomLogger):
    def __init__(self, settings: settings_mod.Settings | None = None, *, run_directory: str | None = None,
                 model_names: Callable[[], Iterable[str] | None] = _router_model_names,
                 caching_on: Callable[[], bool] = _caching_on, start_exporter: bool | None = None,
                 config_path: str | None = None, router: Callable[[], object | None] = _router):
        super().__init__()
        self.settings = settings if settings is not None else settings_mod.load(config_path)
        self._fixed_run_directory = run_directory
        self._model_names = model_names
        self._router = router
        self._tasks: set = set()
        self._caching_on = caching_on
        self._start_exporter = self.settings.exporter if start_exporter is None else start_exporter
        protocol.share_with_group(self.settings.metrics_dir_group_shared)
        self._pid = -1
        self.store: SampleWriter | None = None
        self.membership: runs.Membership | None = None
        self.rec: Recorder | None = None
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
        store could not be created (unwritable, full or unsafe directory) retries now and then."""
        if self._pid == os.getpid():
            if self.store is not None:
                if not self.health.probing:
                    self._start_probe()
                return True
            if time.monotonic() < self._retry_store_at:
                return False
        else:
            self._pid = os.getpid()
            self.store = self.rec = None
        root = None
        base = self._fixed_run_directory or protocol.base_dir(self.settings.metrics_dir)
        try:
            if self._fixed_run_directory:
                directory = protocol.prepare(self._fixed_run_directory)
            else:
                root = runs.current_root()
                if self.membership is not None and self.membership.pid == self._pid:
                    self.membership.close()  # a retry after a failure in this process (a forked child keeps its parent's)
                self.membership = runs.Membership(base, root.name)
                directory = self.membership.directory
                runs.remove_dead_runs(base, keep=root)
            store = SampleWriter(directory)
            for hook in HOOKS:
                store.reserve(INTERNAL_ERRORS.name, (hook,))
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
        self.store, self.rec = store, Recorder(store)
        self.run_directory = directory.path
        self.caps = LabelCaps(self._cap_for, directory, self._overflowed)
        self.budgets = BudgetResets(directory)
        self.cooldowns = CooldownWatch(directory, self._router)
        self._states: dict[tuple, float] = {}  # deployment labels -> the state this process wrote last
        self.health = WorkerHealth(self.rec, self._internal_error)
        self.health.started()
        self._start_probe()
        self.calls.clear()
        self._timer = self._timer_at = None
        _, warning = compat.startup_line()
        if warning and not self._warned_version:  # once per process; the exporter logs the line itself
            self._warned_version = True
            log.warning(warning)
        if root is not None:
            from .supervisor import ExporterSupervisor

            ExporterSupervisor(directory, root, self.settings, keep_run=self.keep_run,
                               start_exporters=self._start_exporter).start()
        return True

    def keep_run(self) -> bool:
        """Called by the supervisor every few seconds. When the run directory (or this process's sample file)
        was removed under this process, by a cleaner that ignores locks or by hand: make it again, publish
        this process's sample file there again, every value kept, and go on counting. The first process of
        the run to notice logs it and counts it in observe_internal_errors{hook="run_directory"}; the
        exporter keeps what the run's dead workers had left (exporter/service.py). True when it did."""
        membership, store = self.membership, self.store
        if membership is None or store is None or membership.pid != os.getpid():
            return False
        lost = membership.lost()
        if not lost and not store.unlinked():
            return False
        try:
            directory = membership.rejoin() if lost else membership.directory
            store.republish(directory)
        except OSError as e:
            self._internal_error("run_directory", e)
            return False
        if protocol.first_to_notice(directory):
            self.rec.observe_internal_errors(hook="run_directory")  # reserved: needs no new space
            log.error("litellm_observe: the run directory %s was removed while the proxy ran (by a cleaner of old "
                      "files that ignores locks, or by hand); made it again: every worker's counts are kept, those of "
                      "workers that ended in the last second before may be lost. Keep metrics_dir where no cleaner "
                      "runs (README: Containers and cleaners).", directory.path)
        return True

    def _start_probe(self) -> None:
        """The loop-lag probe needs this worker's event loop: the proxy builds the logger inside it at
        start-up; elsewhere the first hook that runs in a loop starts it."""
        try:
            self.health.start_probe(asyncio.get_running_loop())
        except RuntimeError:
            pass  # no running loop here

    # ---- label values ------------------------------------------------------------------------
    def _cap_for(self, label: str) -> int:
        """`entity.<type>`: budget entities are capped per entity type, with the `entity` cap."""
        return self.settings.cap_for(label.split(".", 1)[0])

    def _overflowed(self, label: str) -> None:
        self.rec.observe_label_overflow(label=label.split(".", 1)[0])

    def _label(self, name: str, value: object) -> str:
        return self.caps.admit(name, clean(value))

    def _team(self, value: object) -> str:
        return self.caps.admit("team", clean(value))

    def _model(self, name: object) -> str:
        """A model group label: a group of the proxy's model list (or the wildcard entry it matches),
        `unlisted` for any other name, `unknown` when missing."""
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
                match = next((p for p in self._patterns if fnmatch.fnmatchcase(value, p)), None)
                if match is None:
                    return UNLISTED
                value = match
        return self.caps.admit("model", value)

    # ---- internal errors ---------------------------------------------------------------------
    def _internal_error(self, hook: str, exc: BaseException | None = None, detail: str = "") -> None:
        try:
            if self.rec is not None:
                self.rec.observe_internal_errors(hook=hook)  # reserved: needs no new space
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

    def _problems(self, hook: str, problems: list[str]) -> None:
        for problem in problems:
            self._internal_error(hook, detail=problem)

    # ---- calls in flight and how they end (calls.py) ---------------------------------------
    def _begin(self, start: obs.RequestStart, user: object) -> None:
        now = time.monotonic()
        if self.calls.begin(start.call_id, now, start.model, user) is None:
            return
        self.rec.current_load(delta=1.0, when=time.time())
        if now >= self._next_sweep:
            self._sweep(now)

    def _unload(self, call) -> None:
        """The request stops counting in flight (end of stream, or its end, whichever is first)."""
        if call is not None and call.in_load:
            call.in_load = False
            self.rec.current_load(delta=-1.0, when=time.time())

    def _sweep(self, now: float) -> None:
        """Requests that never ended (no event at all) stop counting in flight after the timeout."""
        self._next_sweep = now + 30.0
        for call in self.calls.stale(now - self.settings.inflight_timeout_seconds):
            self._unload(call)

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
        """Settle what is due by `now` on the monotonic clock (default: the present); the event loop's
        timer does this in a proxy, tests call it with a time in the future."""
        if self._ensure_process():
            self._tick(time.monotonic() if now is None else now)

    def _wake(self, due: float) -> None:
        """Make sure the event loop runs _tick by `due`, even if no hook comes (one timer at a time)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop here: the next hook settles what is due
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = due
        self._timer = loop.call_later(max(0.0, due - time.monotonic()) + 0.01, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        try:
            if self.store is not None and self._pid == os.getpid():
                self._tick(time.monotonic())
        except Exception as e:
            self._internal_error("settle", e)

    # ---- hooks -------------------------------------------------------------------------------
    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):
        try:
            if self._ensure_process():
                self._begin(obs.request_start(data), user_api_key_dict)
        except Exception as e:
            self._internal_error("async_pre_call_hook", e)
        return None

    def log_pre_api_call(self, model, messages, kwargs):
        """Once per upstream attempt (retries and fallback steps too; not for cache hits)."""
        try:
            if self.store is not None and self._pid == os.getpid():
                start = obs.attempt_start(kwargs)
                if self.calls.known(start.call_id):
                    self.calls.attempt_started(start.call_id, time.monotonic(),
                                               (start.provider, start.model_group, start.deployment))
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
                    self._stream_ended(obs.mapping(request_data).get("litellm_call_id"), how, error, error_frame)
            except Exception as e:
                self._internal_error("async_post_call_streaming_iterator_hook", e)

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        try:
            if self._ensure_process():
                self._success(obs.success(kwargs))
        except Exception as e:
            self._internal_error("async_log_success_event", e)

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):
        """Not counted (it fires once for several failed attempts, or once per attempt, depending
        on the path): only remembered, to say why a stream that ended alone failed."""
        try:
            if self._ensure_process():
                o = obs.failure_event(kwargs)
                self.calls.remember_error(o.call_id, o.error)
                if o.guardrails:  # a request a guardrail blocked: its runs are only here
                    self._guardrails(o.call_id, o.guardrails, time.monotonic())
        except Exception as e:
            self._internal_error("async_log_failure_event", e)

    async def async_post_call_failure_hook(self, request_data, original_exception, user_api_key_dict,
                                           traceback_str=None):
        try:
            if self._ensure_process():
                self._failure(obs.failure(request_data, original_exception, user_api_key_dict), original_exception)
        except Exception as e:
            self._internal_error("async_post_call_failure_hook", e)
        return None

    async def async_post_call_failure_deployment_hook(self, request_data, exception, call_type, fallback_depth=None):
        try:
            if self._ensure_process():
                self._failed_attempt(obs.failed_attempt(request_data, exception), exception)
        except Exception as e:
            self._internal_error("async_post_call_failure_deployment_hook", e)
        return None

    async def log_success_fallback_event(self, original_model_group, kwargs, original_exception):
        self._fallback("log_success_fallback_event", obs.fallback, original_model_group, kwargs, True)

    async def log_failure_fallback_event(self, original_model_group, kwargs, original_exception):
        self._fallback("log_failure_fallback_event", obs.fallback, original_model_group, kwargs, False)

    # ---- what each observation records -------------------------------------------------------
    def _success(self, o: obs.Success) -> None:
        # deadlines and what this process timed itself run on the monotonic clock (a wall clock step
        # never moves them); LiteLLM's timestamps and the gauges' `when` are wall clock
        mono, now = time.monotonic(), time.time()
        book = self.calls
        if book.next_due() is not None:
            self._tick(mono)
        call = book.get(o.call_id)
        # request level once: unless a disconnect or a stream that ended alone ended it already
        # (LiteLLM sends a success event for billing after a client disconnect)
        if call is None:
            request_level = not book.ended_earlier(o.call_id)
        else:
            if not o.cache_hit:
                call.succeeded += 1  # this attempt is reported (calls.py)
            request_level = book.end_call(call, calls.SUCCESS, mono) is not None
            self._unload(call)
        if o.problems:
            self._problems("async_log_success_event", o.problems)
        rec = self.rec
        provider = self._label("provider", o.provider)
        served = self._model(o.model_group)
        model = self._model(o.requested) if o.requested else served
        team = self._team(o.team)
        if request_level:
            rec.requests(model=model, provider=provider, team=team, status_code="200")
            if o.ended is None:
                d = None
            elif call is not None:  # from the pre-call hook (monotonic) to LiteLLM's end (wall), step-proof
                d = _duration((o.ended - now) + (mono - call.started))
            else:
                d = _duration(o.ended - o.started) if o.started is not None else None
            if d is not None:
                rec.request_duration_seconds(model=model, provider=provider, value=d)
            if o.cache_hit:
                rec.cache_hits(model=served)
            if call is not None:
                self._retries(call)
            elif o.retries:  # a request this process saw no start of: the router's own count
                rec.retries(provider=provider, model=served, amount=o.retries)
        if o.overhead is not None:
            rec.overhead_latency_seconds(model=model, provider=provider, value=o.overhead)
        if o.guardrails:
            self._guardrails(o.call_id, o.guardrails, mono)
        if o.cache_hit:
            return  # no upstream call: no attempt, tokens or spend
        if self._caching_on():
            rec.cache_misses(model=served)
        deployment = self._label("deployment", o.deployment)
        rec.provider_requests(provider=provider, model=served, deployment=deployment, status_code="200")
        self._state(provider, served, deployment, 0.0, now)
        if o.started is not None and o.ended is not None and (d := _duration(o.ended - o.started)) is not None:
            rec.provider_latency_seconds(provider=provider, model=served, deployment=deployment, value=d)
        if o.stream and o.first_token is not None and o.started is not None:
            if (d := _duration(o.first_token - o.started)) is not None:
                rec.time_to_first_token_seconds(provider=provider, model=served, value=d)
            completion = o.completion_tokens
            if completion is not None and completion > 1 and o.ended is not None:
                if (d := _duration((o.ended - o.first_token) / (completion - 1))) is not None:
                    rec.time_per_output_token_seconds(provider=provider, model=served, value=d)
        if o.prompt_tokens:
            rec.tokens_used(provider=provider, model=served, team=team, token_type="input", amount=o.prompt_tokens)
        if o.completion_tokens:
            rec.tokens_used(provider=provider, model=served, team=team, token_type="output",
                            amount=o.completion_tokens)
        if o.cached_tokens:
            rec.tokens_used(provider=provider, model=served, team=team, token_type="cached_input",
                            amount=o.cached_tokens)
        if o.reasoning_tokens:
            rec.tokens_used(provider=provider, model=served, team=team, token_type="reasoning",
                            amount=o.reasoning_tokens)
        if o.cache_creation_tokens:
            rec.tokens_used(provider=provider, model=served, team=team, token_type="cache_creation_input",
                            amount=o.cache_creation_tokens)
        if o.audio_input_tokens:
            rec.tokens_used(provider=provider, model=served, team=team, token_type="audio_input",
                            amount=o.audio_input_tokens)
        if o.audio_output_tokens:
            rec.tokens_used(provider=provider, model=served, team=team, token_type="audio_output",
                            amount=o.audio_output_tokens)
        if o.cost:
            rec.spend_usd(provider=provider, model=served, team=team, amount=o.cost)
        elif o.prompt_tokens or o.completion_tokens:
            rec.unpriced_requests(provider=provider, model=served)
        if o.requests_remaining is not None:
            rec.requests_remaining(provider=provider, model=served, value=o.requests_remaining, when=now)
        if o.requests_limit is not None:
            rec.requests_limit(provider=provider, model=served, value=o.requests_limit, when=now)
        if o.tokens_remaining is not None:
            rec.tokens_remaining(provider=provider, model=served, value=o.tokens_remaining, when=now)
        if o.tokens_limit is not None:
            rec.tokens_limit(provider=provider, model=served, value=o.tokens_limit, when=now)
        for entity in self.budgets.observe(o.budget_sightings):
            rec.budget_resets(entity_type=entity)
        for b in o.budgets:
            entity = self._label("entity." + b.entity_type, b.entity)
            rec.budget_max_usd(entity_type=b.entity_type, entity=entity, value=b.max_usd, when=now)
            if b.remaining_usd is not None:
                rec.budget_remaining_usd(entity_type=b.entity_type, entity=entity, value=b.remaining_usd, when=now)
            if b.reset_at is not None:
                rec.budget_reset_seconds(entity_type=b.entity_type, entity=entity, value=b.reset_at, when=now)

    def _state(self, provider: str, model: str, deployment: str, state: float, now: float) -> None:
        """A deployment's state as this process saw it last (deployment_state is a most-recent gauge)."""
        self.rec.deployment_state(provider=provider, model=model, deployment=deployment, value=state, when=now)
        self._states[(provider, model, deployment)] = state

    def _retries(self, call) -> None:
        """At a request's end: the retries within each model group it tried (calls.py)."""
        if call.groups is not None:
            for provider, group, n in call.retries():
                self.rec.retries(provider=self._label("provider", provider), model=self._model(group), amount=n)

    def _guardrails(self, call_id: object, runs: list, now: float) -> None:
        for run in runs:
            if isinstance(call_id, str) and not self.calls.first_guardrail_report(
                    (call_id, run.name if isinstance(run.name, str) else None, run.hook, run.started), now):
                continue
            guardrail, hook = self._label("guardrail", run.name), self._label("hook", run.hook)
            self.rec.guardrail_requests(guardrail=guardrail, hook=hook, outcome=run.outcome)
            if run.duration is not None:
                self.rec.guardrail_latency_seconds(guardrail=guardrail, hook=hook, value=run.duration)

    def _failure(self, o: obs.Failure, exc: object) -> None:
        now = time.monotonic()
        if self.calls.next_due() is not None:
            self._tick(now)
        call = self.calls.get(o.call_id)
        if call is None and self.calls.ended_earlier(o.call_id):
            return  # a late failure hook for a request that ended without one: counted once
        if call is not None:
            if self.calls.end(o.call_id, calls.FAILURE, now) is None:
                return  # ended already (a disconnect, or a stream that ended alone): counted once
            self.calls.remember_error(o.call_id, exc)
            self._unload(call)
        if o.problems:
            self._problems("async_post_call_failure_hook", o.problems)
        self._request_failed(o.model, o.provider, o.team, o.status_code, o.error_type,
                             call.started if call is not None else None, now)
        if call is not None:
            self._retries(call)
        elif o.retries:  # a request this process saw no start of: the router's own count
            self.rec.retries(provider=self._label("provider", o.provider), model=self._model(o.retries_group),
                             amount=o.retries)

    def _request_failed(self, requested: object, provider: object, team: object, code: int, etype: str,
                        started: float | None, now: float) -> None:
        model, provider, status = self._model(requested), self._label("provider", provider), str(code)
        team = self._team(team)
        self.rec.requests(model=model, provider=provider, team=team, status_code=status)
        self.rec.errors(model=model, provider=provider, team=team, error_type=self._label("error_type", etype),
                        status_code=status)
        if started is not None and (d := _duration(now - started)) is not None:
            self.rec.request_duration_seconds(model=model, provider=provider, value=d)

    def _stream_ended(self, call_id: object, how: str, error: object, error_frame: bool) -> None:
        now = time.monotonic()
        call = self.calls.get(call_id)
        if call is None:
            return
        self._unload(call)
        ended = self.calls.stream_ended(call_id, how, now, error, error_frame)
        if ended is not None:  # the client disconnected: the request ends here, as 499
            self._request_failed(ended.model, (ended.attempt_labels or (None,))[0], obs.team_of(ended.user),
                                 CLIENT_CLOSED_STATUS, CLIENT_CLOSED, ended.started, now)
            self._retries(ended)
        self._tick(now)

    def _stream_ended_alone(self, call) -> None:
        """GRACE seconds after its stream ended, no terminal event came: end it from what was seen."""
        failed = call.stream_end == calls.RAISED or call.error_frame
        end = call.stream_ended_at
        if self.calls.end(call.call_id, calls.STREAM_FAILED if failed else calls.STREAM_EMPTY,
                          end + self.calls.grace) is None:
            return
        self._retries(call)
        provider = (call.attempt_labels or (None,))[0]
        if failed:
            o = obs.failure({"model": call.model}, call.error, call.user)
            self._request_failed(call.model, o.provider or provider, o.team, o.status_code, o.error_type,
                                 call.started, end)
            return
        model, provider = self._model(call.model), self._label("provider", provider)
        self.rec.requests(model=model, provider=provider, team=self._team(obs.team_of(call.user)), status_code="200")
        if (d := _duration(end - call.started)) is not None:
            self.rec.request_duration_seconds(model=model, provider=provider, value=d)

    def _settle(self, call) -> None:
        """SETTLE seconds after a request ended: attempts nobody reported (a stream broken mid-way,
        cancelled by a disconnect, or ended empty) are counted now, as what ended them."""
        n = call.unreported()
        if not n:
            return
        provider, group, deployment = (tuple(call.attempt_labels or ()) + (None,) * 3)[:3]
        provider, model = self._label("provider", provider), self._model(group or call.model)
        deployment = self._label("deployment", deployment)
        if call.ended == calls.DISCONNECT:
            code, etype = CLIENT_CLOSED_STATUS, CLIENT_CLOSED
        elif call.ended == calls.STREAM_EMPTY or (call.ended == calls.SUCCESS and call.error is None):
            code, etype = 200, None
        else:
            o = obs.failure({}, call.error, None)
            code, etype = o.status_code, o.error_type
        self.rec.provider_requests(provider=provider, model=model, deployment=deployment, status_code=str(code),
                                   amount=n)
        if etype is not None:
            self.rec.provider_errors(provider=provider, model=model, deployment=deployment, error_type=etype, amount=n)
        began, ended = call.attempt_began, call.stream_ended_at or call.ended_at
        if began is not None and (d := _duration(ended - began)) is not None:  # the last attempt's duration
            self.rec.provider_latency_seconds(provider=provider, model=model, deployment=deployment, value=d)

    def _failed_attempt(self, o: obs.FailedAttempt, exc: object) -> None:
        self.calls.remember_error(o.call_id, exc)
        if not self.calls.attempt_failed(o.call_id):
            return  # the same attempt reported twice (/v1/messages through the Responses API)
        now = time.time()
        provider, model = self._label("provider", o.provider), self._model(o.model_group)
        deployment = self._label("deployment", o.deployment)
        self.rec.provider_requests(provider=provider, model=model, deployment=deployment,
                                   status_code=str(o.status_code))
        self.rec.provider_errors(provider=provider, model=model, deployment=deployment, error_type=o.error_type)
        self._state(provider, model, deployment, 1.0, now)
        if o.began is not None and (d := _duration(now - o.began)) is not None:
            self.rec.provider_latency_seconds(provider=provider, model=model, deployment=deployment, value=d)
        if self.cooldowns.failed(time.monotonic()):
            self._read_cooldowns_at(self.cooldowns.next_read)

    # ---- cooldowns (deployments.py) ----------------------------------------------------------
    def _read_cooldowns_at(self, when: float) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (a test driving hooks by hand): read_cooldowns() is called directly
        loop.call_later(max(0.0, when - time.monotonic()), self._start_read, loop)

    def _start_read(self, loop: asyncio.AbstractEventLoop) -> None:
        task = loop.create_task(self.read_cooldowns())
        self._tasks.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._tasks.discard)

    async def read_cooldowns(self) -> None:
        """Read the router's cooldowns; record cooldowns begun and deployment states."""
        try:
            if self.store is None or self._pid != os.getpid():
                return
            reading = await self.cooldowns.read()
            if reading is None:
                return
            now = time.time()
            for e in reading.errors:
                self._internal_error("cooldowns", e)
            for cooldown in reading.started:
                d = cooldown.deployment
                provider, model = self._label("provider", d.provider), self._model(d.group)
                self.rec.deployment_cooldowns(provider=provider, model=model, deployment=self._label("deployment", d.name),
                                              reason=self._label("reason", cooldown.reason))
            for d in reading.active:
                self._state(self._label("provider", d.provider), self._model(d.group), self._label("deployment", d.name),
                            2.0, now)
            for d in reading.lapsed:  # back to partial outage, unless a call this process saw since says otherwise
                labels = (self._label("provider", d.provider), self._model(d.group), self._label("deployment", d.name))
                if self._states.get(labels) == 2.0:
                    self._state(*labels, 1.0, now)
            if self.cooldowns.next_read is not None:
                self._read_cooldowns_at(self.cooldowns.next_read)
        except Exception as e:
            self._internal_error("cooldowns", e)

    def _fallback(self, hook: str, parse: Callable, original_model_group: Any, kwargs: Any, success: bool) -> None:
        try:
            if self._ensure_process():
                o = parse(original_model_group, kwargs, success)
                self.rec.fallbacks(from_model=self._model(o.from_group), to_model=self._model(o.to_group),
                                   success="true" if o.success else "false")
        except Exception as e:
            self._internal_error(hook, e)


__all__ = ["ObserveLogger", "OVERFLOW", "UNKNOWN", "UNLISTED"]
