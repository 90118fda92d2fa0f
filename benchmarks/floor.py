"""A floor for issue 24: the least pure Python that does the work ours does for bench_events.py's replay.

FloorLogger is a CustomLogger with the hooks ours implements for the replay's requests (async_pre_call_hook,
async_log_success_event, async_log_failure_event, async_post_call_failure_deployment_hook,
async_post_call_failure_hook; not async_post_call_success_hook, which ours leaves to the base class). Each hook reads
the payload fields ours reads (observations.py), by straight-line subscripts and gets, finds its series by one dict
lookup of a tuple of the raw values (ours' SeriesByRaw, after a first sighting), and stores into an mmap of doubles
through a memoryview cast to 'd', as ours does (twice as fast as struct.pack_into/unpack_from here: 107-129 ns
against 232-258 ns for a read-add-store and a gauge's two stores), under one threading.Lock take per hook that writes.

Left out on purpose (a floor): no guard, no validation or conversion of amounts, no per-process state, no batching,
no label caps or cleaning (labels are worked out once per raw tuple, at its first sighting, and never again), no
callers, no settle/grace/late-report bookkeeping, no cooldown watch, no budget-reset claim files. Not the package's
code and correct only for the replay: a measure of what the machine allows for our work, in the same run as ours
(README "Performance"). Its stores are written out one by one, as straight-line code is the cheapest (no loop
over a tuple of pairs), so blocks of the same shape repeat.

Stores per request, the same per metric as ours writes with event_batch_seconds 0 (benchmarks/count_writes.py;
tests/test_benchmarks.py holds the floor to it):
36.5 a success request and 12 a failure request of the replay's mix (ours with its default 1 s batches: 20.87 and
8.03, as it writes the budget gauges and the in-flight gauge once per batch, not per request).
"""

from __future__ import annotations

import mmap
import os
import threading
import time
from bisect import bisect_left

from litellm.integrations.custom_logger import CustomLogger

from litellm_observe.catalogue import DURATION_BUCKETS, OVERHEAD_BUCKETS, TPOT_BUCKETS, TTFT_BUCKETS
from litellm_observe.worker import endpoints, error_types, observations
from litellm_observe.worker.series import (
    AUDIO_INPUT_TOKENS,
    AUDIO_OUTPUT_TOKENS,
    CACHE_CREATION_TOKENS,
    CACHE_HITS,
    CACHE_MISSES,
    CACHED_INPUT_TOKENS,
    DEPLOYMENT_STATE,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    OVERHEAD,
    PROVIDER_LATENCY,
    PROVIDER_REQUESTS,
    REASONING_TOKENS,
    REQUEST_DURATION,
    REQUESTS,
    REQUESTS_LIMIT,
    REQUESTS_REMAINING,
    SPEND,
    TIME_PER_OUTPUT_TOKEN,
    TIME_TO_FIRST_TOKEN,
    TOKENS_LIMIT,
    TOKENS_REMAINING,
    UNPRICED,
)

# a histogram's sum: after its buckets and +Inf (written as literals below: a constant, not a global, per store)
assert (len(DURATION_BUCKETS), len(OVERHEAD_BUCKETS), len(TTFT_BUCKETS), len(TPOT_BUCKETS)) == (17, 12, 17, 13)
_EMPTY: dict = {}
INF = float("inf")
# positions in a success series' offsets tuple: series.py's 23 (what ours' SuccessSeries holds), then two of ours
DEPLOYMENT_KEY, RETRIES = range(23, 25)


