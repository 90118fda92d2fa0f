"""The series a success event may write, resolved once per label set: the hot path's Slots (rundir/record.py).

A success event writes up to twenty series (the request, its attempt, the deployment's state, timings, tokens,
spend, rate-limit headroom, budgets). Resolving its label values (cleaning, caps, the model list: labels.py)
and looking each series up on every event cost more than everything else the logger does; here they are done
once per raw label set, and an event's writes are stores by index.

Invariants:
- A cached label set resolves to what labels.py would say now: only label sets whose every value was admitted
  (never `overflow`, never `unlisted`) are cached, an admitted value stays admitted for the run, and the cache
  is emptied whenever the labeller reads the proxy's model list anew (`Labeller.generation`). An `overflow` or
  `unlisted` value is resolved on every event, so it is counted (observe_label_overflow) and looked up again
  as labels.py does.
- Only raw values that are str or None are cache keys (a payload's other objects may not hash, or hash by
  identity); any other label set is resolved for its event alone.
- Each cache holds at most MAX_CACHED entries (emptied when full): bounded memory whatever the payloads.
"""

from __future__ import annotations

from ..rundir.record import Recorder, Slots
from .labels import OVERFLOW, UNLISTED, Labeller

MAX_CACHED = 4096
_NOT_CACHED = frozenset((OVERFLOW, UNLISTED))

# Series a success event may write, by position in SuccessSeries (the order of success_keys below)
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

# budget gauges of one entity, by position in BudgetSeries
BUDGET_MAX, BUDGET_REMAINING, BUDGET_RESET = range(3)


class SuccessSeries(Slots):
    """The series of one label set of a success event, and its label values (for what is not written here)."""

    __slots__ = ("model", "provider", "served", "team", "endpoint", "deployment", "deployment_key", "cacheable")

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
        self.endpoint, self.deployment = endpoint, deployment
        self.deployment_key = (provider, served, deployment)  # Recording.states
        self.cacheable = not _NOT_CACHED.intersection((model, provider, served, team, deployment))


class BudgetSeries(Slots):
    """The budget gauges of one entity."""

    __slots__ = ("cacheable",)

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
        self.cacheable = entity != OVERFLOW


class SeriesCache:
    """SuccessSeries per raw label set and BudgetSeries per raw entity, of one process (module docstring)."""

    def __init__(self, rec: Recorder, labels: Labeller):
        self._rec, self._labels = rec, labels
        self._success: dict[tuple[object, ...], SuccessSeries] = {}
        self._budgets: dict[tuple[str, str], BudgetSeries] = {}
        self._generation = labels.generation

    def _fresh(self) -> None:
        if self._labels.generation != self._generation:  # the model list was read anew
            self._generation = self._labels.generation
            self._success.clear()
            self._budgets.clear()

    def success(
        self, provider: object, group: object, requested: object, team: object, endpoint: str, deployment: object
    ) -> SuccessSeries:
        """The series of a success event: `group` served it, the client asked for `requested` when a fallback
        served another group (else None)."""
        self._fresh()
        raw = (provider, group, requested, team, endpoint, deployment)
        plain = True
        for value in raw:
            if value is not None and type(value) is not str:
                plain = False
                break
        if plain and (series := self._success.get(raw)) is not None:
            return series
        labels = self._labels
        served = labels.model(group)
        series = SuccessSeries(
            self._rec,
            model=labels.model(requested) if requested else served,
            provider=labels.label("provider", provider),
            served=served,
            team=labels.team(team),
            endpoint=endpoint,
            deployment=labels.label("deployment", deployment),
        )
        if plain and series.cacheable:
            self._fresh()  # a read of the model list while resolving: entries from before are stale, this one not
            if len(self._success) >= MAX_CACHED:
                self._success.clear()
            self._success[raw] = series
        return series

    def budget(self, entity_type: str, entity: str) -> BudgetSeries:
        """The budget gauges of an entity (its raw name: a str, observations.budget_readings)."""
        self._fresh()
        raw = (entity_type, entity)
        if (series := self._budgets.get(raw)) is not None:
            return series
        series = BudgetSeries(self._rec, entity_type, self._labels.label("entity." + entity_type, entity))
        if series.cacheable:
            self._fresh()
            if len(self._budgets) >= MAX_CACHED:
                self._budgets.clear()
            self._budgets[raw] = series
        return series
