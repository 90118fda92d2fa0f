"""The series an event may write, per label set: the hot path's Slots (rundir/record.py).

A success event writes up to twenty series (the request, its attempt, the deployment's state, timings, tokens,
spend, rate-limit headroom, budgets), a failure half a dozen. Looking each series up on every event (a key
built, hashed and found, the lock taken) cost more than all else the logger did; here each label set's
series are made once, as Slots, and an event's writes are stores by index.

Keyed by label values, as labels.py resolved them for this event (resolving stays per event: an `overflow`
is counted at every sighting, an `unlisted` name looked up again), so a cached entry is right for as long as
the writer lives: a label set names the same series for good. On top, recording.py finds a success's and a
failure's series by the raw values it would label, while the labeller's answers hold and only where labelling
would give the same (no `overflow`, no `unlisted`, text values only). Each cache holds at most MAX_CACHED entries
(emptied when full): bounded memory whatever the traffic.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..rundir.record import Recorder, Slots

MAX_CACHED = 4096

# Series a success event may write, by position in SuccessSeries (the order of its keys)
(
    REQUESTS,
    REQUEST_DURATION,
    CACHE_HITS,
    CACHE_MISSES,
    OVERHEAD,
    PROVIDER_REQUESTS,
    DEPLOYMENT_STATE,
    PROVIDER_LATENCY,
    TIME_TO_FIRST_TOKEN,
    TIME_PER_OUTPUT_TOKEN,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    CACHED_INPUT_TOKENS,
    REASONING_TOKENS,
    CACHE_CREATION_TOKENS,
    AUDIO_INPUT_TOKENS,
    AUDIO_OUTPUT_TOKENS,
    SPEND,
    UNPRICED,
    REQUESTS_REMAINING,
    REQUESTS_LIMIT,
    TOKENS_REMAINING,
    TOKENS_LIMIT,
) = range(23)

# the x-ratelimit gauges, in observations.RATELIMIT_HEADERS' order (Success.ratelimit)
RATELIMIT = (REQUESTS_REMAINING, REQUESTS_LIMIT, TOKENS_REMAINING, TOKENS_LIMIT)

# budget gauges of one entity, by position in BudgetSeries
BUDGET_MAX, BUDGET_REMAINING, BUDGET_RESET = range(3)
# a failed upstream call, by position in AttemptFailureSeries
ATTEMPT_REQUESTS, ATTEMPT_ERRORS, ATTEMPT_STATE, ATTEMPT_LATENCY = range(4)
# a failed request, by position in RequestFailureSeries
FAILED_REQUESTS, FAILED_ERRORS, FAILED_DURATION = range(3)


class SuccessSeries(Slots):
    """The series of one label set of a success event, and its label values (for what is not written here)."""

    __slots__ = ("model", "provider", "served", "team", "deployment_key")

    def __init__(
        self,
        rec: Recorder,
        *,
        model: str,
        provider: str,
        served: str,
        team: str,
        endpoint: str,
        deployment: str,
    ):
        key = rec.key
        super().__init__(
            rec.store,
            (
                key("requests", model=model, provider=provider, team=team, endpoint=endpoint, status_code="200"),
                key("request_duration_seconds", model=model, provider=provider, endpoint=endpoint),
                key("cache_hits", model=served),
                key("cache_misses", model=served),
                key("overhead_latency_seconds", model=model, provider=provider),
                key("provider_requests", provider=provider, model=served, deployment=deployment, status_code="200"),
                key("deployment_state", provider=provider, model=served, deployment=deployment),
                key("provider_latency_seconds", provider=provider, model=served, deployment=deployment),
                key("time_to_first_token_seconds", provider=provider, model=served),
                key("time_per_output_token_seconds", provider=provider, model=served),
                key("tokens_used", provider=provider, model=served, team=team, token_type="input"),
                key("tokens_used", provider=provider, model=served, team=team, token_type="output"),
                key("token_details", provider=provider, model=served, team=team, detail="cached_input"),
                key("token_details", provider=provider, model=served, team=team, detail="reasoning"),
                key("token_details", provider=provider, model=served, team=team, detail="cache_creation_input"),
                key("token_details", provider=provider, model=served, team=team, detail="audio_input"),
                key("token_details", provider=provider, model=served, team=team, detail="audio_output"),
                key("spend_usd", provider=provider, model=served, team=team),
                key("unpriced_requests", provider=provider, model=served),
                key("requests_remaining", provider=provider, model=served),
                key("requests_limit", provider=provider, model=served),
                key("tokens_remaining", provider=provider, model=served),
                key("tokens_limit", provider=provider, model=served),
            ),
        )
        self.model, self.provider, self.served, self.team = model, provider, served, team
        self.deployment_key = (provider, served, deployment)  # Recording.states


class BudgetSeries(Slots):
    """The budget gauges of one entity."""

    __slots__ = ()

    def __init__(self, rec: Recorder, entity_type: str, entity: str):
        key = rec.key
        super().__init__(
            rec.store,
            (
                key("budget_max_usd", entity_type=entity_type, entity=entity),
                key("budget_remaining_usd", entity_type=entity_type, entity=entity),
                key("budget_reset_seconds", entity_type=entity_type, entity=entity),
            ),
        )


class AttemptFailureSeries(Slots):
    """The series of one failed upstream call's label set."""

    __slots__ = ("deployment_key",)

    def __init__(self, rec: Recorder, provider: str, model: str, deployment: str, status_code: str, error_type: str):
        key = rec.key
        super().__init__(
            rec.store,
            (
                key(
                    "provider_requests", provider=provider, model=model, deployment=deployment, status_code=status_code
                ),
                key("provider_errors", provider=provider, model=model, deployment=deployment, error_type=error_type),
                key("deployment_state", provider=provider, model=model, deployment=deployment),
                key("provider_latency_seconds", provider=provider, model=model, deployment=deployment),
            ),
        )
        self.deployment_key = (provider, model, deployment)  # Recording.states


