"""Alerts on the proxy's own work: the time LiteLLM adds to requests, and guardrails that fail to
run; each with its options group and its promtool cases.

`ALERTS`, at the end, declares them in output order (context.Declaration).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...catalogue import GUARDRAIL_REQUESTS, OVERHEAD_LATENCY
from .. import fields
from ..promql.build import fmt
from .context import Context, Declaration
from .latency import histogram_cases
from .model import MODEL, PERCENT, RATE, SECONDS, Expected, Spec, above, boundary, counter, negative, series


@dataclass(frozen=True)
class HighProxyOverhead:
    seconds: float = fields.bucket_edge(
        0.25,
        OVERHEAD_LATENCY,
        "fires when the p95 of the time LiteLLM adds to a model's requests over 5m is above this",
    )
    min_requests: float = fields.positive(50, "... over at least this many of the model's requests in those 5m")
    for_: str = fields.duration("10m")
    severity: str = fields.severity("warning")


@dataclass(frozen=True)
class GuardrailErrors:
    ratio: float = fields.ratio(0.05, "fires when more than this share of a guardrail's runs over 5m fail to run")
    for_: str = fields.duration("5m")
    severity: str = fields.severity("warning")


def high_proxy_overhead(c: Context[HighProxyOverhead, None]) -> Spec:
    g, q = c.group, c.scope
    counted = q.sum_increase(q.sample(OVERHEAD_LATENCY, "_count"), ("model",), RATE)  # how many requests
    alert = c.alert(
        f"{q.quantile(0.95, OVERHEAD_LATENCY, ('model', 'le'), RATE)}\n> {fmt(g.seconds)}\n"
        f"and on (model)\n{counted} >= {fmt(g.min_requests)}\n",
        g.for_,
        g.severity,
        "LiteLLM itself adds too much time to requests.",
        "The p95 of the time LiteLLM adds to requests for model {model} is {value} over the last 5 minutes.",
        SECONDS,
        meaning=(
            f"More than 5 % of this model's requests spent over {fmt(g.seconds)} s inside LiteLLM itself "
            "(auth, key and budget lookups, routing, callbacks), not waiting for the upstream. LiteLLM reports "
            f"it for non-streamed successes. Judged only over {fmt(g.min_requests)} requests or more in 5 minutes: "
            "a cold start's first requests (imports, caches, connections) are slow and prove nothing."
        ),
        confirm=q.quantile(0.95, OVERHEAD_LATENCY, ("model", "provider", "le"), RATE),
        action=(
            "Check the proxy's CPU and event-loop lag (too few workers for the load), its database and Redis "
            "latency (key and budget lookups), and slow callbacks or guardrails (Guardrail latency on the "
            "Overview dashboard); add workers or replicas."
        ),
    )
    cases = histogram_cases(c, alert, OVERHEAD_LATENCY, g.seconds, 0.95, {"model": "gpt-4o"})
    return Spec((alert,), cases + (_cold_start(c, alert, g.seconds, g.min_requests),))


def _cold_start(c: Context[HighProxyOverhead, None], alert, threshold: float, min_requests: float):
    """A few slow requests (fewer than min_requests in any 5 minutes), all over the threshold: no alert."""
    buckets = OVERHEAD_LATENCY.buckets
    upper = buckets[buckets.index(threshold) + 1]
    bucket = c.scope.sample(OVERHEAD_LATENCY)
    per_minute = max(1.0, min_requests / 5 / 2)  # half the minimum over 5 minutes
    out = []
    for le in (threshold, upper, float("inf")):
        labels = {**c.base, **MODEL, "le": "+Inf" if le == float("inf") else repr(le)}
        out.append((series(bucket, labels), counter(per_minute if le >= upper else 0, 40)))
    out.append((series(c.scope.sample(OVERHEAD_LATENCY, "_count"), {**c.base, **MODEL}), counter(per_minute, 40)))
    return negative("slow, but too few requests to judge (a cold start)", out, alert.for_)


def guardrail_errors(c: Context[GuardrailErrors, None]) -> Spec:
    g, q, base = c.group, c.scope, c.base
    runs = q.sample(GUARDRAIL_REQUESTS)
    failed = q.sum_rate(runs, ("guardrail",), RATE, 'outcome="error"')
    expr = f"{failed}\n/\n{q.sum_rate(runs, ('guardrail',), RATE)}\n> {fmt(g.ratio)}\n"
    alert = c.alert(
        expr,
        g.for_,
        g.severity,
        "A guardrail fails to run.",
        "{value} of the runs of guardrail {guardrail} failed over the last 5 minutes.",
        PERCENT,
        meaning=(
            f"More than {fmt(g.ratio * 100)} % of this guardrail's runs ended in an error (the guardrail "
            "itself failed: a moderation API down, a timeout, a bug), not in a pass or a block. Depending on "
            "the guardrail, requests are then rejected or pass unchecked."
        ),
        confirm=q.sum_rate(runs, ("guardrail", "hook", "outcome"), RATE),
        action=(
            "Read the proxy log for the guardrail's exceptions; check the moderation or PII service it calls "
            "and its credentials; decide whether it should fail open or closed while it is down."
        ),
    )
    labels = {**base, "guardrail": "pii-mask", "hook": "pre_call"}

    def runs_of(error_share: float, instance: str = "proxy-a:9464", per_minute: float = 100):
        b = {**labels, "instance": instance}
        return [
            (series(runs, {**b, "outcome": "passed"}), counter(per_minute * (1 - error_share), 40)),
            (series(runs, {**b, "outcome": "error"}), counter(per_minute * error_share, 40)),
        ]

    bad = above(g.ratio)
    return Spec(
        (alert,),
        (
            boundary("many runs fail", runs_of(bad), g.for_, 1, (Expected(alert, {"guardrail": "pii-mask"}, bad),)),
            negative("few runs fail", runs_of(g.ratio / 2), g.for_),
            negative(
                "two replicas: one small one failing, the sum under",
                runs_of(bad, "proxy-a:9464", 10) + runs_of(0, "proxy-b:9464", 10 * (2 * bad / g.ratio)),
                g.for_,
            ),
        ),
    )


ALERTS = (
    Declaration("LitellmHighProxyOverhead", HighProxyOverhead, high_proxy_overhead),
    Declaration("LitellmGuardrailErrors", GuardrailErrors, guardrail_errors),
)
