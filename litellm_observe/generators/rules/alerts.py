"""The alerts other than the SLO's, each with its promtool cases, all from AlertSettings.

Case values derive from the configured thresholds (twice the threshold, half of it, ...),
so the generated tests keep proving the rules whatever the configuration. Series carry an
`instance` label: each proxy replica is its own scrape target, and every expression sums
over replicas.
"""
from __future__ import annotations

from ...catalogue import metric
from ...settings import Settings
from . import slo
from .model import (COUNT, PERCENT, RATIO, SECONDS, Alert, Case, Expected, Spec, boundary, constant, counter,
                    negative, series)
from .promql import SCRAPE_UP, equality_labels, fmt, sample, selector, selector_labels, sum_rate

RATE = "5m"  # rate window of the ratio and quantile alerts
MODEL = {"provider": "openai", "model": "gpt-4o"}


def base_labels(settings: Settings) -> dict[str, str]:
    """Labels every test input series has: scrape target labels and the configured selector's."""
    return {"job": settings.alerts.scrape_job, "instance": "proxy-a:9464", **selector_labels(settings)}


def _above(threshold: float, ceiling: float = 1.0) -> float:
    """A value clearly over a ratio threshold, still under the ceiling."""
    return min(threshold * 2, (threshold + ceiling) / 2)


def high_error_rate(s: Settings, base: dict) -> Spec:
    a = s.alerts
    alert = Alert(
        "LitellmHighErrorRate", f"{slo.ratio_record(RATE, s)} > {fmt(a.error_ratio)}\n", a.error_ratio_for,
        a.error_ratio_severity, "A provider fails too many upstream calls.",
        "{value} of upstream calls to provider {provider} failed over the last 5 minutes.", PERCENT,
        meaning=("Upstream calls to this provider fail, for a reason the caller did not cause (`alerts.slo_error_types`), "
                 f"more often than {fmt(a.error_ratio * 100)} % of the time. Retries and fallbacks may still hide it "
                 "from clients, at the cost of latency and spend."),
        confirm=f"sum by (provider, model, error_type) (rate({selector(sample('provider_errors', s), s)}[5m]))",
        action=("Find the error_type and model that dominate; check the provider's status page; for rate_limit see "
                "LitellmRateLimitHeadroom; move traffic with fallbacks or router weights while it lasts."))
    req, err = sample("provider_requests", s), sample("provider_errors", s)
    failing = a.slo_error_types[0]

    def calls(instance: str, per_minute: float, ratio: float, error_type: str = failing, length: int = 40):
        labels = {**base, **MODEL, "instance": instance}
        return [(series(req, {**labels, "status_code": "200"}), counter(per_minute, length)),
                (series(err, {**labels, "error_type": error_type}), counter(per_minute * ratio, length))]

    bad = _above(a.error_ratio)
    cases = [
        boundary("errors over the threshold", calls("proxy-a:9464", 100, bad), a.error_ratio_for, 1,
                 (Expected(alert, {"provider": "openai"}, bad),)),
        negative("errors under the threshold", calls("proxy-a:9464", 100, a.error_ratio / 2), a.error_ratio_for),
        # one small replica alone is over the threshold, the provider as a whole is not
        negative("two replicas: one over alone, the sum under",
                 calls("proxy-a:9464", 10, bad) + calls("proxy-b:9464", 10 * (2 * bad / a.error_ratio), 0),
                 a.error_ratio_for),
    ]
    if "bad_request" not in a.slo_error_types:
        cases.append(negative("client errors do not count against the provider",
                              calls("proxy-a:9464", 100, bad, "bad_request"), a.error_ratio_for))
    return Spec((alert,), tuple(cases))


