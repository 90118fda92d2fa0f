"""Metrics recorded through the catalogue, with named labels: the one write path, for the workers and the
exporter's own counters alike.

A Recorder has one method per catalogue metric (but the exporter's build-info gauge, which is never
stored): keyword-only, one parameter per label, in the catalogue's order, plus the value:

    rec.requests(model=m, provider=p, team=t, endpoint=e, status_code="200")  counter: amount=1.0
    rec.request_duration_seconds(model=m, provider=p, endpoint=e, value=0.42) histogram: value
    rec.requests_remaining(provider=p, model=m, value=990.0, when=now)      most recent (or live max) gauge
    rec.current_load(endpoint=e, delta=1.0, when=now)                       live-sum gauge

So a call names every label: a wrong, missing or extra name is a TypeError the first time a test reaches
the call (and a type checker's error before that), and tests/rundir/test_record.py checks every call site in
the package statically, reached or not. Each method hands its label values, in the catalogue's order, to
one of the writer's four writes (rundir/writer.py: inc, observe, set, add; one lock, one lookup, one or two
8-byte stores). The methods are written out by hand, one line each; tests/rundir/test_record.py proves
them against the catalogue (a method per metric, its parameters, the order its labels are stored in, its
histogram's buckets), so a catalogue change that is not made here fails a test. The sample file records the
metric's schema (samplefile.py), so a reader of another catalogue skips the record rather than mislabel it.

The hot path writes through `Slots` instead: keys made once per label set by `Recorder.key` (named labels,
checked against the catalogue, and statically at every call site like the methods), each series created on
first use and then written by its index, several stores under one take of the writer's lock. A store
costs a tenth of a method call's lookup, lock and key; what is stored is the same (the tests write both
ways and compare the files).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from ..catalogue import (
    BY_NAME,
    DURATION_BUCKETS,
    GUARDRAIL_BUCKETS,
    LOOP_LAG_BUCKETS,
    OVERHEAD_BUCKETS,
    TPOT_BUCKETS,
    TTFT_BUCKETS,
    GaugeMode,
    Kind,
    Metric,
)
from .writer import Key, SampleWriter

VALUE_PARAMETERS = {
    Kind.COUNTER: ("amount",),
    Kind.HISTOGRAM: ("value",),
    GaugeMode.MOSTRECENT: ("value", "when"),
    GaugeMode.LIVEMAX: ("value", "when"),
    GaugeMode.LIVESUM: ("delta", "when"),
}


def value_parameters(m: Metric) -> tuple[str, ...]:
    """The parameters of a metric's method besides its labels."""
    return VALUE_PARAMETERS[m.gauge_mode if m.kind is Kind.GAUGE and m.gauge_mode else m.kind]


