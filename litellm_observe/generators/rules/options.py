"""The `alerts:` options: what every rule shares, the objectives the rules measure against, and one
group per alert, declared beside the alert that reads it (as kubernetes-mixin keeps `_config`).

Directly under `alerts:` sit the options several rules read: the selector, the runbook address and
the scrape job (here), and the objectives: the provider availability SLO (`slo.Objective`, read by
the recording rules, LitellmHighErrorRate and LitellmProviderErrorBudgetBurn), the daily budget
(`cost.DailyBudget`) and the worker memory limit (`workers.WorkerMemory`). Each alert's own
threshold(s), `for` and severity sit in a group named after
the alert without its prefix, in snake case (LitellmHighErrorRate: `alerts.high_error_rate`).
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import fields
from ..promql import selectors
from . import budgets, cost, deployments, health, proxy, slo, upstream, workers

RUNBOOKS_URL = "https://github.com/litellm-observe/litellm-observe/blob/main/docs/runbooks.md"


@dataclass(frozen=True)
class Shared:
    selector: str = fields.selector("", "label matchers added to every rule expression")
    runbook_base_url: str = fields.text(RUNBOOKS_URL, "each alert's runbook_url: this, `#`, the alert's name in "
                                                      "lower case")
    scrape_job: str = fields.label_value("litellm", "the Prometheus job scraping the exporters (LitellmMetricsAbsent)")


@dataclass(frozen=True)
class AlertOptions(workers.WorkerMemory, cost.DailyBudget, slo.Objective, Shared):
    """Fields come in reverse order of the bases (Shared's first), then the groups."""

    high_error_rate: upstream.HighErrorRate = fields.group(upstream.HighErrorRate, "LitellmHighErrorRate")
    rate_limit_headroom: upstream.RateLimitHeadroom = fields.group(upstream.RateLimitHeadroom,
                                                                   "LitellmRateLimitHeadroom")
    high_p99_latency: upstream.HighP99Latency = fields.group(upstream.HighP99Latency, "LitellmHighP99Latency")
    high_time_to_first_token: upstream.HighTimeToFirstToken = fields.group(upstream.HighTimeToFirstToken,
                                                                           "LitellmHighTimeToFirstToken")
    fallbacks_failing: upstream.FallbacksFailing = fields.group(upstream.FallbacksFailing, "LitellmFallbacksFailing")
    retry_storm: upstream.RetryStorm = fields.group(upstream.RetryStorm, "LitellmRetryStorm")
    deployment_down: deployments.DeploymentDown = fields.group(deployments.DeploymentDown, "LitellmDeploymentDown")
    deployment_cooling_down_often: deployments.DeploymentCoolingDownOften = fields.group(
        deployments.DeploymentCoolingDownOften, "LitellmDeploymentCoolingDownOften")
    spend_burn_high: cost.SpendBurnHigh = fields.group(cost.SpendBurnHigh, "LitellmSpendBurnHigh")
    unpriced_traffic: cost.UnpricedTraffic = fields.group(cost.UnpricedTraffic, "LitellmUnpricedTraffic")
    cache_hit_rate_low: cost.CacheHitRateLow = fields.group(cost.CacheHitRateLow, "LitellmCacheHitRateLow")
    budget_nearly_exhausted: budgets.BudgetNearlyExhausted = fields.group(budgets.BudgetNearlyExhausted,
                                                                          "LitellmBudgetNearlyExhausted")
    budget_exhausted_before_reset: budgets.BudgetExhaustedBeforeReset = fields.group(
        budgets.BudgetExhaustedBeforeReset, "LitellmBudgetExhaustedBeforeReset")
    high_proxy_overhead: proxy.HighProxyOverhead = fields.group(proxy.HighProxyOverhead, "LitellmHighProxyOverhead")
    guardrail_errors: proxy.GuardrailErrors = fields.group(proxy.GuardrailErrors, "LitellmGuardrailErrors")
    worker_memory_high: workers.WorkerMemoryHigh = fields.group(workers.WorkerMemoryHigh, "LitellmWorkerMemoryHigh")
    worker_memory_growing: workers.WorkerMemoryGrowing = fields.group(workers.WorkerMemoryGrowing,
                                                                      "LitellmWorkerMemoryGrowing")
    workers_killed: workers.WorkersKilled = fields.group(workers.WorkersKilled, "LitellmWorkersKilled")
    event_loop_lag_high: workers.EventLoopLagHigh = fields.group(workers.EventLoopLagHigh, "LitellmEventLoopLagHigh")
    observe_internal_errors: health.ObserveInternalErrors = fields.group(health.ObserveInternalErrors,
                                                                         "LitellmObserveInternalErrors")
    observe_label_overflow: health.ObserveLabelOverflow = fields.group(health.ObserveLabelOverflow,
                                                                       "LitellmObserveLabelOverflow")
    metrics_absent: health.MetricsAbsent = fields.group(health.MetricsAbsent, "LitellmMetricsAbsent")
    provider_error_budget_burn: slo.ProviderErrorBudgetBurn = fields.group(slo.ProviderErrorBudgetBurn,
                                                                           "LitellmProviderErrorBudgetBurn")

    def matchers(self) -> tuple[selectors.Matcher, ...]:
        return selectors.parse(self.selector)
