"""LiteLLM / Overview: is the proxy serving, how fast, how well, at what cost."""

from __future__ import annotations

from ...catalogue import (
    CACHE_HITS,
    CACHE_MISSES,
    CURRENT_LOAD,
    ERRORS,
    FALLBACKS,
    GUARDRAIL_LATENCY,
    GUARDRAIL_REQUESTS,
    LOOP_LAG,
    OVERHEAD_LATENCY,
    REQUEST_DURATION,
    REQUESTS,
    SPEND_USD,
    TOKENS_USED,
    WORKER_EXITS,
    WORKER_MEMORY_MAX,
    WORKER_STARTS,
    WORKERS_LIVE,
    WORKERS_MEMORY,
)
from . import panels as p
from .options import Inputs
from .promql import RATE_WINDOW, Queries

UID = "litellm-overview"
TITLE = "Overview"
TODAY = "now/d"  # Grafana's relative time "today so far": $__range then runs from midnight
DESCRIPTION = "Traffic, errors, latency, tokens, spend, cache, fallbacks and load of the LiteLLM proxy fleet."


def build(options: Inputs):
    q = Queries(options)
    requests = q.rate(REQUESTS)
    hits = f"({q.increase(CACHE_HITS)} or vector(0))"
    misses = f"({q.increase(CACHE_MISSES)} or vector(0))"
    return p.dashboard(
        options,
        UID,
        TITLE,
        DESCRIPTION,
        [
            [
                p.timeseries(
                    "Requests by model",
                    "How many client requests per second does each model serve?",
                    [p.target(q.rate(REQUESTS, ("model",)), "{{model}}")],
                    "reqps",
                    stacked=True,
                ),
                p.timeseries(
                    "Requests by provider",
                    "How many client requests per second go to each provider?",
                    [p.target(q.rate(REQUESTS, ("provider",)), "{{provider}}")],
                    "reqps",
                    stacked=True,
                ),
                p.timeseries(
                    "Requests by endpoint",
                    "How many client requests per second call each API (chat completions, embeddings, ...)?",
                    [p.target(q.rate(REQUESTS, ("endpoint",)), "{{endpoint}}")],
                    "reqps",
                    stacked=True,
                ),
            ],
            [
                p.timeseries(
                    "Errors per 100 requests by provider",
                    "Out of every 100 client requests to a provider, how many fail?",
                    [
                        p.target(
                            f"100 * {q.rate(ERRORS, ('provider',))} / {q.rate(REQUESTS, ('provider',))}", "{{provider}}"
                        )
                    ],
                    "percent",
                ),
                p.timeseries(
                    "Errors per 100 requests by error type",
                    "Out of every 100 client requests, how many fail with each kind of error?",
                    [
                        p.target(
                            f"100 * {q.rate(ERRORS, ('error_type',))} / ignoring(error_type) group_left() {requests}",
                            "{{error_type}}",
                        )
                    ],
                    "percent",
                    stacked=True,
                ),
            ],
            [
                p.quantiles(
                    "Request latency by model",
                    "How long do clients wait end to end (retries and fallbacks included), p50/p95/p99 per model?",
                    q,
                    REQUEST_DURATION,
                    ("model",),
                    "{{model}}",
                ),
                p.timeseries(
                    "Token throughput",
                    "How many input and output tokens per hour does the fleet bill?",
                    [p.target(f"3600 * {q.rate(TOKENS_USED, ('token_type',))}", "{{token_type}}")],
                    "suffix: tokens/h",
                ),
            ],
            [
                p.stat(
                    "Spend today by model",
                    "How many US dollars has each model cost since midnight?",
                    [p.target(q.increase(SPEND_USD, ("model",)), "{{model}}", instant=True)],
                    "currencyUSD",
                    decimals=2,
                    graph=False,
                    time_from=TODAY,
                ),
                p.gauge(
                    "Cache hit rate",
                    "What share of cache lookups were answered from LiteLLM's cache in this time range?",
                    f"{hits} / ({hits} + {misses})",
                    "percentunit",
                    [("red", None), ("orange", 0.3), ("green", 0.7)],
                    0,
                    1,
                ),
            ],
            [
                p.state_timeline(
                    "Fallbacks",
                    "Which fallbacks (from model to model) happened when, and did they succeed?",
                    [
                        p.target(
                            q.increase(FALLBACKS, ("from_model", "to_model", "success"), window=RATE_WINDOW),
                            "{{from_model}} → {{to_model}} success={{success}}",
                        )
                    ],
                    "short",
                    overrides=[p.color_by_name(".*success=false", "red"), p.color_by_name(".*success=true", "green")],
                ),
                p.timeseries(
                    "Requests in flight",
                    "How many client requests is the fleet handling right now, per endpoint?",
                    [p.target(q.gauge(CURRENT_LOAD, ("endpoint",)), "{{endpoint}}")],
                    "short",
                    stacked=True,
                ),
            ],
            [
                p.quantiles(
                    "Proxy overhead",
                    "How much time does LiteLLM itself add to a request (auth, routing, hooks), p50/p95/p99?",
                    q,
                    OVERHEAD_LATENCY,
                    ("model",),
                    "{{model}}",
                ),
                p.timeseries(
                    "Guardrail runs by outcome",
                    "How many guardrail runs per second pass, block or fail, per guardrail and hook?",
                    [
                        p.target(
                            q.rate(GUARDRAIL_REQUESTS, ("guardrail", "hook", "outcome")),
                            "{{guardrail}} {{hook}} {{outcome}}",
                        )
                    ],
                    "ops",
                    stacked=True,
                    overrides=[p.color_by_name(".* blocked", "orange"), p.color_by_name(".* error", "red")],
                ),
            ],
            [
                p.quantiles(
                    "Guardrail latency",
                    "How long does one guardrail run take, p50/p95/p99?",
                    q,
                    GUARDRAIL_LATENCY,
                    ("guardrail", "hook"),
                    "{{guardrail}} {{hook}}",
                ),
                p.timeseries(
                    "Live workers",
                    "How many worker processes does each proxy replica run right now?",
                    [p.target(q.gauge(WORKERS_LIVE, ("instance",)), "{{instance}}")],
                    "short",
                ),
            ],
            # Workers: memory, restarts and event-loop lag of every worker, without a per-process series
            [
                p.timeseries(
                    "Worker memory",
                    "How much resident memory does the largest worker use, and all workers "
                    "of a replica together? A steady climb ends in an out-of-memory kill.",
                    [
                        p.target(q.gauge(WORKER_MEMORY_MAX, ("instance",), "max"), "largest worker {{instance}}"),
                        p.target(q.gauge(WORKERS_MEMORY, ("instance",)), "all workers {{instance}}"),
                    ],
                    "bytes",
                ),
                p.timeseries(
                    "Worker starts and exits",
                    "How many workers started, exited by themselves (recycled) or "
                    "were killed (a signal such as the OOM killer's, or a crash)?",
                    [
                        p.target(q.increase(WORKER_STARTS, ("instance",), window=RATE_WINDOW), "started {{instance}}"),
                        p.target(
                            q.increase(WORKER_EXITS, ("instance", "reason"), window=RATE_WINDOW),
                            "{{reason}} {{instance}}",
                        ),
                    ],
                    "short",
                    bars=True,
                    overrides=[p.color_by_name("killed.*", "red")],
                ),
            ],
            [
                p.quantiles(
                    "Event-loop lag",
                    "How late does a 1 s timer fire on the workers' event loops, p50/p95/p99? "
                    "A blocked loop (synchronous work in a hook or callback) shows as a tail.",
                    q,
                    LOOP_LAG,
                    ("instance",),
                    "{{instance}}",
                )
            ],
        ],
    )