class Recorder:
    """Named-label writes to `store`, a SampleWriter (the attribute keeps the name the logger, the health probe
    and the exporter read it by)."""

    def __init__(self, store: SampleWriter):
        self.store = store

    @staticmethod
    def key(metric: str, **labels: str) -> Key:
        """A series' key for Slots: every label of the metric named (TypeError otherwise), stored in the
        catalogue's order."""
        m = BY_NAME.get(metric)
        if m is None or m.gauge_mode is GaugeMode.EXPORTER:
            raise TypeError(f"no metric {metric!r} written through a Recorder")
        if set(labels) != set(m.labels):
            raise TypeError(f"{metric} takes the labels {', '.join(m.labels)}, not {', '.join(sorted(labels))}")
        return metric, tuple(labels[name] for name in m.labels)

    # Request level
    def requests(
        self, *, model: str, provider: str, team: str, endpoint: str, status_code: str, amount: float = 1.0
    ) -> None:
        self.store.inc("requests", (model, provider, team, endpoint, status_code), amount)

    def errors(
        self,
        *,
        model: str,
        provider: str,
        team: str,
        endpoint: str,
        error_type: str,
        status_code: str,
        amount: float = 1.0,
    ) -> None:
        self.store.inc("errors", (model, provider, team, endpoint, error_type, status_code), amount)

    def request_duration_seconds(self, *, model: str, provider: str, endpoint: str, value: float) -> None:
        self.store.observe(
            "request_duration_seconds", (model, provider, endpoint), bisect_left(DURATION_BUCKETS, value), value
        )

    # Attempt level
    def provider_requests(
        self, *, provider: str, model: str, deployment: str, status_code: str, amount: float = 1.0
    ) -> None:
        self.store.inc("provider_requests", (provider, model, deployment, status_code), amount)

    def provider_errors(
        self, *, provider: str, model: str, deployment: str, error_type: str, amount: float = 1.0
    ) -> None:
        self.store.inc("provider_errors", (provider, model, deployment, error_type), amount)

    def provider_latency_seconds(self, *, provider: str, model: str, deployment: str, value: float) -> None:
        self.store.observe(
            "provider_latency_seconds", (provider, model, deployment), bisect_left(DURATION_BUCKETS, value), value
        )

    def time_to_first_token_seconds(self, *, provider: str, model: str, value: float) -> None:
        self.store.observe("time_to_first_token_seconds", (provider, model), bisect_left(TTFT_BUCKETS, value), value)

    def time_per_output_token_seconds(self, *, provider: str, model: str, value: float) -> None:
        self.store.observe("time_per_output_token_seconds", (provider, model), bisect_left(TPOT_BUCKETS, value), value)

    # Cost and cache
    def tokens_used(self, *, provider: str, model: str, team: str, token_type: str, amount: float = 1.0) -> None:
        self.store.inc("tokens_used", (provider, model, team, token_type), amount)

    def token_details(self, *, provider: str, model: str, team: str, detail: str, amount: float = 1.0) -> None:
        self.store.inc("token_details", (provider, model, team, detail), amount)

    def spend_usd(self, *, provider: str, model: str, team: str, amount: float = 1.0) -> None:
        self.store.inc("spend_usd", (provider, model, team), amount)

    def unpriced_requests(self, *, provider: str, model: str, amount: float = 1.0) -> None:
        self.store.inc("unpriced_requests", (provider, model), amount)

    # Callers
    def caller_requests(self, *, dimension: str, caller: str, status_code: str, amount: float = 1.0) -> None:
        self.store.inc("caller_requests", (dimension, caller, status_code), amount)

    def caller_spend_usd(self, *, dimension: str, caller: str, amount: float = 1.0) -> None:
        self.store.inc("caller_spend_usd", (dimension, caller), amount)

    def caller_tokens(self, *, dimension: str, caller: str, token_type: str, amount: float = 1.0) -> None:
        self.store.inc("caller_tokens", (dimension, caller, token_type), amount)

    def cache_hits(self, *, model: str, amount: float = 1.0) -> None:
        self.store.inc("cache_hits", (model,), amount)

    def cache_misses(self, *, model: str, amount: float = 1.0) -> None:
        self.store.inc("cache_misses", (model,), amount)

    # Resilience and budgets
    def fallbacks(self, *, from_model: str, to_model: str, success: str, amount: float = 1.0) -> None:
        self.store.inc("fallbacks", (from_model, to_model, success), amount)

    def retries(self, *, provider: str, model: str, amount: float = 1.0) -> None:
        self.store.inc("retries", (provider, model), amount)

    def budget_resets(self, *, entity_type: str, amount: float = 1.0) -> None:
        self.store.inc("budget_resets", (entity_type,), amount)

    def budget_max_usd(self, *, entity_type: str, entity: str, value: float, when: float) -> None:
        self.store.set("budget_max_usd", (entity_type, entity), value, when)

    def budget_remaining_usd(self, *, entity_type: str, entity: str, value: float, when: float) -> None:
        self.store.set("budget_remaining_usd", (entity_type, entity), value, when)

    def budget_reset_seconds(self, *, entity_type: str, entity: str, value: float, when: float) -> None:
        self.store.set("budget_reset_seconds", (entity_type, entity), value, when)

    # Deployments
    def deployment_state(self, *, provider: str, model: str, deployment: str, value: float, when: float) -> None:
        self.store.set("deployment_state", (provider, model, deployment), value, when)

    def deployment_cooldowns(
        self, *, provider: str, model: str, deployment: str, reason: str, amount: float = 1.0
    ) -> None:
        self.store.inc("deployment_cooldowns", (provider, model, deployment, reason), amount)

    # The proxy itself
    def overhead_latency_seconds(self, *, model: str, provider: str, value: float) -> None:
        self.store.observe("overhead_latency_seconds", (model, provider), bisect_left(OVERHEAD_BUCKETS, value), value)

    def guardrail_requests(self, *, guardrail: str, hook: str, outcome: str, amount: float = 1.0) -> None:
        self.store.inc("guardrail_requests", (guardrail, hook, outcome), amount)

    def guardrail_latency_seconds(self, *, guardrail: str, hook: str, value: float) -> None:
        self.store.observe("guardrail_latency_seconds", (guardrail, hook), bisect_left(GUARDRAIL_BUCKETS, value), value)

    # Capacity
    def requests_remaining(self, *, provider: str, model: str, value: float, when: float) -> None:
        self.store.set("requests_remaining", (provider, model), value, when)

    def requests_limit(self, *, provider: str, model: str, value: float, when: float) -> None:
        self.store.set("requests_limit", (provider, model), value, when)

    def tokens_remaining(self, *, provider: str, model: str, value: float, when: float) -> None:
        self.store.set("tokens_remaining", (provider, model), value, when)

    def tokens_limit(self, *, provider: str, model: str, value: float, when: float) -> None:
        self.store.set("tokens_limit", (provider, model), value, when)

    # Worker health
    def workers_live(self, *, delta: float, when: float) -> None:
        self.store.add("workers_live", (), delta, when)

    def worker_resident_memory_max_bytes(self, *, value: float, when: float) -> None:
        self.store.set("worker_resident_memory_max_bytes", (), value, when)

    def workers_resident_memory_bytes(self, *, delta: float, when: float) -> None:
        self.store.add("workers_resident_memory_bytes", (), delta, when)

    def worker_starts(self, *, amount: float = 1.0) -> None:
        self.store.inc("worker_starts", (), amount)

    def worker_exits(self, *, reason: str, amount: float = 1.0) -> None:
        self.store.inc("worker_exits", (reason,), amount)

    def worker_event_loop_lag_seconds(self, *, value: float) -> None:
        self.store.observe("worker_event_loop_lag_seconds", (), bisect_left(LOOP_LAG_BUCKETS, value), value)

    # In flight
    def current_load(self, *, endpoint: str, delta: float, when: float) -> None:
        self.store.add("current_load", (endpoint,), delta, when)

    # The logger itself
    def observe_internal_errors(self, *, hook: str, amount: float = 1.0) -> None:
        self.store.inc("observe_internal_errors", (hook,), amount)

    def observe_label_overflow(self, *, label: str, amount: float = 1.0) -> None:
        self.store.inc("observe_label_overflow", (label,), amount)


