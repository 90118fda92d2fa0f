"""Alerts on the upstream LLM APIs: errors, rate-limit headroom, fallbacks and retries; each with its options
group and its promtool cases (their latency is latency.py's).

Case values derive from the configured thresholds (twice the threshold, half of it, ...), so the
generated tests keep proving the rules whatever the configuration. Series carry an `instance`
label: each proxy replica is its own scrape target, and every expression sums over replicas.

`ALERTS`, at the end, declares them in output order (context.Declaration).

Why one module of this size: four alerts on one topic (the upstream providers' failures and limits), each its
options, its rule and its promtool cases, about fifty lines of data apiece.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...catalogue import (
    FALLBACKS,
    PROVIDER_ERRORS,
    PROVIDER_REQUESTS,
    REQUESTS,
    REQUESTS_LIMIT,
    REQUESTS_REMAINING,
    RETRIES,
    TOKENS_LIMIT,
    TOKENS_REMAINING,
)
from .. import fields
from ..promql.build import fmt
from . import slo
from .context import Context, Declaration
from .model import (
    MODEL,
    PERCENT,
    RATE,
    RATIO,
    Expected,
    Spec,
    above,
    boundary,
    constant,
    counter,
    negative,
    series,
)


@dataclass(frozen=True)
class HighErrorRate:
    ratio: float = fields.ratio(0.05, "fires when a provider's failed share of upstream calls over 5m is above this")
    for_: str = fields.duration("5m")
    severity: str = fields.severity("warning")


@dataclass(frozen=True)
class RateLimitHeadroom:
    ratio: float = fields.ratio(0.2, "fires when less than this share of an upstream rate limit is left")
    for_: str = fields.duration("2m")
    severity: str = fields.severity("warning")


@dataclass(frozen=True)
class FallbacksFailing:
    ratio: float = fields.ratio(0.5, "fires when this share of a model's fallbacks over 5m failed")
    for_: str = fields.duration("10m")
    severity: str = fields.severity("warning")


@dataclass(frozen=True)
class RetryStorm:
    retries_per_request: float = fields.positive(1.0, "fires when a provider's requests need more retries each")
    for_: str = fields.duration("10m")
    severity: str = fields.severity("warning")


def high_error_rate(c: Context[HighErrorRate, slo.Objective]) -> Spec:
    g, q, base = c.group, c.scope, c.base
    alert = c.alert(
        f"{slo.ratio_record(RATE, q)} > {fmt(g.ratio)}\n" + slo.enough_calls(q, c.objective, RATE),
        g.for_,
        g.severity,
        "A provider fails too many upstream calls.",
        "{value} of upstream calls to provider {provider} failed over the last 5 minutes.",
        PERCENT,
        meaning=(
            "Upstream calls to this provider fail, for a reason the caller did not cause (`alerts.slo_error_types`), "
            f"more often than {fmt(g.ratio * 100)} % of the time. Retries and fallbacks may still hide it "
            "from clients, at the cost of latency and spend."
        ),
        confirm=q.sum_rate(q.sample(PROVIDER_ERRORS), ("provider", "model", "error_type"), RATE),
        action=(
            "Find the error_type and model that dominate; check the provider's status page; for rate_limit see "
            "LitellmRateLimitHeadroom; move traffic with fallbacks or router weights while it lasts."
        ),
    )
    req, err = q.sample(PROVIDER_REQUESTS), q.sample(PROVIDER_ERRORS)
    failing = c.objective.slo_error_types[0]

    def calls(instance: str, per_minute: float, ratio: float, error_type: str = failing, length: int = 40):
        labels = {**base, **MODEL, "instance": instance}
        return [
            (series(req, {**labels, "status_code": "200"}), counter(per_minute, length)),
            (series(err, {**labels, "error_type": error_type}), counter(per_minute * ratio, length)),
        ]

    bad = above(g.ratio)
    cases = [
        boundary(
            "errors over the threshold",
            calls("proxy-a:9464", 100, bad),
            g.for_,
            1,
            (Expected(alert, {"provider": "openai"}, bad),),
        ),
        negative("errors under the threshold", calls("proxy-a:9464", 100, g.ratio / 2), g.for_),
        # one small replica alone is over the threshold, the provider as a whole is not
        negative(
            "two replicas: one over alone, the sum under",
            calls("proxy-a:9464", 10, bad) + calls("proxy-b:9464", 10 * (2 * bad / g.ratio), 0),
            g.for_,
        ),
    ]
    # every call failing, but fewer calls in 5 minutes than alerts.slo_min_calls: a cold start or a trickle
    trickle = c.objective.slo_min_calls / 5 / 2
    cases.append(negative("all failing, too few calls to judge", calls("proxy-a:9464", trickle, 1.0), g.for_))
    if "bad_request" not in c.objective.slo_error_types:
        cases.append(
            negative(
                "client errors do not count against the provider",
                calls("proxy-a:9464", 100, bad, "bad_request"),
                g.for_,
            )
        )
    return Spec((alert,), tuple(cases))


def rate_limit_headroom(c: Context[RateLimitHeadroom, None]) -> Spec:
    g, q, base = c.group, c.scope, c.base
    alerts, cases = [], []
    for resource, left_metric, limit_metric in (
        ("requests", REQUESTS_REMAINING, REQUESTS_LIMIT),
        ("tokens", TOKENS_REMAINING, TOKENS_LIMIT),
    ):
        remaining, limit = q.sample(left_metric), q.sample(limit_metric)
        # Replicas share the upstream quota but each saw its own latest headers: take the tightest.
        expr = (
            f"min by (provider, model) (\n  {q.select(remaining)}\n/\n  ({q.select(limit)} > 0)\n)\n< {fmt(g.ratio)}\n"
        )
        alert = c.alert(
            expr,
            g.for_,
            g.severity,
            "An upstream rate limit is nearly used up.",
            "Only {value} of the " + resource + " rate limit of {provider} / {model} is left.",
            PERCENT,
            labels={"resource": resource},
            meaning=(
                f"The latest x-ratelimit-remaining-{{requests,tokens}} header seen by some replica is under "
                f"{fmt(g.ratio * 100)} % of the limit: the provider will soon answer 429."
            ),
            confirm=f"{q.select(remaining)} / {q.select(limit)}",
            action=(
                "Ask the provider for a higher limit, spread the model over more deployments or keys in the "
                "router, or lower clients' rate limits in LiteLLM."
            ),
        )
        alerts.append(alert)
        labels = {**base, **MODEL}
        for name, left in (("low", g.ratio / 2), ("ample", (g.ratio + 1) / 2)):
            inputs = [
                (series(remaining, labels), constant(1000 * left, 30)),
                (series(limit, labels), constant(1000, 30)),
                # another replica saw plenty left earlier; the tightest view wins
                (series(remaining, {**labels, "instance": "proxy-b:9464"}), constant(1000, 30)),
                (series(limit, {**labels, "instance": "proxy-b:9464"}), constant(1000, 30)),
            ]
            if name == "low":  # gauges: the condition holds from the first sample
                cases.append(boundary(f"{resource} headroom low", inputs, g.for_, 0, (Expected(alert, MODEL, left),)))
            else:
                cases.append(negative(f"{resource} headroom ample", inputs, g.for_, 0))
    return Spec(tuple(alerts), tuple(cases))


def fallbacks_failing(c: Context[FallbacksFailing, None]) -> Spec:
    g, q, base = c.group, c.scope, c.base
    fb = q.sample(FALLBACKS)
    failed = 'success="false"'
    expr = (
        f"{q.sum_rate(fb, ('from_model',), RATE, failed)}\n/\n"
        f"{q.sum_rate(fb, ('from_model',), RATE)}\n> {fmt(g.ratio)}\n"
    )
    alert = c.alert(
        expr,
        g.for_,
        g.severity,
        "Fallbacks from a model mostly fail.",
        "{value} of fallbacks from model {from_model} failed over the last 5 minutes.",
        PERCENT,
        meaning=(
            "When this model group fails, LiteLLM falls back to another, and that fallback fails more than "
            f"{fmt(g.ratio * 100)} % of the time: clients get errors the fallback was meant to prevent."
        ),
        confirm=q.sum_rate(fb, ("from_model", "to_model", "success"), RATE),
        action=(
            "Find the to_model that fails; check it is configured (keys, model names) and healthy; a fallback "
            "to the same provider fails with it, so fall back across providers."
        ),
    )
    labels = {**base, "from_model": "gpt-4o", "to_model": "claude-sonnet"}

    def fallbacks(failed_share: float):
        return [
            (series(fb, {**labels, "success": "false"}), counter(100 * failed_share, 40)),
            (series(fb, {**labels, "success": "true"}), counter(100 * (1 - failed_share), 40)),
        ]

    bad = (g.ratio + 1) / 2
    return Spec(
        (alert,),
        (
            boundary(
                "most fallbacks fail", fallbacks(bad), g.for_, 1, (Expected(alert, {"from_model": "gpt-4o"}, bad),)
            ),
            negative("most fallbacks succeed", fallbacks(g.ratio / 2), g.for_),
        ),
    )


def retry_storm(c: Context[RetryStorm, None]) -> Spec:
    g, q, base = c.group, c.scope, c.base
    retries, requests = q.sample(RETRIES), q.sample(REQUESTS)
    expr = (
        f"{q.sum_rate(retries, ('provider',), RATE)}\n/\n{q.sum_rate(requests, ('provider',), RATE)}\n"
        f"> {fmt(g.retries_per_request)}\n"
    )
    alert = c.alert(
        expr,
        g.for_,
        g.severity,
        "Requests to a provider are retried many times.",
        "Requests answered by provider {provider} needed {value} retries each over the last 5 minutes.",
        RATIO,
        meaning=(
            f"LiteLLM's router retries more than {fmt(g.retries_per_request)} time(s) per client request on "
            "this provider: a failing upstream is multiplying load, latency and spend."
        ),
        confirm=(
            f"{q.sum_rate(retries, ('provider', 'model'), RATE)} / {q.sum_rate(requests, ('provider', 'model'), RATE)}"
        ),
        action=(
            "Look at the provider's error types (LitellmHighErrorRate); lower num_retries or add a cooldown "
            "and fallback in the router so a failing upstream is skipped rather than hammered."
        ),
    )
    labels = {**base, **MODEL}

    def traffic(per_request: float):
        """100 requests a minute, spread over two endpoints: the rule sums over endpoints (a failing provider
        fails them all; per endpoint, half the sample would take longer to show it)."""
        return [
            (series(requests, {**labels, "team": "search", "endpoint": e, "status_code": "200"}), counter(50, 40))
            for e in ("chat_completions", "embeddings")
        ] + [(series(retries, labels), counter(100 * per_request, 40))]

    bad = g.retries_per_request * 2
    return Spec(
        (alert,),
        (
            boundary(
                "retries per request over the threshold",
                traffic(bad),
                g.for_,
                1,
                (Expected(alert, {"provider": "openai"}, bad),),
            ),
            negative("retries per request under the threshold", traffic(g.retries_per_request / 2), g.for_),
        ),
    )


ALERTS = (
    Declaration("LitellmHighErrorRate", HighErrorRate, high_error_rate, reads=slo.Objective),
    Declaration("LitellmRateLimitHeadroom", RateLimitHeadroom, rate_limit_headroom),
    Declaration("LitellmFallbacksFailing", FallbacksFailing, fallbacks_failing),
    Declaration("LitellmRetryStorm", RetryStorm, retry_storm),
)