def ratelimit_headroom(s: Settings, base: dict) -> Spec:
    a = s.alerts
    alerts, cases = [], []
    for resource in ("requests", "tokens"):
        remaining, limit = sample(f"{resource}_remaining", s), sample(f"{resource}_limit", s)
        # Replicas share the upstream quota but each saw its own latest headers: take the tightest.
        expr = (f"min by (provider, model) (\n  {selector(remaining, s)}\n/\n  ({selector(limit, s)} > 0)\n)\n"
                f"< {fmt(a.ratelimit_headroom)}\n")
        alert = Alert(
            "LitellmRateLimitHeadroom", expr, a.ratelimit_headroom_for, a.ratelimit_headroom_severity,
            "An upstream rate limit is nearly used up.",
            "Only {value} of the " + resource + " rate limit of {provider} / {model} is left.", PERCENT,
            labels={"resource": resource},
            meaning=(f"The latest x-ratelimit-remaining-{{requests,tokens}} header seen by some replica is under "
                     f"{fmt(a.ratelimit_headroom * 100)} % of the limit: the provider will soon answer 429."),
            confirm=f"{selector(remaining, s)} / {selector(limit, s)}",
            action=("Ask the provider for a higher limit, spread the model over more deployments or keys in the "
                    "router, or lower clients' rate limits in LiteLLM."))
        alerts.append(alert)
        labels = {**base, **MODEL}
        for name, left in (("low", a.ratelimit_headroom / 2), ("ample", (a.ratelimit_headroom + 1) / 2)):
            inputs = [(series(remaining, labels), constant(1000 * left, 30)),
                      (series(limit, labels), constant(1000, 30)),
                      # another replica saw plenty left earlier; the tightest view wins
                      (series(remaining, {**labels, "instance": "proxy-b:9464"}), constant(1000, 30)),
                      (series(limit, {**labels, "instance": "proxy-b:9464"}), constant(1000, 30))]
            if name == "low":  # gauges: the condition holds from the first sample
                cases.append(boundary(f"{resource} headroom low", inputs, a.ratelimit_headroom_for, 0,
                                      (Expected(alert, MODEL, left),)))
            else:
                cases.append(negative(f"{resource} headroom ample", inputs, a.ratelimit_headroom_for, 0))
    return Spec(tuple(alerts), tuple(cases))


def _histogram_cases(alert: Alert, name: str, s: Settings, base: dict, threshold: float, q: float,
                     by: dict[str, str]) -> tuple[Case, ...]:
    """All observations in the bucket above the threshold (fires), or in the one ending at it (does not)."""
    buckets = metric(name).buckets
    upper = buckets[buckets.index(threshold) + 1]
    bucket = sample(name, s)

    def observations(le_with_all: float):
        out = []
        for le in (threshold, upper, float("inf")):
            count = 60 if le >= le_with_all else 0
            le_text = "+Inf" if le == float("inf") else repr(le)
            out.append((series(bucket, {**base, **MODEL, "le": le_text}), counter(count, 40)))
        return out

    # histogram_quantile interpolates linearly inside the bucket
    slow = threshold + (upper - threshold) * q
    return (boundary("quantile above the threshold", observations(upper), alert.for_, 1,
                     (Expected(alert, by, slow),)),
            negative("quantile at most the threshold", observations(threshold), alert.for_))


def high_p99_latency(s: Settings, base: dict) -> Spec:
    a = s.alerts
    bucket = sample("request_duration_seconds", s)
    alert = Alert(
        "LitellmHighP99Latency",
        f"histogram_quantile(0.99, {sum_rate(bucket, s, ('model', 'le'), RATE)})\n> {fmt(a.p99_latency_seconds)}\n",
        a.p99_latency_for, a.p99_latency_severity, "Client requests to a model are slow.",
        "The p99 end-to-end latency of model {model} is {value} over the last 5 minutes.", SECONDS,
        meaning=(f"More than 1 % of client requests to this model group took over {fmt(a.p99_latency_seconds)} s "
                 "end to end, retries and fallbacks included."),
        confirm=f"histogram_quantile(0.99, {sum_rate(bucket, s, ('model', 'provider', 'le'), RATE)})",
        action=("Split by provider to find the slow deployment; compare with provider latency and time to first "
                "token; look for retries (LitellmRetryStorm) and fallbacks adding time; check request sizes."))
    return Spec((alert,), _histogram_cases(alert, "request_duration_seconds", s, base, a.p99_latency_seconds, 0.99,
                                           {"model": "gpt-4o"}))


