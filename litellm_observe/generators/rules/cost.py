"""Alerts on what the proxy costs: spend against the daily budget, and a cache that rarely hits;
each with its options and its promtool cases.

`ALERTS`, at the end, declares them in output order (context.Declaration).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...catalogue import CACHE_HITS, CACHE_MISSES, SPEND_USD, UNPRICED_REQUESTS
from .. import fields
from ..promql import durations
from ..promql.build import fmt
from .context import Context, Declaration
from .model import COUNT, MODEL, PERCENT, RATE, Expected, Spec, boundary, constant, counter, negative, series


@dataclass(frozen=True)
class DailyBudget:
    """An objective, like the SLO's: it sits directly under `alerts:`."""

    daily_budget_usd: float = fields.positive(
        1000.0, "US dollars the whole fleet may spend in a day (LitellmSpendBurnHigh)"
    )


@dataclass(frozen=True)
class SpendBurnHigh:
    for_: str = fields.duration("15m")
    severity: str = fields.severity("warning")


@dataclass(frozen=True)
class UnpricedTraffic:
    for_: str = fields.duration("15m")
    severity: str = fields.severity("warning")


@dataclass(frozen=True)
class CacheHitRateLow:
    ratio: float = fields.ratio(0.3, "fires when a model's cache hit share over 5m is under this")
    for_: str = fields.duration("30m")
    severity: str = fields.severity("info")


def spend_burn_high(c: Context[SpendBurnHigh, DailyBudget]) -> Spec:
    g, q, base, budget = c.group, c.scope, c.base, c.objective.daily_budget_usd
    spend = q.sample(SPEND_USD)
    # `sum(` by hand: the builder writes `sum (` and this committed rule has always read `sum(`
    expr = f"sum(increase({q.select(spend)}[1h])) * 24\n> {fmt(budget)}\n"
    alert = c.alert(
        expr,
        g.for_,
        g.severity,
        "Spend is on course to exceed the daily budget.",
        f"Spend over the last hour projects to {{value}} USD a day, over the budget of {fmt(budget)} USD.",
        COUNT,
        meaning=(
            f"The last hour's spend, summed over every replica, provider, model and team, times 24, is over "
            f"`alerts.daily_budget_usd` ({fmt(budget)} USD)."
        ),
        confirm=q.sum_increase(spend, ("team", "provider", "model"), "1h"),
        action=(
            "Find the team and model behind the rise; check for a runaway client or loop, a retry storm, or a "
            "switch to a pricier model; use LiteLLM budgets and rate limits on the key or team."
        ),
    )
    # $share of the hourly budget spent in one go at minute 60 by each of two replicas
    hour_budget = budget / 24

    def replicas(share: float, count: int):
        return [
            (
                series(spend, {**base, **MODEL, "team": "search", "instance": f"proxy-{i}:9464"}),
                f"0+0x59 {hour_budget * share!r}+0x40",
            )
            for i in range(count)
        ]

    return Spec(
        (alert,),
        (
            # 0.75 of the budget each: neither replica alone is over, together they are
            boundary(
                "two replicas together over the budget",
                replicas(0.75, 2),
                g.for_,
                60,
                (Expected(alert, {}, budget * 1.5),),
            ),
            negative("one replica under the budget", replicas(0.75, 1), g.for_, 60),
        ),
    )


def cache_hit_rate_low(c: Context[CacheHitRateLow, None]) -> Spec:
    g, q, base = c.group, c.scope, c.base
    hits, misses = q.sample(CACHE_HITS), q.sample(CACHE_MISSES)
    h, m = q.sum_rate(hits, ("model",), RATE), q.sum_rate(misses, ("model",), RATE)
    # misses only exist where a cache is configured; `or 0 * misses` keeps models with no hit yet
    expr = f"({h}\nor 0 * {m})\n/\n(({h}\nor 0 * {m})\n+ {m})\n< {fmt(g.ratio)}\n"
    alert = c.alert(
        expr,
        g.for_,
        g.severity,
        "The response cache rarely hits.",
        "Only {value} of cache lookups for model {model} hit over the last 5 minutes.",
        PERCENT,
        meaning=(
            f"Caching is on for this model but fewer than {fmt(g.ratio * 100)} % of lookups hit: "
            "the cache costs latency and memory and saves little spend."
        ),
        confirm=f"{h} / ({h} + {m})",
        action=(
            "Check the cache's TTL and key (prompts with timestamps or user ids never repeat); if the traffic "
            "is not repetitive, turn caching off for this model."
        ),
    )
    labels = {**base, "model": "gpt-4o"}

    def lookups(hit_share: float | None):
        out = [(series(misses, labels), counter(100 * (1 - (hit_share or 0)), 60))]
        if hit_share is not None:
            out.append((series(hits, labels), counter(100 * hit_share, 60)))
        return out

    def expect(value: float):
        return (Expected(alert, {"model": "gpt-4o"}, value),)

    return Spec(
        (alert,),
        (
            boundary("hit rate under the threshold", lookups(g.ratio / 2), g.for_, 1, expect(g.ratio / 2)),
            boundary("misses and no hit series yet", lookups(None), g.for_, 1, expect(0.0)),
            negative("hit rate over the threshold", lookups((g.ratio + 1) / 2), g.for_),
        ),
    )


def unpriced_traffic(c: Context[UnpricedTraffic, None]) -> Spec:
    g, q, base = c.group, c.scope, c.base
    unpriced = q.sample(UNPRICED_REQUESTS)
    alert = c.alert(
        f"{q.sum_increase(unpriced, ('provider', 'model'), '1h')} > 0\n",
        g.for_,
        g.severity,
        "A model serves traffic LiteLLM cannot price.",
        "{value} successful calls to model {model} ({provider}) used tokens but got no price over the last hour.",
        COUNT,
        meaning=(
            "LiteLLM has no price for this model, so its calls cost 0: spend, budgets and "
            "LitellmSpendBurnHigh undercount, and a budget never stops the client. Common after adding a new "
            "model, a fine-tune or a self-hosted one, or a fallback to a model missing from the price map."
        ),
        confirm=q.sum_increase(unpriced, ("provider", "model"), "1h"),
        action=(
            "Give the deployment a price in the proxy config (`input_cost_per_token`, `output_cost_per_token` "
            "in its litellm_params or model_info), or update LiteLLM's model price map."
        ),
    )
    labels = {**base, **MODEL}
    return Spec(
        (alert,),
        (
            boundary(
                "unpriced calls",
                [(series(unpriced, labels), counter(1, 40))],
                g.for_,
                1,
                (Expected(alert, dict(MODEL), 1.0 * (1 + durations.minutes(g.for_))),),
            ),
            negative("an unpriced count that does not grow", [(series(unpriced, labels), constant(5, 90))], g.for_, 60),
        ),
    )


ALERTS = (
    Declaration("LitellmSpendBurnHigh", SpendBurnHigh, spend_burn_high, reads=DailyBudget),
    Declaration("LitellmUnpricedTraffic", UnpricedTraffic, unpriced_traffic),
    Declaration("LitellmCacheHitRateLow", CacheHitRateLow, cache_hit_rate_low),
)