class Slots:
    """Writes to a fixed list of series by position: `keys[k]` (Recorder.key) is series `k`. Each series is
    created in the file the first time it is written (a series exists only once written: a gauge never shows
    a value nobody gave it), then found by its index, kept here. Every write below expects the caller to
    hold the writer's lock (`with slots.store.lock:`), for as many writes as it likes; the writes are the
    writer's own (rundir/writer.py), without its lookup."""

    __slots__ = ("store", "_keys", "_at", "_buckets", "_sum")

    def __init__(self, store: SampleWriter, keys: Sequence[Key]):
        self.store = store
        self._keys = tuple(keys)
        self._at = [-1] * len(self._keys)
        metrics = [BY_NAME[metric] for metric, _ in self._keys]
        self._buckets = tuple(m.buckets if m.kind is Kind.HISTOGRAM else () for m in metrics)
        self._sum = tuple(m.value_slots() - 1 for m in metrics)

    def _create(self, k: int) -> int:
        i = self._at[k] = self.store.index(self._keys[k])
        return i

    def inc(self, k: int, amount: float = 1.0) -> None:
        """Counter: `amount` added."""
        i = self._at[k]
        if i < 0:
            i = self._create(k)
        self.store.values[i] += amount

    def inc_each(self, ks: Sequence[int]) -> None:
        """Counters: one added to each series of `ks`, inc()'s body inline (a failed request's or attempt's two
        counts in one call, not two)."""
        at = self._at
        for k in ks:
            i = at[k]
            if i < 0:
                i = self._create(k)
            self.store.values[i] += 1.0  # after _create, which may have grown the file

    def observe(self, k: int, value: float) -> None:
        """Histogram: one count into the bucket of `value`, `value` into the sum."""
        i = self._at[k]
        if i < 0:
            i = self._create(k)
        values = self.store.values
        values[i + bisect_left(self._buckets[k], value)] += 1.0
        values[i + self._sum[k]] += value

    def set(self, k: int, value: float, when: float) -> None:
        """Gauge, most recent value (or the largest): the value, then when it was written."""
        i = self._at[k]
        if i < 0:
            i = self._create(k)
        values = self.store.values
        values[i] = value
        values[i + 1] = when

    def set_each(self, ks: Sequence[int], values: Sequence[float | None], when: float) -> None:
        """Gauges as set() writes them, set()'s body inline: each value that is not None into the series at the
        same position of `ks` (one call for a request's four x-ratelimit gauges, not four)."""
        at = self._at
        for k, value in zip(ks, values):
            if value is not None:
                i = at[k]
                if i < 0:
                    i = self._create(k)
                stored = self.store.values  # after _create, which may have grown the file
                stored[i] = value
                stored[i + 1] = when

    def add(self, k: int, delta: float, when: float) -> None:
        """Live-sum gauge: `delta` added, and when."""
        i = self._at[k]
        if i < 0:
            i = self._create(k)
        values = self.store.values
        values[i] += delta
        values[i + 1] = when
