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
from .model import PERCENT, RATE, SECONDS, Expected, Spec, above, boundary, counter, negative, series
from .upstream import histogram_cases


@dataclass(frozen=True)
class HighProxyOverhead:
    seconds: float = fields.bucket_edge(
        0.25,
        OVERHEAD_LATENCY,
        "fires when the p95 of the time LiteLLM adds to a model's requests over 5m is above this",
    )
    for_: str = fields.duration("10m")
    severity: str = fields.severity("warning")


@dataclass(frozen=True)
class GuardrailErrors:
    ratio: float = fields.ratio(0.05, "fires when more than this share of a guardrail's runs over 5m fail to run")
    for_: str = fields.duration("5m")
    severity: str = fields.severity("warning")


def high_proxy_overhead(c: Context[HighProxyOverhead, None]) -> Spec:
    g, q = c.group, c.scope
    alert = c.alert(
        f"{q.quantile(0.95, OVERHEAD_LATENCY, ('model', 'le'), RATE)}\n> {fmt(g.seconds)}\n",
        g.for_,
        g.severity,
        "LiteLLM itself adds too much time to requests.",
        "The p95 of the time LiteLLM adds to requests for model {model} is {value} over the last 5 minutes.",
        SECONDS,
        meaning=(
            f"More than 5 % of this model's requests spent over {fmt(g.seconds)} s inside LiteLLM itself "
            "(auth, key and budget lookups, routing, callbacks), not waiting for the upstream. LiteLLM reports "
            "it for non-streamed successes."
        ),
        confirm=q.quantile(0.95, OVERHEAD_LATENCY, ("model", "provider", "le"), RATE),
        action=(
            "Check the proxy's CPU and event-loop lag (too few workers for the load), its database and Redis "
            "latency (key and budget lookups), and slow callbacks or guardrails (Guardrail latency on the "
            "Overview dashboard); add workers or replicas."
        ),
    )
    return Spec((alert,), histogram_cases(c, alert, OVERHEAD_LATENCY, g.seconds, 0.95, {"model": "gpt-4o"}))


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
