"""What each observation records: label values from labels.py's Labeller, written through the Recorder
(rundir/record.py). No hook, no event loop, no decision about how a request ended (calls.py and flow.py
decide; this module is told), so it is tested with a Recorder, a Labeller and observations alone.

Deadlines and what this process timed itself run on the monotonic clock (`mono`: a wall clock step never
moves them); LiteLLM's timestamps and the gauges' `when` are wall clock (`now`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from ..catalogue import ENTITY_TYPES
from ..rundir.record import Recorder, Slots
from . import observations as obs
from .budgets import BudgetResets
from .callers import Callers
from .calls import Call, CallBook
from .deployments import Reading
from .labels import OVERFLOW, UNKNOWN, UNLISTED, Labeller
from .series import (
    ATTEMPT_ERRORS,
    ATTEMPT_LATENCY,
    ATTEMPT_REQUESTS,
    ATTEMPT_STATE,
    AUDIO_INPUT_TOKENS,
    AUDIO_OUTPUT_TOKENS,
    BUDGET_MAX,
    BUDGET_REMAINING,
    BUDGET_RESET,
    CACHE_CREATION_TOKENS,
    CACHE_HITS,
    CACHE_MISSES,
    CACHED_INPUT_TOKENS,
    DEPLOYMENT_STATE,
    FAILED_DURATION,
    FAILED_ERRORS,
    FAILED_REQUESTS,
    INPUT_TOKENS,
    MAX_CACHED,
    OUTPUT_TOKENS,
    OVERHEAD,
    PROVIDER_LATENCY,
    PROVIDER_REQUESTS,
    RATELIMIT,
    REASONING_TOKENS,
    REQUEST_DURATION,
    REQUESTS,
    SPEND,
    TIME_PER_OUTPUT_TOKEN,
    TIME_TO_FIRST_TOKEN,
    UNPRICED,
    AttemptFailureSeries,
    RequestFailureSeries,
    SeriesCache,
    SuccessSeries,
)

CLIENT_CLOSED = "client_disconnected"  # error_type of a request whose client went away mid-stream
CLIENT_CLOSED_STATUS = 499  # nginx's and LiteLLM's own code for a client that closed the request
HEALTHY, PARTIAL_OUTAGE, COMPLETE_OUTAGE = 0.0, 1.0, 2.0  # deployment_state (catalogue.DEPLOYMENT_STATES)
_BUDGET_SLOTS = 6  # a budget's three gauges, each a value and when (Recording._budget_gauges)
_ENTITY_LABELS = {t: "entity." + t for t in ENTITY_TYPES}  # the label name of each entity type's cap (labels.py)


def duration(value: float | None) -> float | None:
    """A duration that may go into a histogram (a clock that went backwards gives none). On a success's path the
    same test is written inline, `0.0 <= d < INFINITY` for a float d (false for NaN, infinity and a negative): two
    to four calls a success request fewer (tests/worker/test_recording.py checks the two agree)."""
    return value if value is not None and math.isfinite(value) and value >= 0 else None


INFINITY = math.inf
_FAILED_COUNTS = (FAILED_REQUESTS, FAILED_ERRORS)  # a failed request's two counters (Slots.inc_each)
_ATTEMPT_COUNTS = (ATTEMPT_REQUESTS, ATTEMPT_ERRORS)  # a failed attempt's
_S = TypeVar("_S", bound=Slots)


class SeriesByRaw(Generic[_S]):
    """Series of one kind remembered by the raw values they are labelled from (Recording.__init__ says when). An
    entry holds while `labels`' answers hold: when its generation moves (the model list read anew), all go."""

    __slots__ = ("_labels", "_by_raw", "_generation")

    def __init__(self, labels: Labeller):
        self._labels = labels
        self._by_raw: dict[tuple[object, ...], _S] = {}
        self._generation = labels.generation

    def get(self, raw: tuple[object, ...]) -> _S | None:
        """The series remembered for `raw`, or None (also for an unhashable raw value: labelled, not remembered)."""
        if self._labels.generation != self._generation:
            self.clear()
        try:
            return self._by_raw.get(raw)
        except TypeError:
            return None

    def keep(self, raw: tuple[object, ...], texts: tuple[object, ...], key: tuple[str, ...], s: _S) -> None:
        """Remember series `s`, labelled `key`, by its `raw` values, unless a raw value that labelling reads
        (`texts`) is neither text nor None (an int and a bool can be equal keys yet other labels), or `key` holds an
        `overflow` or an `unlisted`."""
        if OVERFLOW in key or UNLISTED in key:
            return
        for value in texts:
            if value is not None and type(value) is not str:
                return
        if len(self._by_raw) >= MAX_CACHED:
            self._by_raw.clear()
        self._by_raw[raw] = s

    def clear(self) -> None:
        self._by_raw.clear()
        self._generation = self._labels.generation