def high_ttft(s: Settings, base: dict) -> Spec:
    a = s.alerts
    bucket = sample("time_to_first_token_seconds", s)
    alert = Alert(
        "LitellmHighTimeToFirstToken",
        f"histogram_quantile(0.95, {sum_rate(bucket, s, ('provider', 'model', 'le'), RATE)})\n"
        f"> {fmt(a.p95_ttft_seconds)}\n",
        a.p95_ttft_for, a.p95_ttft_severity, "Streaming responses start slowly.",
        "The p95 time to first token of {provider} / {model} is {value} over the last 5 minutes.", SECONDS,
        meaning=(f"More than 5 % of streamed upstream calls took over {fmt(a.p95_ttft_seconds)} s to send their "
                 "first token: users of chat interfaces see a stall."),
        confirm=f"histogram_quantile(0.95, {sum_rate(bucket, s, ('provider', 'model', 'le'), RATE)})",
        action=("Check the provider's status and queueing; long prompts raise time to first token, so compare "
                "input token rates; consider a faster deployment or a fallback for latency."))
    return Spec((alert,), _histogram_cases(alert, "time_to_first_token_seconds", s, base, a.p95_ttft_seconds, 0.95,
                                           MODEL))


def fallbacks_failing(s: Settings, base: dict) -> Spec:
    a = s.alerts
    fb = sample("fallbacks", s)
    failed = 'success="false"'
    expr = (f"{sum_rate(fb, s, ('from_model',), RATE, failed)}\n/\n"
            f"{sum_rate(fb, s, ('from_model',), RATE)}\n> {fmt(a.fallback_failure_ratio)}\n")
    alert = Alert(
        "LitellmFallbacksFailing", expr, a.fallback_failure_for, a.fallback_failure_severity,
        "Fallbacks from a model mostly fail.",
        "{value} of fallbacks from model {from_model} failed over the last 5 minutes.", PERCENT,
        meaning=("When this model group fails, LiteLLM falls back to another, and that fallback fails more than "
                 f"{fmt(a.fallback_failure_ratio * 100)} % of the time: clients get errors the fallback was meant "
                 "to prevent."),
        confirm=f"sum by (from_model, to_model, success) (rate({selector(fb, s)}[5m]))",
        action=("Find the to_model that fails; check it is configured (keys, model names) and healthy; a fallback "
                "to the same provider fails with it, so fall back across providers."))
    labels = {**base, "from_model": "gpt-4o", "to_model": "claude-sonnet"}

    def fallbacks(failed_share: float):
        return [(series(fb, {**labels, "success": "false"}), counter(100 * failed_share, 40)),
                (series(fb, {**labels, "success": "true"}), counter(100 * (1 - failed_share), 40))]

    bad = (a.fallback_failure_ratio + 1) / 2
    return Spec((alert,), (
        boundary("most fallbacks fail", fallbacks(bad), alert.for_, 1, (Expected(alert, {"from_model": "gpt-4o"}, bad),)),
        negative("most fallbacks succeed", fallbacks(a.fallback_failure_ratio / 2), alert.for_)))


def retry_storm(s: Settings, base: dict) -> Spec:
    a = s.alerts
    retries, requests = sample("retries", s), sample("requests", s)
    expr = (f"{sum_rate(retries, s, ('provider',), RATE)}\n/\n{sum_rate(requests, s, ('provider',), RATE)}\n"
            f"> {fmt(a.retries_per_request)}\n")
    alert = Alert(
        "LitellmRetryStorm", expr, a.retries_for, a.retries_severity,
        "Requests to a provider are retried many times.",
        "Requests answered by provider {provider} needed {value} retries each over the last 5 minutes.", RATIO,
        meaning=(f"LiteLLM's router retries more than {fmt(a.retries_per_request)} time(s) per client request on "
                 "this provider: a failing upstream is multiplying load, latency and spend."),
        confirm=f"{sum_rate(retries, s, ('provider', 'model'), RATE)} / {sum_rate(requests, s, ('provider', 'model'), RATE)}",
        action=("Look at the provider's error types (LitellmHighErrorRate); lower num_retries or add a cooldown "
                "and fallback in the router so a failing upstream is skipped rather than hammered."))
    labels = {**base, **MODEL}

    def traffic(per_request: float):
        return [(series(requests, {**labels, "team": "search", "status_code": "200"}), counter(100, 40)),
                (series(retries, labels), counter(100 * per_request, 40))]

    bad = a.retries_per_request * 2
    return Spec((alert,), (
        boundary("retries per request over the threshold", traffic(bad), alert.for_, 1,
                 (Expected(alert, {"provider": "openai"}, bad),)),
        negative("retries per request under the threshold", traffic(a.retries_per_request / 2), alert.for_)))