class FloorLogger(CustomLogger):
    def __init__(self, run_dir: str, size: int = 1 << 22):
        super().__init__()
        fd = os.open(os.path.join(run_dir, "floor.db"), os.O_RDWR | os.O_CREAT, 0o600)
        os.ftruncate(fd, size)
        self._mm = mmap.mmap(fd, size)
        os.close(fd)
        self.v = memoryview(self._mm).cast("d")
        self.lock = threading.Lock()
        self._next = 0  # the next free double
        self._slots: dict[tuple, int] = {}  # (metric, labels) -> first double: one series, shared by label sets
        self.success_by_raw: dict[tuple, tuple] = {}
        self.request_failure_by_raw: dict[tuple, tuple] = {}
        self.attempt_failure_by_raw: dict[tuple, tuple] = {}
        self.budget_by_entity: dict[tuple, tuple] = {}
        self.load_by_endpoint: dict[str, int] = {}
        self.endpoint_of_route: dict[object, str] = {}
        self.reset_at_of: dict[str, float] = {}  # a reset time's text -> epoch seconds
        self.calls: dict[str, list] = {}  # call id -> [started (monotonic), model, user, endpoint, error]
        self.last_sighting: dict[tuple[str, str], tuple] = {}  # (entity type, id) -> (spend, reset)
        self.states: dict[tuple, float] = {}
        self.resets = self._slot("budget_resets", (), 1)  # one counter for all entity types: a floor

    # ---- first sightings (not the hot path) -------------------------------------------------------------------
    def _slot(self, metric: str, labels: tuple, width: int) -> int:
        key = (metric, labels)
        at = self._slots.get(key)
        if at is None:
            at = self._slots[key] = self._next
            self._next += width
        return at

    def _success_series(self, raw: tuple) -> tuple:
        requested, group, provider, team, endpoint, cache_hit, model_id, model, api_base = raw
        served = group
        asked = requested or served
        deployment = "unknown" if cache_hit else observations.deployment_name(model_id, model, api_base)
        slot = self._slot
        dep = (provider, served, deployment)
        s = (
            slot("requests", (asked, provider, team, endpoint, "200"), 1),
            slot("request_duration_seconds", (asked, provider, endpoint), len(DURATION_BUCKETS) + 2),
            slot("cache_hits", (served,), 1),
            slot("cache_misses", (served,), 1),
            slot("overhead_latency_seconds", (asked, provider), len(OVERHEAD_BUCKETS) + 2),
            slot("provider_requests", dep + ("200",), 1),
            slot("deployment_state", dep, 2),
            slot("provider_latency_seconds", dep, len(DURATION_BUCKETS) + 2),
            slot("time_to_first_token_seconds", (provider, served), len(TTFT_BUCKETS) + 2),
            slot("time_per_output_token_seconds", (provider, served), len(TPOT_BUCKETS) + 2),
            slot("tokens_used", (provider, served, team, "input"), 1),
            slot("tokens_used", (provider, served, team, "output"), 1),
            slot("token_details", (provider, served, team, "cached_input"), 1),
            slot("token_details", (provider, served, team, "reasoning"), 1),
            slot("token_details", (provider, served, team, "cache_creation_input"), 1),
            slot("token_details", (provider, served, team, "audio_input"), 1),
            slot("token_details", (provider, served, team, "audio_output"), 1),
            slot("spend_usd", (provider, served, team), 1),
            slot("unpriced_requests", (provider, served), 1),
            slot("requests_remaining", (provider, served), 2),
            slot("requests_limit", (provider, served), 2),
            slot("tokens_remaining", (provider, served), 2),
            slot("tokens_limit", (provider, served), 2),
            dep,
            slot("retries", (provider, served), 1),
        )
        self.success_by_raw[raw] = s
        return s

    def _request_failure_series(self, raw: tuple) -> tuple:
        model, provider, team, endpoint, exc_class, code = raw
        error_type = error_types.BY_CLASS.get(exc_class.__name__) or "other"
        status = str(code)
        slot = self._slot
        s = (
            slot("requests", (model, provider, team, endpoint, status), 1),
            slot("errors", (model, provider, team, endpoint, error_type, status), 1),
            slot("request_duration_seconds", (model, provider, endpoint), len(DURATION_BUCKETS) + 2),
        )
        self.request_failure_by_raw[raw] = s
        return s

    def _attempt_failure_series(self, raw: tuple) -> tuple:
        provider, group, model_info, model, api_base, exc_class, code = raw
        deployment = observations.deployment_name(model_info and model_info.get("id"), model, api_base)
        error_type = error_types.BY_CLASS.get(exc_class.__name__) or "other"
        dep = (provider, group, deployment)
        slot = self._slot
        s = (
            slot("provider_requests", dep + (str(code),), 1),
            slot("provider_errors", dep + (error_type,), 1),
            slot("deployment_state", dep, 2),
            slot("provider_latency_seconds", dep, len(DURATION_BUCKETS) + 2),
            dep,
        )
        self.attempt_failure_by_raw[raw] = s
        return s

    def _budget_series(self, key: tuple) -> tuple:
        slot = self._slot
        s = (slot("budget_max_usd", key, 2), slot("budget_remaining_usd", key, 2), slot("budget_reset_seconds", key, 2))
        self.budget_by_entity[key] = s
        return s

    def _endpoint(self, route: object, call_type: object) -> str:
        found = self.endpoint_of_route[route] = endpoints.endpoint(route, call_type)
        self.load_by_endpoint.setdefault(found, self._slot("current_load", (found,), 2))
        return found

    def _reset_at(self, text: str) -> float:
        found = self.reset_at_of[text] = observations.moment(text)
        return found

    def requests_counted(self) -> float:
        """The requests counter's sum over its series: proof that the replay was recorded."""
        v = self.v
        return sum(v[i] for (metric, _), i in self._slots.items() if metric == "requests")

    # ---- the hooks ---------------------------------------------------------------------------------------------
    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):
        mono, now = time.monotonic(), time.time()
        meta = data["metadata"]
        route = meta.get("user_api_key_request_route")
        endpoint = self.endpoint_of_route.get(route)
        if endpoint is None:
            endpoint = self._endpoint(route, call_type)
        self.calls[data["litellm_call_id"]] = [mono, data.get("model"), user_api_key_dict, endpoint, None]
        i = self.load_by_endpoint[endpoint]
        v = self.v
        with self.lock:
            v[i] += 1.0
            v[i + 1] = now

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        mono, now = time.monotonic(), time.time()
        # ---- read (observations.success's fields)
        slo = kwargs["standard_logging_object"]
        params = kwargs["litellm_params"]
        meta = params["metadata"]
        sm = slo["metadata"]
        call_id = kwargs["litellm_call_id"]
        group = slo["model_group"]
        requested = meta.get("original_model_group")
        if requested == group:
            requested = None
        started, ended = slo["startTime"], slo["endTime"]
        stream = slo["stream"] is True or kwargs.get("stream") is True
        cache_hit = slo["cache_hit"] is True
        usage = sm["usage_object"]
        details = usage.get("prompt_tokens_details") or _EMPTY
        completion_details = usage.get("completion_tokens_details") or _EMPTY
        hidden = slo["hidden_params"]
        headers = hidden["additional_headers"] or _EMPTY
        overhead = hidden["litellm_overhead_time_ms"]
        cache_creation = usage.get("cache_creation_input_tokens") or details.get("cache_creation_tokens")
        reasoning = completion_details.get("reasoning_tokens")
        audio_in, audio_out = details.get("audio_tokens"), completion_details.get("audio_tokens")
        cost = slo["response_cost"]
        provider = slo["custom_llm_provider"]
        team = sm["user_api_key_team_alias"] or sm["user_api_key_team_id"]
        route, call_type = sm["user_api_key_request_route"], slo["call_type"]  # the endpoint of an unseen start
        first_token = slo["completionStartTime"] if stream else None
        prompt, completion = slo["prompt_tokens"], slo["completion_tokens"]
        cached = details.get("cached_tokens")
        retries = meta.get("attempted_retries")  # only for a request whose start this process did not see
        _guardrails = slo.get("guardrail_information")  # None in the replay (read, as ours reads it)
        rr = headers.get("x_ratelimit_remaining_requests")
        rl = headers.get("x_ratelimit_limit_requests")
        tr = headers.get("x_ratelimit_remaining_tokens")
        tl = headers.get("x_ratelimit_limit_tokens")
        # ---- the request's end
        call = self.calls.pop(call_id, None)
        if call is not None:
            endpoint = call[3]
            d_request = (ended - now) + (mono - call[0])  # pre-call hook (monotonic) to LiteLLM's end (wall)
            load = self.load_by_endpoint[endpoint]
        else:  # a success whose start this process did not see (bench_events.py's success-hook-only row)
            endpoint = self.endpoint_of_route.get(route)
            if endpoint is None:
                endpoint = self._endpoint(route, call_type)
            d_request = ended - started
            load = None
        raw = (requested, group, provider, team, endpoint, cache_hit, slo["model_id"], slo["model"], slo["api_base"])
        s = self.success_by_raw.get(raw)
        if s is None:
            s = self._success_series(raw)
        v = self.v
        if cache_hit:
            with self.lock:
                v[s[REQUESTS]] += 1.0
                d = d_request
                if 0.0 <= d < INF:
                    i = s[REQUEST_DURATION]
                    v[i + bisect_left(DURATION_BUCKETS, d)] += 1.0
                    v[i + 18] += d
                v[s[CACHE_HITS]] += 1.0
                d = overhead / 1000.0
                i = s[OVERHEAD]
                v[i + bisect_left(OVERHEAD_BUCKETS, d)] += 1.0
                v[i + 13] += d
                if load is not None:
                    v[load] -= 1.0
                    v[load + 1] = now
                elif retries:
                    v[s[RETRIES]] += retries
            return
        # ---- budgets (the fields observations.budgets reads)
        team_alias, team_id = sm["user_api_key_team_alias"], sm["user_api_key_team_id"]
        team_max, team_spend = sm["user_api_key_team_max_budget"], sm["user_api_key_team_spend"]
        key_alias, key_hash = sm["user_api_key_alias"], sm["user_api_key_hash"]
        key_max, key_spend = sm["user_api_key_max_budget"], sm["user_api_key_spend"]
        key_reset = sm["user_api_key_budget_reset_at"]
        user_id, user_max = sm["user_api_key_user_id"], sm["user_api_key_user_max_budget"]
        user_spend = sm["user_api_key_user_spend"]
        end_user = sm["user_api_key_end_user_id"]
        if team_max is None:
            team_max = meta.get("user_api_key_team_max_budget")
        team_reset = sm.get("user_api_key_team_budget_reset_at") or meta.get("user_api_key_team_budget_reset_at")
        if user_max is None:
            user_max = meta.get("user_api_key_user_max_budget")
        user_budget_spend = user_spend if user_spend is not None else meta.get("user_api_key_user_spend")
        user_reset = sm.get("user_api_key_user_budget_reset_at") or meta.get("user_api_key_user_budget_reset_at")
        if end_user is None:
            end_user = meta.get("user_api_key_end_user_id")  # None in the replay: no end-user budget
        spent = cost or 0.0
        team_b = self.budget_by_entity.get(("team", team_alias))
        if team_b is None:
            team_b = self._budget_series(("team", team_alias))
        key_b = self.budget_by_entity.get(("key", key_alias))
        if key_b is None:
            key_b = self._budget_series(("key", key_alias))
        user_b = self.budget_by_entity.get(("user", user_id))
        if user_b is None:
            user_b = self._budget_series(("user", user_id))
        key_reset_at = self.reset_at_of.get(key_reset)
        if key_reset_at is None:
            key_reset_at = self._reset_at(key_reset)
        # ---- budget resets (budgets.BudgetResets.observe: a reset when the reset time moved or the spend dropped)
        last, resets = self.last_sighting, 0
        seen = (key_spend, key_reset)
        previous = last.get(k := ("key", key_hash))
        if previous is not None and previous != seen and (key_reset > previous[1] or key_spend < previous[0]):
            resets += 1
        last[k] = seen
        seen = (user_spend, None)
        previous = last.get(k := ("user", user_id))
        if previous is not None and previous != seen and user_spend < previous[0]:
            resets += 1
        last[k] = seen
        seen = (team_spend, None)
        previous = last.get(k := ("team", team_id))
        if previous is not None and previous != seen and team_spend < previous[0]:
            resets += 1
        last[k] = seen
        self.states[s[DEPLOYMENT_KEY]] = 0.0
        with self.lock:
            v[s[REQUESTS]] += 1.0
            d = d_request
            if 0.0 <= d < INF:
                i = s[REQUEST_DURATION]
                v[i + bisect_left(DURATION_BUCKETS, d)] += 1.0
                v[i + 18] += d
            d = overhead / 1000.0
            i = s[OVERHEAD]
            v[i + bisect_left(OVERHEAD_BUCKETS, d)] += 1.0
            v[i + 13] += d
            v[s[CACHE_MISSES]] += 1.0
            v[s[PROVIDER_REQUESTS]] += 1.0
            i = s[DEPLOYMENT_STATE]
            v[i] = 0.0
            v[i + 1] = now
            d = ended - started
            if 0.0 <= d < INF:
                i = s[PROVIDER_LATENCY]
                v[i + bisect_left(DURATION_BUCKETS, d)] += 1.0
                v[i + 18] += d
            if stream:
                d = first_token - started
                if 0.0 <= d < INF:
                    i = s[TIME_TO_FIRST_TOKEN]
                    v[i + bisect_left(TTFT_BUCKETS, d)] += 1.0
                    v[i + 18] += d
                if completion > 1:
                    d = (ended - first_token) / (completion - 1)
                    if 0.0 <= d < INF:
                        i = s[TIME_PER_OUTPUT_TOKEN]
                        v[i + bisect_left(TPOT_BUCKETS, d)] += 1.0
                        v[i + 14] += d
            if prompt:
                v[s[INPUT_TOKENS]] += prompt
            if completion:
                v[s[OUTPUT_TOKENS]] += completion
            if cached:
                v[s[CACHED_INPUT_TOKENS]] += cached
            if reasoning:
                v[s[REASONING_TOKENS]] += reasoning
            if cache_creation:
                v[s[CACHE_CREATION_TOKENS]] += cache_creation
            if audio_in:
                v[s[AUDIO_INPUT_TOKENS]] += audio_in
            if audio_out:
                v[s[AUDIO_OUTPUT_TOKENS]] += audio_out
            if cost:
                v[s[SPEND]] += cost
            elif prompt or completion:
                v[s[UNPRICED]] += 1.0
            if rr is not None:
                i = s[REQUESTS_REMAINING]
                v[i] = rr
                v[i + 1] = now
            if rl is not None:
                i = s[REQUESTS_LIMIT]
                v[i] = rl
                v[i + 1] = now
            if tr is not None:
                i = s[TOKENS_REMAINING]
                v[i] = tr
                v[i + 1] = now
            if tl is not None:
                i = s[TOKENS_LIMIT]
                v[i] = tl
                v[i + 1] = now
            # budgets: team (max, remaining), key (max, remaining, reset), user (max, remaining)
            if team_max is not None:
                i = team_b[0]
                v[i] = team_max
                v[i + 1] = now
                if team_spend is not None:
                    i = team_b[1]
                    v[i] = team_max - team_spend - spent
                    v[i + 1] = now
                if team_reset is not None:
                    i = team_b[2]
                    v[i] = self._reset_at(team_reset)
                    v[i + 1] = now
            if key_max is not None:
                i = key_b[0]
                v[i] = key_max
                v[i + 1] = now
                if key_spend is not None:
                    i = key_b[1]
                    v[i] = key_max - key_spend - spent
                    v[i + 1] = now
                if key_reset_at is not None:
                    i = key_b[2]
                    v[i] = key_reset_at
                    v[i + 1] = now
            if user_max is not None:
                i = user_b[0]
                v[i] = user_max
                v[i + 1] = now
                if user_budget_spend is not None:
                    i = user_b[1]
                    v[i] = user_max - user_budget_spend - spent
                    v[i + 1] = now
                if user_reset is not None:
                    i = user_b[2]
                    v[i] = self._reset_at(user_reset)
                    v[i + 1] = now
            if resets:
                v[self.resets] += resets
            if load is not None:
                v[load] -= 1.0
                v[load + 1] = now
            elif retries:
                v[s[RETRIES]] += retries

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):
        # observations.failure_event: the call id, the exception, the guardrail runs; the error kept on the call
        slo = kwargs["standard_logging_object"]
        exc = kwargs.get("exception")
        _guardrails = slo.get("guardrail_information")  # None in the replay (read, as ours reads it)
        self.calls[kwargs["litellm_call_id"]][4] = exc

    async def async_post_call_failure_deployment_hook(self, request_data, exception, call_type, fallback_depth=None):
        now = time.time()
        # observations.failed_attempt's fields
        meta = request_data["metadata"]
        provider = exception.llm_provider
        code = exception.status_code
        logging_obj = request_data.get("litellm_logging_obj")
        raw = (
            provider,
            meta.get("model_group"),
            request_data.get("model_info"),
            request_data.get("model"),
            request_data.get("api_base"),
            type(exception),
            code,
        )
        self.calls[request_data["litellm_call_id"]][4] = exception
        s = self.attempt_failure_by_raw.get(raw)
        if s is None:
            s = self._attempt_failure_series(raw)
        self.states[s[4]] = 1.0
        v = self.v
        with self.lock:
            v[s[0]] += 1.0
            v[s[1]] += 1.0
            i = s[2]
            v[i] = 1.0
            v[i + 1] = now
            if logging_obj is not None:  # None in the replay (no logging object: no attempt start time)
                d = now - logging_obj.model_call_details["api_call_start_time"]
                if 0.0 <= d < INF:
                    i = s[3]
                    v[i + bisect_left(DURATION_BUCKETS, d)] += 1.0
                    v[i + 18] += d

    async def async_post_call_failure_hook(
        self, request_data, original_exception, user_api_key_dict, traceback_str=None
    ):
        mono, now = time.monotonic(), time.time()
        # observations.failure's fields
        code = original_exception.status_code
        meta = request_data["metadata"]
        # read, as ours reads them (used only for a request whose start this process did not see)
        _retries = meta.get("attempted_retries")
        _route, _call_type = meta.get("user_api_key_request_route"), request_data.get("call_type")
        model = request_data["model"]
        team = user_api_key_dict.team_alias or user_api_key_dict.team_id
        call = self.calls.pop(request_data["litellm_call_id"])
        call[4] = original_exception
        endpoint = call[3]
        raw = (model, original_exception.llm_provider, team, endpoint, type(original_exception), code)
        s = self.request_failure_by_raw.get(raw)
        if s is None:
            s = self._request_failure_series(raw)
        load = self.load_by_endpoint[endpoint]
        v = self.v
        with self.lock:
            v[s[0]] += 1.0
            v[s[1]] += 1.0
            d = mono - call[0]
            if 0.0 <= d < INF:
                i = s[2]
                v[i + bisect_left(DURATION_BUCKETS, d)] += 1.0
                v[i + 18] += d
            v[load] -= 1.0
            v[load + 1] = now