class Recording:
    """Records observations for one process. `states` remembers the deployment state this process wrote last
    for each deployment (deployment_state is a most-recent gauge; a cooldown that lapsed goes back to partial
    outage only if nothing this process saw since said otherwise)."""

    def __init__(
        self,
        rec: Recorder,
        labels: Labeller,
        calls: CallBook,
        budgets: BudgetResets,
        caching_on: Callable[[], bool],
        batched: bool = False,
    ):
        self.rec = rec
        self.batched = batched  # budgets and in-flight changes kept for write_kept at each batch's end, else
        # written at once; in batches every act runs under the process's batch lock (process.py), write_kept too
        self.labels = labels
        self._calls = calls  # guardrail runs are counted once per run (calls.first_guardrail_report)
        self._budgets = budgets
        self._caching_on = caching_on
        self._series = SeriesCache(rec)
        # The series of a success, a failed request and a failed attempt by their raw values (what the
        # observation holds: for a success the model asked for, group, provider, team, endpoint, cache hit, and
        # the deployment's model id, model and api_base, named only when labelled), for as long as the labeller's
        # answers hold (its generation): found in one lookup, not labelled value by value. Only text (or None) raw
        # values, and never a label set with an `overflow` or `unlisted` in it (the labeller counts the one and
        # looks the other up again at every sighting), so an entry is what labelling would give now (SeriesByRaw).
        # At most MAX_CACHED entries each (emptied when full).
        self._success_by_raw: SeriesByRaw[SuccessSeries] = SeriesByRaw(labels)
        self._request_failure_by_raw: SeriesByRaw[RequestFailureSeries] = SeriesByRaw(labels)
        self._attempt_failure_by_raw: SeriesByRaw[AttemptFailureSeries] = SeriesByRaw(labels)
        self.states: dict[tuple[str, str, str], float] = {}
        # Budgets wait for write_kept (the end of each batch): by (entity type, entity label), each gauge's
        # latest value and when, in BudgetSeries' order (value, when, value, when, ...; None: not read); by
        # (entity type, id), each entity's latest sighting and when
        self._budget_gauges: dict[tuple[str, str], list[float | None]] = {}
        # ... and the same lists by (entity type, raw entity) for the entities this batch labelled: one lookup a
        # reading, not a label call. Only text entities, never one labelled `overflow` (counted at every reading,
        # so labelled at every reading); the labeller's answer for the rest holds for the run (an admitted value
        # stays admitted), and a label is asked for at an entity's first reading in the batch, in arrival order,
        # as admission needs
        self._budget_gauges_by_raw: dict[tuple[str, str], list[float | None]] = {}
        self._budget_sightings: dict[tuple[str, str], tuple[obs.BudgetSighting, float]] = {}
        # In-flight changes wait for write_kept too: by endpoint, the sum of the batch's +1s and -1s and the
        # latest time (a request that starts and ends in one batch writes nothing but that time)
        self._loads: dict[str, list[float]] = {}

    # ---- request level ---------------------------------------------------------------------------
    def success(self, o: obs.Success, call: Call | None, request_level: bool, mono: float, now: float) -> None:
        """A success event; `request_level`: it is the request's end (calls.py said so), so the request counts.
        Its series are written by index (series.py), under one take of the writer's lock."""
        endpoint = o.endpoint if call is None else call.endpoint
        raw = (o.requested, o.model_group, o.provider, o.team, endpoint, o.cache_hit, o.model_id, o.model, o.api_base)
        s = self._success_by_raw.get(raw)
        if s is None:
            s = self._success_series(raw, endpoint)
        callers = o.callers if call is None else call.callers
        if callers:  # labelled once per event, so an overflow is counted once
            callers = self.caller_labels(callers)
        if o.guardrails:
            self.guardrails(o.call_id, o.guardrails, mono)
        if request_level:
            if callers:
                self.caller_requests(callers, "200")
            if call is not None:
                self.retries(call)
            elif o.retries:  # a request this process saw no start of: the router's own count
                self.rec.retries(provider=s.provider, model=s.served, amount=o.retries)
        if o.budgets or o.budget_sightings:
            if self.batched:
                self._keep_budgets(o, now)
            else:
                self._write_budgets_now(o, now)
        with s.store.lock:
            if request_level:
                s.inc(REQUESTS)
                ended = o.ended
                if ended is not None:
                    if call is not None:  # from the pre-call hook (monotonic) to LiteLLM's end (wall), step-proof
                        d = (ended - now) + (mono - call.started)
                        if 0.0 <= d < INFINITY:  # duration(), inline
                            s.observe(REQUEST_DURATION, d)
                    elif o.started is not None and 0.0 <= (d := ended - o.started) < INFINITY:
                        s.observe(REQUEST_DURATION, d)
                if o.cache_hit:
                    s.inc(CACHE_HITS)
            if o.overhead is not None:
                s.observe(OVERHEAD, o.overhead)
            if o.cache_hit:
                return  # no upstream call: no attempt, tokens or spend
            if self._caching_on():
                s.inc(CACHE_MISSES)
            self._answered(o, s, now)
            prompt, completion = o.prompt_tokens, o.completion_tokens
            if prompt:
                s.inc(INPUT_TOKENS, prompt)
            if completion:
                s.inc(OUTPUT_TOKENS, completion)
            # the token details, one test each (not a loop over a tuple of pairs built each request)
            if tokens := o.cached_tokens:
                s.inc(CACHED_INPUT_TOKENS, tokens)
            if tokens := o.reasoning_tokens:
                s.inc(REASONING_TOKENS, tokens)
            if tokens := o.cache_creation_tokens:
                s.inc(CACHE_CREATION_TOKENS, tokens)
            if tokens := o.audio_input_tokens:
                s.inc(AUDIO_INPUT_TOKENS, tokens)
            if tokens := o.audio_output_tokens:
                s.inc(AUDIO_OUTPUT_TOKENS, tokens)
            if o.cost:
                s.inc(SPEND, o.cost)
            elif prompt or completion:
                s.inc(UNPRICED)
            s.set_each(RATELIMIT, o.ratelimit, now)  # both in RATELIMIT_HEADERS' order
        if callers:
            self.caller_usage(callers, o.cost, o.prompt_tokens, o.completion_tokens)

    def _success_series(self, raw: tuple[object, ...], endpoint: str) -> SuccessSeries:
        """A success's series from its raw values (Recording.success's `raw`, `endpoint` among them), labelled;
        remembered by them when they are text and the labels neither `overflow` nor `unlisted` (__init__)."""
        labels = self.labels
        requested, group, provider, team, _, cache_hit, model_id, model, api_base = raw
        served = labels.model(group)
        key = (
            labels.model(requested) if requested else served,
            labels.label("provider", provider),
            served,
            labels.team(team),
            endpoint,
            UNKNOWN  # a cache hit has no attempt
            if cache_hit
            else labels.label("deployment", obs.deployment_name(model_id, model, api_base)),
        )
        s = self._series.success(*key)
        self._success_by_raw.keep(raw, (requested, group, provider, team, model_id, model, api_base), key, s)
        return s

    def _write_budgets_now(self, o: obs.Success, now: float) -> None:
        """Without batches: the event's budgets written, and its sightings seen, at once."""
        if o.budgets:
            label, series = self.labels.label, self._series.budget
            with self.rec.store.lock:
                for entity_type, entity, max_usd, remaining_usd, reset_at in o.budgets:  # BUDGET_READING_FIELDS
                    budget = series(entity_type, label(_ENTITY_LABELS[entity_type], entity))
                    budget.set(BUDGET_MAX, max_usd, now)
                    if remaining_usd is not None:
                        budget.set(BUDGET_REMAINING, remaining_usd, now)
                    if reset_at is not None:
                        budget.set(BUDGET_RESET, reset_at, now)
        if o.budget_sightings:
            for entity_type in self._budgets.observe(o.budget_sightings, now):
                self.rec.budget_resets(entity_type=entity_type)

    def _keep_budgets(self, o: obs.Success, now: float) -> None:
        """In batches: the event's budgets kept for write_kept, each gauge's and each entity's latest."""
        if o.budgets:  # labelled now, so an overflow is counted at every reading
            by_raw = self._budget_gauges_by_raw
            for entity_type, entity, max_usd, remaining_usd, reset_at in o.budgets:  # BUDGET_READING_FIELDS
                latest = by_raw.get((entity_type, entity))
                if latest is None:
                    latest = self._budget_latest(entity_type, entity)
                latest[0], latest[1] = max_usd, now  # BUDGET_MAX
                if remaining_usd is not None:
                    latest[2], latest[3] = remaining_usd, now  # BUDGET_REMAINING
                if reset_at is not None:
                    latest[4], latest[5] = reset_at, now  # BUDGET_RESET
        if o.budget_sightings:
            sightings = self._budget_sightings
            for sighting in o.budget_sightings:
                sightings[sighting[:2]] = (sighting, now)  # by (entity_type, ident): BUDGET_SIGHTING_FIELDS

    def _budget_latest(self, entity_type: str, entity: str) -> list[float | None]:
        """The batch's gauge values of an entity not yet found by its raw name: labelled (an overflow counted), and
        remembered by raw name unless `overflow` or not plain text."""
        value = self.labels.label(_ENTITY_LABELS[entity_type], entity)
        latest = self._budget_gauges.get((entity_type, value))
        if latest is None:
            latest = self._budget_gauges[(entity_type, value)] = [None] * _BUDGET_SLOTS
        if value is not OVERFLOW and type(entity) is str:
            self._budget_gauges_by_raw[(entity_type, entity)] = latest
        return latest

    def write_kept(self) -> None:
        """In batches: write what the acts since the last call kept. The in-flight changes: each endpoint's sum
        and latest time. The budgets the success events carried: each gauge's latest value (with when it was
        read), and each entity's latest sighting to the reset detector (budgets.py), which counts the resets it
        sees. Called at the end of every batch and after a timer's act (process.py), under the batch lock that
        every act in batches runs under, so nothing is kept meanwhile; a batch of a second holds a few hundred
        requests of a few dozen keys, teams and users: a gauge written once per batch, not once per request,
        ends with the value and time it would have had, as every series is written in order and nothing reads
        between; the detector compares an entity's latest sighting of each batch with its latest of an earlier
        one (budgets.py: what that leaves unseen)."""
        loads, gauges, sightings = self._loads, self._budget_gauges, self._budget_sightings
        if loads:
            self._loads = {}
            load = self._series.load
            with self.rec.store.lock:
                for endpoint, (delta, changed) in loads.items():
                    load(endpoint).add(0, delta, changed)
        if gauges:
            self._budget_gauges, self._budget_gauges_by_raw = {}, {}
            series = self._series.budget
            with self.rec.store.lock:
                for (entity_type, entity), latest in gauges.items():
                    budget = series(entity_type, entity)
                    maximum, when, remaining, remaining_when, reset, reset_when = latest
                    if maximum is not None and when is not None:
                        budget.set(BUDGET_MAX, maximum, when)
                    if remaining is not None and remaining_when is not None:
                        budget.set(BUDGET_REMAINING, remaining, remaining_when)
                    if reset is not None and reset_when is not None:
                        budget.set(BUDGET_RESET, reset, reset_when)
        if sightings:
            self._budget_sightings = {}
            observe, rec = self._budgets.observe, self.rec
            for sighting, when in sightings.values():
                for entity_type in observe((sighting,), when):
                    rec.budget_resets(entity_type=entity_type)

    def _answered(self, o: obs.Success, s: SuccessSeries, now: float) -> None:
        """The upstream call that answered: its attempt, the deployment's health, its timings. The caller holds
        the writer's lock."""
        s.inc(PROVIDER_REQUESTS)
        s.set(DEPLOYMENT_STATE, HEALTHY, now)
        self.states[s.deployment_key] = HEALTHY
        started, ended = o.started, o.ended  # the durations' test, duration()'s, inline
        if started is not None and ended is not None and 0.0 <= (d := ended - started) < INFINITY:
            s.observe(PROVIDER_LATENCY, d)
        if o.stream and o.first_token is not None and started is not None:
            if 0.0 <= (d := o.first_token - started) < INFINITY:
                s.observe(TIME_TO_FIRST_TOKEN, d)
            completion = o.completion_tokens
            if completion is not None and completion > 1 and ended is not None:
                if 0.0 <= (d := (ended - o.first_token) / (completion - 1)) < INFINITY:
                    s.observe(TIME_PER_OUTPUT_TOKEN, d)

    def request_failed(
        self,
        requested: object,
        provider: object,
        team: object,
        endpoint: str,
        callers: Callers,
        code: int,
        error_type: str,
        started: float | None,
        now: float,
    ) -> None:
        """A request that ended failed: what the client was answered (`started`, `now`: monotonic). Its series
        found by its raw values where it can be (__init__)."""
        labels = self.labels
        status = str(code)
        raw = (requested, provider, team, endpoint, error_type, code)
        s = self._request_failure_by_raw.get(raw)
        if s is None:
            key = (
                labels.model(requested),
                labels.label("provider", provider),
                labels.team(team),
                endpoint,
                labels.label("error_type", error_type),
                status,
            )
            s = self._series.request_failure(*key)
            self._request_failure_by_raw.keep(raw, (requested, provider, team, error_type), key, s)
        if callers:
            self.caller_requests(self.caller_labels(callers), status)
        with s.store.lock:
            s.inc_each(_FAILED_COUNTS)
            # duration()'s test inline, as on a success's path (`now`, `started`: floats)
            if started is not None and 0.0 <= (d := now - started) < INFINITY:
                s.observe(FAILED_DURATION, d)

    def stream_answered(self, call: Call, end: float) -> None:
        """A stream that ended cleanly and alone (no terminal event came): answered, as far as it went."""
        model, provider = self.labels.model(call.model), self.labels.label("provider", call.attempt_provider)
        self.rec.requests(
            model=model,
            provider=provider,
            team=self.labels.team(obs.team_of(call.user)),
            endpoint=call.endpoint,
            status_code="200",
        )
        if call.callers:
            self.caller_requests(self.caller_labels(call.callers), "200")
        if (d := duration(end - call.started)) is not None:
            self.rec.request_duration_seconds(model=model, provider=provider, endpoint=call.endpoint, value=d)

    def load(self, endpoint: str, delta: float, now: float) -> None:
        """A request starts (+1) or stops (-1) counting in flight (current_load, by endpoint). In batches the
        change is kept for write_kept: the sum of whole numbers is exact, so one write of the batch's sum and
        latest time leaves what a write per change would have (tests/worker/test_recording.py)."""
        if self.batched:
            kept = self._loads.get(endpoint)
            if kept is None:
                self._loads[endpoint] = [delta, now]
            else:
                kept[0] += delta
                kept[1] = now
            return
        s = self._series.load(endpoint)
        with s.store.lock:
            s.add(0, delta, now)

    # ---- callers (only when the attribution setting names dimensions) -----------------------------
    def caller_labels(self, callers: Callers) -> Callers:
        """Raw caller values as label values (labels.py: cleaned, private ones redacted, capped per dimension);
        a tag that two raw values share after cleaning is counted once."""
        caller = self.labels.caller
        return tuple(
            (dimension, tuple(dict.fromkeys(caller(dimension, value) for value in values)))
            for dimension, values in callers
        )

    def caller_requests(self, callers: Callers, status_code: str) -> None:
        """One request, once under each of its caller label values in each dimension."""
        for dimension, values in callers:
            for caller in values:
                self.rec.caller_requests(dimension=dimension, caller=str(caller), status_code=status_code)

    def caller_usage(
        self, callers: Callers, cost: float | None, prompt_tokens: float | None, completion_tokens: float | None
    ) -> None:
        """What one answered upstream call cost, under each of its caller label values."""
        rec = self.rec
        for dimension, values in callers:
            for value in values:
                caller = str(value)
                if cost:
                    rec.caller_spend_usd(dimension=dimension, caller=caller, amount=cost)
                if prompt_tokens:
                    rec.caller_tokens(dimension=dimension, caller=caller, token_type="input", amount=prompt_tokens)
                if completion_tokens:
                    rec.caller_tokens(dimension=dimension, caller=caller, token_type="output", amount=completion_tokens)

    def retries(self, call: Call) -> None:
        """At a request's end: the retries within each model group it tried (calls.py)."""
        if call.groups is not None:
            for retried in call.retries():
                self.rec.retries(
                    provider=self.labels.label("provider", retried.provider),
                    model=self.labels.model(retried.group),
                    amount=retried.retries,
                )

    def router_retries(self, provider: object, group: object, retries: float) -> None:
        """The router's own count, for a request this process saw no start of."""
        self.rec.retries(
            provider=self.labels.label("provider", provider), model=self.labels.model(group), amount=retries
        )

    def guardrails(self, call_id: object, runs: Sequence[obs.GuardrailRun], mono: float) -> None:
        for run in runs:
            if isinstance(call_id, str) and not self._calls.first_guardrail_report(
                (call_id, run.name if isinstance(run.name, str) else None, run.hook, run.started), mono
            ):
                continue
            guardrail, hook = self.labels.label("guardrail", run.name), self.labels.label("hook", run.hook)
            self.rec.guardrail_requests(guardrail=guardrail, hook=hook, outcome=run.outcome)
            if run.duration is not None:
                self.rec.guardrail_latency_seconds(guardrail=guardrail, hook=hook, value=run.duration)

    def fallback(self, o: obs.Fallback) -> None:
        self.rec.fallbacks(
            from_model=self.labels.model(o.from_group),
            to_model=self.labels.model(o.to_group),
            success="true" if o.success else "false",
        )

    # ---- attempt level and deployments -----------------------------------------------------------
    def state(self, provider: str, model: str, deployment: str, state: float, now: float) -> None:
        """A deployment's state as this process saw it last (deployment_state is a most-recent gauge)."""
        self.rec.deployment_state(provider=provider, model=model, deployment=deployment, value=state, when=now)
        self.states[(provider, model, deployment)] = state

    def attempt_failed(self, o: obs.FailedAttempt, now: float) -> None:
        """One upstream call failed (its first report): the attempt, its error, the deployment's health. Its series
        found by its raw values where it can be (__init__)."""
        labels = self.labels
        raw = (o.provider, o.model_group, o.deployment, o.status_code, o.error_type)
        s = self._attempt_failure_by_raw.get(raw)
        if s is None:
            key = (
                labels.label("provider", o.provider),
                labels.model(o.model_group),
                labels.label("deployment", o.deployment),
                str(o.status_code),
                o.error_type,
            )
            s = self._series.attempt_failure(*key)
            self._attempt_failure_by_raw.keep(raw, (o.provider, o.model_group, o.deployment), key, s)
        with s.store.lock:
            s.inc_each(_ATTEMPT_COUNTS)
            s.set(ATTEMPT_STATE, PARTIAL_OUTAGE, now)
            self.states[s.deployment_key] = PARTIAL_OUTAGE
            # duration()'s test inline, as on a success's path (`now`, `o.began`: floats)
            if o.began is not None and 0.0 <= (d := now - o.began) < INFINITY:
                s.observe(ATTEMPT_LATENCY, d)

    def unreported_attempts(self, call: Call, count: int, code: int, error_type: str | None) -> None:
        """Attempts of a settled request that nobody reported, counted as what ended them (flow.py decides)."""
        labels = self.labels
        provider, model = (
            labels.label("provider", call.attempt_provider),
            labels.model(call.attempt_group or call.model),
        )
        deployment = labels.label("deployment", call.attempt_deployment)
        self.rec.provider_requests(
            provider=provider, model=model, deployment=deployment, status_code=str(code), amount=count
        )
        if error_type is not None:
            self.rec.provider_errors(
                provider=provider, model=model, deployment=deployment, error_type=error_type, amount=count
            )
        began, ended = call.attempt_began, call.stream_ended_at or call.ended_at
        if began is not None and ended is not None and (d := duration(ended - began)) is not None:
            self.rec.provider_latency_seconds(provider=provider, model=model, deployment=deployment, value=d)

    def cooldowns(self, reading: Reading, now: float) -> None:
        """A read of the router's cooldowns (deployments.py): cooldowns begun, deployments in and out of one."""
        labels = self.labels
        for cooldown in reading.started:
            d = cooldown.deployment
            self.rec.deployment_cooldowns(
                provider=labels.label("provider", d.provider),
                model=labels.model(d.group),
                deployment=labels.label("deployment", d.name),
                reason=labels.label("reason", cooldown.reason),
            )
        for d in reading.active:
            self.state(
                labels.label("provider", d.provider),
                labels.model(d.group),
                labels.label("deployment", d.name),
                COMPLETE_OUTAGE,
                now,
            )
        for d in reading.lapsed:  # back to partial outage, unless a call this process saw since says otherwise
            provider, model, name = (
                labels.label("provider", d.provider),
                labels.model(d.group),
                labels.label("deployment", d.name),
            )
            if self.states.get((provider, model, name)) == COMPLETE_OUTAGE:
                self.state(provider, model, name, PARTIAL_OUTAGE, now)
