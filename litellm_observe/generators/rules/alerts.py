"""Every alert, in the order the rule files list them: each builder makes one alert name's rules and
the promtool cases that prove them, from the options (its group under `alerts:` is declared beside
it, in upstream.py, deployments.py, cost.py, budgets.py, proxy.py, workers.py, health.py or slo.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import budgets, cost, deployments, health, proxy, slo, upstream, workers
from .model import Spec
from .promql import selector_labels

if TYPE_CHECKING:
    from ..options import Options

BUILDERS = (upstream.high_error_rate, upstream.rate_limit_headroom, upstream.high_p99_latency,
            upstream.high_time_to_first_token, upstream.fallbacks_failing, upstream.retry_storm,
            deployments.deployment_down, deployments.deployment_cooling_down_often,
            cost.spend_burn_high, cost.unpriced_traffic, cost.cache_hit_rate_low,
            budgets.budget_nearly_exhausted, budgets.budget_exhausted_before_reset,
            proxy.high_proxy_overhead, proxy.guardrail_errors,
            workers.worker_memory_high, workers.worker_memory_growing, workers.workers_killed,
            workers.event_loop_lag_high, health.observe_internal_errors,
            health.observe_label_overflow, health.metrics_absent, slo.spec)


def base_labels(options: Options) -> dict[str, str]:
    """Labels every test input series has: scrape target labels and the configured selector's."""
    return {"job": options.alerts.scrape_job, "instance": "proxy-a:9464", **selector_labels(options)}


def specs(options: Options) -> list[Spec]:
    base = base_labels(options)
    return [build(options, base) for build in BUILDERS]
