"""LiteLLM / Providers: how each upstream LLM API behaves, attempt by attempt."""

from __future__ import annotations

from ...catalogue import (
    DEPLOYMENT_COOLDOWNS,
    DEPLOYMENT_STATE,
    FALLBACKS,
    PROVIDER_ERRORS,
    PROVIDER_LATENCY,
    PROVIDER_REQUESTS,
    REQUESTS_LIMIT,
    REQUESTS_REMAINING,
    RETRIES,
    TIME_PER_OUTPUT_TOKEN,
    TIME_TO_FIRST_TOKEN,
    TOKENS_LIMIT,
    TOKENS_REMAINING,
    Metric,
)
from . import panels as p
from .options import Inputs
from .promql import RATE_WINDOW, Queries

UID = "litellm-providers"
TITLE = "Providers"
DESCRIPTION = (
    "Upstream LLM API calls per provider and model: latency, streaming speed, errors, retries, "
    "rate-limit headroom, fallbacks, and the health and cooldowns of each deployment."
)
PM = ("provider", "model")
PM_LEGEND = "{{provider}} {{model}}"
PMD = ("provider", "model", "deployment")
PMD_LEGEND = "{{model}} {{deployment}}"
# deployment_state's values, as LiteLLM encodes them (catalogue.DEPLOYMENT_STATES)
STATE_STEPS: list[tuple[str, float | None]] = [("green", None), ("orange", 1), ("red", 2)]


def _headroom(q: Queries, remaining: Metric, limit: Metric) -> str:
    # Replicas share the upstream's limit: the lowest remaining over the highest limit is the
    # fleet's headroom, where a sum would count the same quota once per replica.
    return f"{q.gauge(remaining, PM, 'min')} / {q.gauge(limit, PM, 'max')}"


def build(options: Inputs):
    q = Queries(options)
    return p.dashboard(
        options,
        UID,
        TITLE,
        DESCRIPTION,
        [
            [
                p.quantiles(
                    "LLM API latency",
                    "How long does one upstream call take, p50/p95/p99 per provider and model?",
                    q,
                    PROVIDER_LATENCY,
                    PM,
                    PM_LEGEND,
                ),
                p.timeseries(
                    "Attempts by status code",
                    "How many upstream calls per second does each provider get, and what do they answer?",
                    [p.target(q.rate(PROVIDER_REQUESTS, ("provider", "status_code")), "{{provider}} {{status_code}}")],
                    "reqps",
                    stacked=True,
                ),
            ],
            [
                p.quantiles(
                    "Time to first token",
                    "How long until a streamed answer starts, p50/p95/p99?",
                    q,
                    TIME_TO_FIRST_TOKEN,
                    PM,
                    PM_LEGEND,
                ),
                p.quantiles(
                    "Time per output token",
                    "How fast do streamed tokens arrive after the first, p50/p95/p99?",
                    q,
                    TIME_PER_OUTPUT_TOKEN,
                    PM,
                    PM_LEGEND,
                ),
            ],
            [
                p.timeseries(
                    "Attempt errors per 100 attempts by error type",
                    "Out of every 100 upstream calls to a provider and model, how many fail, and why?",
                    [
                        p.target(
                            f"100 * {q.rate(PROVIDER_ERRORS, PM + ('error_type',))} / ignoring(error_type) "
                            f"group_left() {q.rate(PROVIDER_REQUESTS, PM)}",
                            PM_LEGEND + " {{error_type}}",
                        )
                    ],
                    "percent",
                    stacked=True,
                ),
                p.timeseries(
                    "Retries",
                    "How many retries per second does LiteLLM's router make against each provider?",
                    [p.target(q.rate(RETRIES, PM), PM_LEGEND)],
                    "ops",
                ),
            ],
            [
                p.timeseries(
                    "Rate-limit headroom",
                    "What share of the upstream's request and token rate limits is still unused?",
                    [
                        p.target(_headroom(q, REQUESTS_REMAINING, REQUESTS_LIMIT), PM_LEGEND + " requests"),
                        p.target(_headroom(q, TOKENS_REMAINING, TOKENS_LIMIT), PM_LEGEND + " tokens"),
                    ],
                    "percentunit",
                ),
                p.timeseries(
                    "Fallback outcomes",
                    "How often does each model group fall back, and does the fallback work?",
                    [p.target(q.rate(FALLBACKS, ("from_model", "success")), "{{from_model}} success={{success}}")],
                    "ops",
                    stacked=True,
                    bars=True,
                    overrides=[p.color_by_name(".*success=false", "red"), p.color_by_name(".*success=true", "green")],
                ),
            ],
            [
                p.state_timeline(
                    "Deployment state",
                    "Is each deployment healthy (0), failing some calls (1) or in cooldown (2), as the "
                    "router sees it? The worst state any replica reports.",
                    [p.target(q.gauge(DEPLOYMENT_STATE, PMD, "max"), PMD_LEGEND)],
                    "short",
                    steps=STATE_STEPS,
                ),
                p.timeseries(
                    "Cooldowns by deployment",
                    "How often did the router take a deployment out of rotation, and for which status code?",
                    [
                        p.target(
                            q.increase(DEPLOYMENT_COOLDOWNS, PMD + ("reason",), window=RATE_WINDOW),
                            PMD_LEGEND + " {{reason}}",
                        )
                    ],
                    "short",
                    bars=True,
                ),
            ],
            [
                p.timeseries(
                    "Attempt errors by deployment",
                    "Which deployment fails its upstream calls, and why? A rotated key shows as one deployment "
                    "failing with authentication errors while its siblings answer.",
                    [p.target(q.rate(PROVIDER_ERRORS, PMD + ("error_type",)), PMD_LEGEND + " {{error_type}}")],
                    "ops",
                    stacked=True,
                ),
                p.quantiles(
                    "LLM API latency by deployment",
                    "How long does one upstream call to each deployment take?",
                    q,
                    PROVIDER_LATENCY,
                    PMD,
                    PMD_LEGEND,
                ),
            ],
        ],
    )