def spend_burn(s: Settings, base: dict) -> Spec:
    a = s.alerts
    spend = sample("spend_usd", s)
    expr = f"sum(increase({selector(spend, s)}[1h])) * 24\n> {fmt(a.daily_budget_usd)}\n"
    alert = Alert(
        "LitellmSpendBurnHigh", expr, a.spend_burn_for, a.spend_burn_severity,
        "Spend is on course to exceed the daily budget.",
        "Spend over the last hour projects to {value} USD a day, over the budget of "
        f"{fmt(a.daily_budget_usd)} USD.", COUNT,
        meaning=(f"The last hour's spend, summed over every replica, provider, model and team, times 24, is over "
                 f"`alerts.daily_budget_usd` ({fmt(a.daily_budget_usd)} USD)."),
        confirm=f"sum by (team, provider, model) (increase({selector(spend, s)}[1h]))",
        action=("Find the team and model behind the rise; check for a runaway client or loop, a retry storm, or a "
                "switch to a pricier model; use LiteLLM budgets and rate limits on the key or team."))
    # $share of the hourly budget spent in one go at minute 60 by each of two replicas
    hour_budget = a.daily_budget_usd / 24

    def replicas(share: float, count: int):
        return [(series(spend, {**base, **MODEL, "team": "search", "instance": f"proxy-{i}:9464"}),
                 f"0+0x59 {hour_budget * share!r}+0x40") for i in range(count)]

    return Spec((alert,), (
        # 0.75 of the budget each: neither replica alone is over, together they are
        boundary("two replicas together over the budget", replicas(0.75, 2), alert.for_, 60,
                 (Expected(alert, {}, a.daily_budget_usd * 1.5),)),
        negative("one replica under the budget", replicas(0.75, 1), alert.for_, 60)))


def cache_hit_rate_low(s: Settings, base: dict) -> Spec:
    a = s.alerts
    hits, misses = sample("cache_hits", s), sample("cache_misses", s)
    h, m = sum_rate(hits, s, ("model",), RATE), sum_rate(misses, s, ("model",), RATE)
    # misses only exist where a cache is configured; `or 0 * misses` keeps models with no hit yet
    expr = f"({h}\nor 0 * {m})\n/\n(({h}\nor 0 * {m})\n+ {m})\n< {fmt(a.cache_hit_ratio)}\n"
    alert = Alert(
        "LitellmCacheHitRateLow", expr, a.cache_hit_for, a.cache_hit_severity,
        "The response cache rarely hits.",
        "Only {value} of cache lookups for model {model} hit over the last 5 minutes.", PERCENT,
        meaning=(f"Caching is on for this model but fewer than {fmt(a.cache_hit_ratio * 100)} % of lookups hit: "
                 "the cache costs latency and memory and saves little spend."),
        confirm=f"{h} / ({h} + {m})",
        action=("Check the cache's TTL and key (prompts with timestamps or user ids never repeat); if the traffic "
                "is not repetitive, turn caching off for this model."))
    labels = {**base, "model": "gpt-4o"}

    def lookups(hit_share: float | None):
        out = [(series(misses, labels), counter(100 * (1 - (hit_share or 0)), 60))]
        if hit_share is not None:
            out.append((series(hits, labels), counter(100 * hit_share, 60)))
        return out

    expect = lambda v: (Expected(alert, {"model": "gpt-4o"}, v),)  # noqa: E731
    return Spec((alert,), (
        boundary("hit rate under the threshold", lookups(a.cache_hit_ratio / 2), alert.for_, 1,
                 expect(a.cache_hit_ratio / 2)),
        boundary("misses and no hit series yet", lookups(None), alert.for_, 1, expect(0.0)),
        negative("hit rate over the threshold", lookups((a.cache_hit_ratio + 1) / 2), alert.for_)))


