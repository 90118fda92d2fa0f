"""Alerts on latency: the proxy's end-to-end p99 per model and endpoint, and the upstream's time to first token;
with their options groups and promtool cases, and `histogram_cases`, the cases every quantile alert shares
(proxy.py's overhead and workers.py's event-loop lag read it too).

Case values derive from the configured thresholds, which are bucket edges (fields.bucket_edge): all
observations in the bucket above the threshold fire, all in the one ending at it do not.

`ALERTS`, at the end, declares them in output order (context.Declaration).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...catalogue import REQUEST_DURATION, TIME_TO_FIRST_TOKEN, Metric
from .. import fields
from ..promql.build import fmt
from .context import Context, Declaration
from .model import MODEL, RATE, SECONDS, Alert, Case, Expected, Spec, boundary, counter, negative, series


@dataclass(frozen=True)
class HighP99Latency:
    seconds: float = fields.bucket_edge(
        30.0, REQUEST_DURATION, "fires when a model's p99 end-to-end latency over 5m is above this"
    )
    for_: str = fields.duration("10m")
    severity: str = fields.severity("warning")


@dataclass(frozen=True)
class HighTimeToFirstToken:
    seconds: float = fields.bucket_edge(
        5.0, TIME_TO_FIRST_TOKEN, "fires when a model's p95 time to first token over 5m is above this"
    )
    for_: str = fields.duration("10m")
    severity: str = fields.severity("warning")


def histogram_cases(
    c: Context,
    alert: Alert,
    histogram: Metric,
    threshold: float,
    quantile: float,
    by: dict[str, str],
    extra: dict[str, str] | None = None,
) -> tuple[Case, ...]:
    """All observations in the bucket above the threshold (fires), or in the one ending at it (does not);
    `extra`: more labels of the input series (an endpoint)."""
    buckets = histogram.buckets
    upper = buckets[buckets.index(threshold) + 1]
    bucket, base = c.scope.sample(histogram), c.base

    def observations(le_with_all: float):
        out = []
        for le in (threshold, upper, float("inf")):
            count = 60 if le >= le_with_all else 0
            le_text = "+Inf" if le == float("inf") else repr(le)
            out.append((series(bucket, {**base, **MODEL, **(extra or {}), "le": le_text}), counter(count, 40)))
        # and its _count, as a real histogram has (a rule may ask how many observations there were)
        total = series(c.scope.sample(histogram, "_count"), {**base, **MODEL, **(extra or {})})
        return [*out, (total, counter(60, 40))]

    # histogram_quantile interpolates linearly inside the bucket
    slow = threshold + (upper - threshold) * quantile
    return (
        boundary("quantile above the threshold", observations(upper), alert.for_, 1, (Expected(alert, by, slow),)),
        negative("quantile at most the threshold", observations(threshold), alert.for_),
    )


def high_p99_latency(c: Context[HighP99Latency, None]) -> Spec:
    g, q = c.group, c.scope
    alert = c.alert(
        f"{q.quantile(0.99, REQUEST_DURATION, ('model', 'endpoint', 'le'), RATE)}\n> {fmt(g.seconds)}\n",
        g.for_,
        g.severity,
        "Client requests to a model are slow.",
        "The p99 end-to-end latency of model {model} on {endpoint} is {value} over the last 5 minutes.",
        SECONDS,
        meaning=(
            f"More than 1 % of client requests to this model group, on this endpoint, took over {fmt(g.seconds)} s "
            "end to end, retries and fallbacks included. Per endpoint: an embedding and a chat completion of one "
            "model differ in latency by orders of magnitude, so a p99 over both would describe neither."
        ),
        confirm=q.quantile(0.99, REQUEST_DURATION, ("model", "endpoint", "provider", "le"), RATE),
        action=(
            "Split by provider to find the slow deployment; compare with provider latency and time to first "
            "token; look for retries (LitellmRetryStorm) and fallbacks adding time; check request sizes."
        ),
    )
    chat = {"endpoint": "chat_completions"}
    return Spec(
        (alert,),
        histogram_cases(c, alert, REQUEST_DURATION, g.seconds, 0.99, {"model": "gpt-4o", **chat}, chat)
        + (_slow_beside_fast(c, alert, g.seconds),),
    )


def _slow_beside_fast(c: Context[HighP99Latency, None], alert: Alert, threshold: float) -> Case:
    """Per endpoint: chat completions all slower than the threshold fire, though 99x as many embeddings of the
    same model answer fast (over both endpoints together, the p99 would be an embedding's)."""
    buckets = REQUEST_DURATION.buckets
    upper = buckets[buckets.index(threshold) + 1]
    bucket = c.scope.sample(REQUEST_DURATION)
    out = []
    for endpoint, per_minute, le_with_all in (("chat_completions", 60, upper), ("embeddings", 99 * 60, buckets[0])):
        for le in (buckets[0], threshold, upper, float("inf")):
            labels = {**c.base, **MODEL, "endpoint": endpoint, "le": "+Inf" if le == float("inf") else repr(le)}
            out.append((series(bucket, labels), counter(per_minute if le >= le_with_all else 0, 40)))
    slow = threshold + (upper - threshold) * 0.99
    fires = (Expected(alert, {"model": "gpt-4o", "endpoint": "chat_completions"}, slow),)
    return boundary("a slow endpoint beside a fast one of the same model", out, alert.for_, 1, fires)


def high_time_to_first_token(c: Context[HighTimeToFirstToken, None]) -> Spec:
    g, q = c.group, c.scope
    quantile = q.quantile(0.95, TIME_TO_FIRST_TOKEN, ("provider", "model", "le"), RATE)
    alert = c.alert(
        f"{quantile}\n> {fmt(g.seconds)}\n",
        g.for_,
        g.severity,
        "Streaming responses start slowly.",
        "The p95 time to first token of {provider} / {model} is {value} over the last 5 minutes.",
        SECONDS,
        meaning=(
            f"More than 5 % of streamed upstream calls took over {fmt(g.seconds)} s to send their "
            "first token: users of chat interfaces see a stall."
        ),
        confirm=quantile,
        action=(
            "Check the provider's status and queueing; long prompts raise time to first token, so compare "
            "input token rates; consider a faster deployment or a fallback for latency."
        ),
    )
    return Spec((alert,), histogram_cases(c, alert, TIME_TO_FIRST_TOKEN, g.seconds, 0.95, MODEL))


ALERTS = (
    Declaration("LitellmHighP99Latency", HighP99Latency, high_p99_latency),
    Declaration("LitellmHighTimeToFirstToken", HighTimeToFirstToken, high_time_to_first_token),
)
