"""The metric catalogue: every metric this package emits, declared once.

The logger, the exporter, the dashboards, the alert rules, the README's metric
table and the tests all read this module; no other file spells a metric name.
Names here carry no namespace: `Metric.family(namespace)` adds it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import Enum
from functools import cached_property

DEFAULT_NAMESPACE = "litellm"


class Kind(str, Enum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


class GaugeMode(str, Enum):
    """How a gauge combines across worker processes (as in prometheus_client)."""

    LIVESUM = "livesum"  # sum over live workers; a dead worker's share drops out
    LIVEMAX = "livemax"  # the largest value of any live worker; a dead worker's drops out
    MOSTRECENT = "mostrecent"  # the value written last by any live worker wins
    EXPORTER = "exporter"  # written by the exporter itself, not by workers


# OpenTelemetry GenAI semantic conventions give the bucket advice below
# (gen_ai.client.operation.duration, gen_ai.server.time_to_first_token,
# gen_ai.server.time_per_output_token). Alert and SLO thresholds must be bucket
# edges, so 30 s (the p99 latency alert) is added, and the doubling is carried
# on past 81.92 s because reasoning models answer in minutes.
DURATION_BUCKETS = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    30.0,
    40.96,
    81.92,
    163.84,
    327.68,
)
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0)
TPOT_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)
# How late a worker's 1 s loop-lag timer fires: a healthy loop is in the first buckets, a blocked one
# shows its blocking time.
LOOP_LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# What LiteLLM adds to a request: sub-millisecond resolution at the low end, where a healthy proxy is.
OVERHEAD_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Guardrails: local checks in microseconds, remote moderation APIs in seconds.
GUARDRAIL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Metric:
    name: str  # family name without namespace, without `_total`
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()
    gauge_mode: GaugeMode | None = None
    level: str = ""  # request, attempt, cost, caller, resilience, capacity, self: for the README table
    countdown: bool = False  # a most-recent gauge that stores a moment; served as the seconds until it

    def family(self, namespace: str = DEFAULT_NAMESPACE) -> str:
        return f"{namespace}_{self.name}" if namespace else self.name

    def sample_names(self, namespace: str = DEFAULT_NAMESPACE) -> tuple[str, ...]:
        """The series names Prometheus stores for this metric."""
        base = self.family(namespace)
        if self.kind is Kind.COUNTER:
            return (f"{base}_total",)
        if self.kind is Kind.HISTOGRAM:
            return (f"{base}_bucket", f"{base}_sum", f"{base}_count")
        return (base,)

    @cached_property
    def schema(self) -> str:
        """A fingerprint of what a stored record of this metric means: kind, label names in
        order, buckets. Sample files carry it, so a reader built from another catalogue
        skips a record instead of mislabelling it (rundir/samplefile.py)."""
        text = json.dumps([self.kind.value, list(self.labels), list(self.buckets)])
        return hashlib.blake2s(text.encode(), digest_size=4).hexdigest()

    def value_slots(self) -> int:
        """How many floats a worker stores per series (see store.py)."""
        if self.kind is Kind.HISTOGRAM:
            return len(self.buckets) + 2  # one per bucket, +Inf, sum
        if self.kind is Kind.GAUGE:
            return 2  # value, time written (for MOSTRECENT)
        return 1


def _counter(name, help, labels, level):
    return Metric(name, Kind.COUNTER, help, tuple(labels), level=level)


def _histogram(name, help, labels, buckets, level):
    return Metric(name, Kind.HISTOGRAM, help, tuple(labels), buckets=buckets, level=level)


def _gauge(name, help, labels, mode, level, countdown=False):
    return Metric(name, Kind.GAUGE, help, tuple(labels), gauge_mode=mode, level=level, countdown=countdown)


CATALOGUE: tuple[Metric, ...] = (
    # Request level: exactly one per client request, its final outcome.
    _counter(
        "requests",
        "Client requests by final outcome; status_code is what the client was answered, endpoint the API it called.",
        ("model", "provider", "team", "endpoint", "status_code"),
        "request",
    ),
    _counter(
        "errors",
        'Client requests that failed, by error class; sums to requests_total{status_code=~"[45].."}.',
        ("model", "provider", "team", "endpoint", "error_type", "status_code"),
        "request",
    ),
    _histogram(
        "request_duration_seconds",
        "End-to-end duration of a client request, retries and fallbacks included.",
        ("model", "provider", "endpoint"),
        DURATION_BUCKETS,
        "request",
    ),
    # Attempt level: one per upstream LLM API call, retries and fallback steps included.
    _counter(
        "provider_requests",
        "Upstream LLM API calls (attempts), by deployment and status code.",
        ("provider", "model", "deployment", "status_code"),
        "attempt",
    ),
    _counter(
        "provider_errors",
        "Upstream LLM API calls that failed, by deployment and error class.",
        ("provider", "model", "deployment", "error_type"),
        "attempt",
    ),
    _histogram(
        "provider_latency_seconds",
        "Duration of one upstream LLM API call.",
        ("provider", "model", "deployment"),
        DURATION_BUCKETS,
        "attempt",
    ),
    _histogram(
        "time_to_first_token_seconds",
        "Time from the upstream call to its first streamed token.",
        ("provider", "model"),
        TTFT_BUCKETS,
        "attempt",
    ),
    _histogram(
        "time_per_output_token_seconds",
        "Time per streamed output token after the first.",
        ("provider", "model"),
        TPOT_BUCKETS,
        "attempt",
    ),
    # Cost and cache.
    _counter(
        "tokens_used",
        "Tokens billed by the upstream: token_type input (prompt) or output (completion); sums to the tokens billed.",
        ("provider", "model", "team", "token_type"),
        "cost",
    ),
    _counter(
        "token_details",
        "Parts of the billed tokens, by detail: cached_input, cache_creation_input and audio_input are "
        "parts of input, reasoning and audio_output parts of output; already counted in tokens_used_total, "
        "never add the two.",
        ("provider", "model", "team", "detail"),
        "cost",
    ),
    _counter(
        "spend_usd", "Spend in US dollars as priced by LiteLLM (response_cost).", ("provider", "model", "team"), "cost"
    ),
    _counter(
        "unpriced_requests",
        "Successful upstream calls that used tokens but got no price (response_cost missing "
        "or 0): spend LiteLLM did not see.",
        ("provider", "model"),
        "cost",
    ),
    # Callers (opt-in: the `attribution` setting names the dimensions; no series without it).
    _counter(
        "caller_requests",
        "Client requests by caller, per attribution dimension (key_alias, user, end_user, tags, "
        "metadata.<key>), by status code. Summed over the callers of one dimension: requests_total; "
        "but for tags, where a request counts once under each of its tags.",
        ("dimension", "caller", "status_code"),
        "caller",
    ),
    _counter(
        "caller_spend_usd",
        "Spend in US dollars by caller, per attribution dimension; summed over the callers of one "
        "dimension: spend_usd_total (but for tags, where a request counts under each of its tags).",
        ("dimension", "caller"),
        "caller",
    ),
    _counter(
        "caller_tokens",
        "Tokens billed by caller, per attribution dimension, token_type input or output; summed over the "
        "callers of one dimension: tokens_used_total (but for tags, where a request counts under each tag).",
        ("dimension", "caller", "token_type"),
        "caller",
    ),
    _counter("cache_hits", "Requests answered from LiteLLM's cache.", ("model",), "cost"),
    _counter("cache_misses", "Requests that looked in a configured cache and missed.", ("model",), "cost"),
    # Resilience and budgets.
    _counter(
        "fallbacks",
        "Fallbacks from one model group to another, by outcome (success true/false).",
        ("from_model", "to_model", "success"),
        "resilience",
    ),
    _counter("retries", "Retries of upstream calls made by LiteLLM's router.", ("provider", "model"), "resilience"),
    _counter(
        "budget_resets",
        "Budget resets seen in request metadata (see README: what is and is not seen).",
        ("entity_type",),
        "resilience",
    ),
    _gauge(
        "budget_max_usd",
        "Maximum budget of a team, key (by alias), user or end user, from request metadata; most recent value.",
        ("entity_type", "entity"),
        GaugeMode.MOSTRECENT,
        "resilience",
    ),
    _gauge(
        "budget_remaining_usd",
        "Budget left: the maximum minus the spend as of the latest request, that request's "
        "cost included; most recent value.",
        ("entity_type", "entity"),
        GaugeMode.MOSTRECENT,
        "resilience",
    ),
    _gauge(
        "budget_reset_seconds",
        "Seconds until the budget's next reset, counted down at each scrape from the reset "
        "time the latest request carried.",
        ("entity_type", "entity"),
        GaugeMode.MOSTRECENT,
        "resilience",
        countdown=True,
    ),
    # Deployments: one model group can be served by several deployments (keys, regions, providers).
    _gauge(
        "deployment_state",
        "Deployment health as the router sees it: 0 healthy, 1 partial outage (a recent failed "
        "call), 2 complete outage (in cooldown); most recent value.",
        ("provider", "model", "deployment"),
        GaugeMode.MOSTRECENT,
        "resilience",
    ),
    _counter(
        "deployment_cooldowns",
        "Times the router put a deployment in cooldown, by reason (the status code that cooled it down).",
        ("provider", "model", "deployment", "reason"),
        "resilience",
    ),
    # The proxy itself.
    _histogram(
        "overhead_latency_seconds",
        "Time LiteLLM itself added to a request (LiteLLM's litellm_overhead_time_ms; non-streamed successes).",
        ("model", "provider"),
        OVERHEAD_BUCKETS,
        "request",
    ),
    _counter(
        "guardrail_requests",
        "Guardrail runs by outcome (passed, blocked, error).",
        ("guardrail", "hook", "outcome"),
        "request",
    ),
    _histogram(
        "guardrail_latency_seconds",
        "Duration of one guardrail run.",
        ("guardrail", "hook"),
        GUARDRAIL_BUCKETS,
        "request",
    ),
    # Capacity.
    _gauge(
        "requests_remaining",
        "Upstream x-ratelimit-remaining-requests, most recent value.",
        ("provider", "model"),
        GaugeMode.MOSTRECENT,
        "capacity",
    ),
    _gauge(
        "requests_limit",
        "Upstream x-ratelimit-limit-requests, most recent value.",
        ("provider", "model"),
        GaugeMode.MOSTRECENT,
        "capacity",
    ),
    _gauge(
        "tokens_remaining",
        "Upstream x-ratelimit-remaining-tokens, most recent value.",
        ("provider", "model"),
        GaugeMode.MOSTRECENT,
        "capacity",
    ),
    _gauge(
        "tokens_limit",
        "Upstream x-ratelimit-limit-tokens, most recent value.",
        ("provider", "model"),
        GaugeMode.MOSTRECENT,
        "capacity",
    ),
    # Worker health: no pid label; a dead worker's gauges drop out, its counts stay.
    _gauge(
        "workers_live",
        "Live worker processes of the proxy run (each counts itself while it lives).",
        (),
        GaugeMode.LIVESUM,
        "worker",
    ),
    _gauge(
        "worker_resident_memory_max_bytes",
        "Resident memory of the largest live worker process (/proc/self/statm, read every few seconds).",
        (),
        GaugeMode.LIVEMAX,
        "worker",
    ),
    _gauge(
        "workers_resident_memory_bytes",
        "Resident memory of all live worker processes together.",
        (),
        GaugeMode.LIVESUM,
        "worker",
    ),
    _counter("worker_starts", "Worker processes that started in this proxy run.", (), "worker"),
    _counter(
        "worker_exits",
        "Worker processes that ended, by reason: recycled (exited by itself: "
        "--max_requests_before_restart, or stopped with the proxy) or killed (ended without exiting: a signal "
        "such as the OOM killer's SIGKILL, or a crash).",
        ("reason",),
        "worker",
    ),
    _histogram(
        "worker_event_loop_lag_seconds",
        "How late a 1 s timer on a worker's event loop fires; a blocked loop shows as a tail.",
        (),
        LOOP_LAG_BUCKETS,
        "worker",
    ),
    _gauge(
        "current_load",
        "Client requests in flight, summed over live workers, by endpoint.",
        ("endpoint",),
        GaugeMode.LIVESUM,
        "capacity",
    ),
    # The logger itself.
    _gauge(
        "observe_build_info",
        "Version of litellm-observe and of litellm; always 1.",
        ("version", "litellm_version"),
        GaugeMode.EXPORTER,
        "self",
    ),
    _counter(
        "observe_internal_errors",
        "Events the logger could not record, by hook; each one is also logged.",
        ("hook",),
        "self",
    ),
    _counter(
        "observe_label_overflow",
        "Label values replaced by `overflow` because the label reached its cap.",
        ("label",),
        "self",
    ),
)

BY_NAME: dict[str, Metric] = {m.name: m for m in CATALOGUE}
if len(BY_NAME) != len(CATALOGUE):  # pragma: no cover - a catalogue typo, caught at import
    raise RuntimeError("duplicate metric name in the catalogue")


# Handles: code records and reads metrics through these, never by spelling a name.
REQUESTS, ERRORS, REQUEST_DURATION = BY_NAME["requests"], BY_NAME["errors"], BY_NAME["request_duration_seconds"]
PROVIDER_REQUESTS, PROVIDER_ERRORS = BY_NAME["provider_requests"], BY_NAME["provider_errors"]
PROVIDER_LATENCY = BY_NAME["provider_latency_seconds"]
TIME_TO_FIRST_TOKEN, TIME_PER_OUTPUT_TOKEN = (
    BY_NAME["time_to_first_token_seconds"],
    BY_NAME["time_per_output_token_seconds"],
)
TOKEN_DETAILS = BY_NAME["token_details"]
CALLER_REQUESTS, CALLER_SPEND, CALLER_TOKENS = (
    BY_NAME["caller_requests"],
    BY_NAME["caller_spend_usd"],
    BY_NAME["caller_tokens"],
)
TOKENS_USED, SPEND_USD, CACHE_HITS, CACHE_MISSES = (
    BY_NAME["tokens_used"],
    BY_NAME["spend_usd"],
    BY_NAME["cache_hits"],
    BY_NAME["cache_misses"],
)
FALLBACKS, RETRIES, BUDGET_RESETS = BY_NAME["fallbacks"], BY_NAME["retries"], BY_NAME["budget_resets"]
REQUESTS_REMAINING, REQUESTS_LIMIT = BY_NAME["requests_remaining"], BY_NAME["requests_limit"]
TOKENS_REMAINING, TOKENS_LIMIT = BY_NAME["tokens_remaining"], BY_NAME["tokens_limit"]
CURRENT_LOAD, BUILD_INFO = BY_NAME["current_load"], BY_NAME["observe_build_info"]
INTERNAL_ERRORS, LABEL_OVERFLOW = BY_NAME["observe_internal_errors"], BY_NAME["observe_label_overflow"]
UNPRICED_REQUESTS = BY_NAME["unpriced_requests"]
BUDGET_MAX, BUDGET_REMAINING, BUDGET_RESET = (
    BY_NAME["budget_max_usd"],
    BY_NAME["budget_remaining_usd"],
    BY_NAME["budget_reset_seconds"],
)
DEPLOYMENT_STATE, DEPLOYMENT_COOLDOWNS = BY_NAME["deployment_state"], BY_NAME["deployment_cooldowns"]
OVERHEAD_LATENCY = BY_NAME["overhead_latency_seconds"]
GUARDRAIL_REQUESTS, GUARDRAIL_LATENCY = BY_NAME["guardrail_requests"], BY_NAME["guardrail_latency_seconds"]
WORKERS_LIVE, WORKER_STARTS, WORKER_EXITS = BY_NAME["workers_live"], BY_NAME["worker_starts"], BY_NAME["worker_exits"]
WORKER_MEMORY_MAX, WORKERS_MEMORY = (
    BY_NAME["worker_resident_memory_max_bytes"],
    BY_NAME["workers_resident_memory_bytes"],
)
LOOP_LAG = BY_NAME["worker_event_loop_lag_seconds"]
EXIT_REASONS = ("recycled", "killed")


def metric(name: str) -> Metric:
    """Look a metric up by its catalogue name (KeyError names the typo)."""
    return BY_NAME[name]


def all_labels() -> tuple[str, ...]:
    """Every label name used by any metric, sorted."""
    return tuple(sorted({label for m in CATALOGUE for label in m.labels}))


# Fixed value sets: labels whose values never come from a client.
TOKEN_TYPES = ("input", "output")  # tokens_used_total: their sum is the tokens billed
# token_details_total: parts of input or output (LiteLLM's prompt_tokens includes cached and cache-creation tokens)
TOKEN_DETAILS_OF = {
    "cached_input": "input",
    "cache_creation_input": "input",
    "audio_input": "input",
    "reasoning": "output",
    "audio_output": "output",
}
TOKEN_DETAIL_NAMES = tuple(TOKEN_DETAILS_OF)
# endpoint: the API a client request called, from LiteLLM's call type (worker/endpoints.py); never a raw path
ENDPOINTS = (
    "chat_completions",
    "text_completions",
    "responses",
    "messages",
    "embeddings",
    "images",
    "audio_transcriptions",
    "audio_speech",
    "rerank",
    "moderations",
    "other",
)
# attribution: caller dimensions a proxy may turn on (`metadata.<key>` for a named key of the request's metadata)
CALLER_DIMENSIONS = ("key_alias", "user", "end_user", "tags")
METADATA_DIMENSION_PREFIX = "metadata."
MULTI_VALUED_DIMENSIONS = ("tags",)  # a request counts once under each value: these do not sum to the total
GUARDRAIL_OUTCOMES = ("passed", "blocked", "error")
DEPLOYMENT_STATES = {"healthy": 0, "partial_outage": 1, "complete_outage": 2}  # LiteLLM's own encoding
ENTITY_TYPES = ("key", "user", "team", "end_user")
ERROR_TYPES = (
    "rate_limit",
    "authentication",
    "permission_denied",
    "bad_request",
    "context_window_exceeded",
    "content_policy",
    "not_found",
    "timeout",
    "connection",
    "service_unavailable",
    "internal_server_error",
    "budget_exceeded",
    "client_disconnected",
    "other",
)