def metrics_absent(s: Settings, base: dict) -> Spec:
    a = s.alerts
    up = selector(SCRAPE_UP, s, f'job="{a.scrape_job}"')
    alert = Alert(
        "LitellmMetricsAbsent", f"{up} == 0\nor\nabsent({up})\n", a.absent_for, a.absent_severity,
        "Prometheus gets no metrics from a litellm-observe exporter.",
        "Exporter target {instance} of job {job} is down or missing (up = {value}; no instance: "
        "Prometheus has no such target).", COUNT,
        meaning=(f"A target of job `{a.scrape_job}` failed its scrapes (up = 0), or Prometheus has no target in "
                 "that job at all (up absent: the proxy is gone, service discovery lost it, or "
                 "`alerts.scrape_job` does not match the scrape config). Every other alert here is blind meanwhile."),
        confirm=f"{up}",
        action=(f"Open Prometheus' Targets page for job `{a.scrape_job}`; check the proxy is running and the "
                f"exporter answers `curl http://<host>:{s.port}/metrics`; check credentials if bearer or basic "
                "auth is configured."))
    other = {**base, "job": "prometheus", "instance": "localhost:9090"}
    down = {**base, "instance": "proxy-b:9464"}
    absent_labels = {"job": a.scrape_job, **equality_labels(s)}  # absent() keeps equality matchers only
    return Spec((alert,), (
        boundary("one replica's exporter down", [(series(SCRAPE_UP, base), constant(1, 30)),
                                                 (series(SCRAPE_UP, down), constant(0, 30))], alert.for_, 0,
                 (Expected(alert, down, 0),)),
        boundary("no exporter target at all", [(series(SCRAPE_UP, other), constant(1, 30))], alert.for_, 0,
                 (Expected(alert, absent_labels, 1),)),
        negative("every exporter up", [(series(SCRAPE_UP, base), constant(1, 30)),
                                       (series(SCRAPE_UP, down), constant(1, 30))], alert.for_, 0)))


def _self_errors(s: Settings, base: dict, alert_name: str, metric_name: str, label: str, value: str,
                 for_: str, severity: str, summary: str, meaning: str, action: str) -> Spec:
    total = sample(metric_name, s)
    alert = Alert(
        alert_name, f"sum by ({label}) (increase({selector(total, s)}[5m])) > 0\n", for_, severity, summary,
        "litellm-observe lost {value} events at " + label + " {" + label + "} over the last 5 minutes.", COUNT,
        meaning=meaning, confirm=f"sum by ({label}) (increase({selector(total, s)}[1h]))", action=action)
    labels = {**base, label: value}
    return Spec((alert,), (
        boundary("losing data", [(series(total, labels), counter(2, 30))], for_, 1,
                 (Expected(alert, {label: value}, 10.0),)),
        negative("lost data long ago, none since", [(series(total, labels), constant(3, 30))], for_)))


def internal_errors(s: Settings, base: dict) -> Spec:
    return _self_errors(
        s, base, "LitellmObserveInternalErrors", "observe_internal_errors", "hook", "async_log_success_event",
        s.alerts.internal_errors_for, s.alerts.internal_errors_severity,
        "The litellm-observe logger is failing to record events.",
        "The logger raised while recording an event and dropped it; metrics undercount from then on. The `hook` "
        "label says where: a LiteLLM hook; `exporter_read`, a dead worker's unreadable sample file was set aside "
        "and its samples lost; `exporter_read_retry`, the exporter could not read a file for now (too many open "
        "files, out of memory) and served the last values, which loses nothing unless it lasts.",
        "Read the proxy's log for `litellm_observe` errors (logged at most once a minute per hook). For a full "
        "metrics directory, free space or move `metrics_dir`; for `exporter_read_retry`, raise the exporter's "
        "open-file limit or find what holds so many connections; otherwise report them with the litellm version "
        "from build_info: a litellm upgrade that changed a payload is the usual cause.")


def label_overflow(s: Settings, base: dict) -> Spec:
    return _self_errors(
        s, base, "LitellmObserveLabelOverflow", "observe_label_overflow", "label", "team",
        s.alerts.label_overflow_for, s.alerts.label_overflow_severity,
        "A metric label reached its cap of distinct values.",
        "A label reached its cap of distinct values in this proxy run; new values are recorded as `overflow`, "
        "so per-value breakdowns are incomplete.",
        "Raise `label_caps` for that label if the values are legitimate (more teams or models), or find the "
        "client sending ever-new values (for example a model name with a random suffix).")


SPECS = (high_error_rate, ratelimit_headroom, high_p99_latency, high_ttft, fallbacks_failing, retry_storm,
         spend_burn, cache_hit_rate_low, internal_errors, label_overflow, metrics_absent)


def specs(settings: Settings) -> list[Spec]:
    base = base_labels(settings)
    return [build(settings, base) for build in SPECS] + [slo.spec(settings, base)]