class RequestFailureSeries(Slots):
    """The series of one failed request's label set."""

    __slots__ = ()

    def __init__(
        self, rec: Recorder, model: str, provider: str, team: str, endpoint: str, error_type: str, status_code: str
    ):
        key = rec.key
        super().__init__(
            rec.store,
            (
                key("requests", model=model, provider=provider, team=team, endpoint=endpoint, status_code=status_code),
                key(
                    "errors",
                    model=model,
                    provider=provider,
                    team=team,
                    endpoint=endpoint,
                    error_type=error_type,
                    status_code=status_code,
                ),
                key("request_duration_seconds", model=model, provider=provider, endpoint=endpoint),
            ),
        )


class LoadSeries(Slots):
    """The in-flight gauge of one endpoint (current_load): +1 at a request's start, -1 at its end."""

    __slots__ = ()

    def __init__(self, rec: Recorder, endpoint: str):
        key = rec.key
        super().__init__(rec.store, (key("current_load", endpoint=endpoint),))


_S = TypeVar("_S", bound=Slots)


class SeriesCache:
    """The Slots of each label set this process wrote, per kind of event (module docstring)."""

    def __init__(self, rec: Recorder):
        self._rec = rec
        self._success: dict[tuple[str, ...], SuccessSeries] = {}
        self._budgets: dict[tuple[str, str], BudgetSeries] = {}
        self._attempt_failures: dict[tuple[str, ...], AttemptFailureSeries] = {}
        self._request_failures: dict[tuple[str, ...], RequestFailureSeries] = {}
        self._loads: dict[str, LoadSeries] = {}  # by endpoint (catalogue.ENDPOINTS: a handful)

    def _made(self, cache: dict[Any, _S], key: object, series: _S) -> _S:
        if len(cache) >= MAX_CACHED:
            cache.clear()
        cache[key] = series
        return series

    def success(
        self, model: str, provider: str, served: str, team: str, endpoint: str, deployment: str
    ) -> SuccessSeries:
        """The series of a success event: `served` is the group that served it, `model` the one the client
        asked for."""
        key = (model, provider, served, team, endpoint, deployment)
        series = self._success.get(key)
        if series is None:
            series = self._made(
                self._success,
                key,
                SuccessSeries(
                    self._rec,
                    model=model,
                    provider=provider,
                    served=served,
                    team=team,
                    endpoint=endpoint,
                    deployment=deployment,
                ),
            )
        return series

    def budget(self, entity_type: str, entity: str) -> BudgetSeries:
        key = (entity_type, entity)
        series = self._budgets.get(key)
        if series is None:
            series = self._made(self._budgets, key, BudgetSeries(self._rec, entity_type, entity))
        return series

    def attempt_failure(
        self, provider: str, model: str, deployment: str, status_code: str, error_type: str
    ) -> AttemptFailureSeries:
        key = (provider, model, deployment, status_code, error_type)
        series = self._attempt_failures.get(key)
        if series is None:
            series = self._made(self._attempt_failures, key, AttemptFailureSeries(self._rec, *key))
        return series

    def request_failure(
        self, model: str, provider: str, team: str, endpoint: str, error_type: str, status_code: str
    ) -> RequestFailureSeries:
        key = (model, provider, team, endpoint, error_type, status_code)
        series = self._request_failures.get(key)
        if series is None:
            series = self._made(self._request_failures, key, RequestFailureSeries(self._rec, *key))
        return series

    def load(self, endpoint: str) -> LoadSeries:
        series = self._loads.get(endpoint)
        if series is None:
            series = self._made(self._loads, endpoint, LoadSeries(self._rec, endpoint))
        return series
