"""Every alert, in the order the rule files list them: each builder makes one alert name's rules and
the promtool cases that prove them, from the options (its group under `alerts:` is declared beside
it, in upstream.py, cost.py, health.py or slo.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import cost, health, slo, upstream
from .model import Spec
from .promql import selector_labels

if TYPE_CHECKING:
    from ..options import Options

BUILDERS = (upstream.high_error_rate, upstream.rate_limit_headroom, upstream.high_p99_latency,
            upstream.high_time_to_first_token, upstream.fallbacks_failing, upstream.retry_storm,
            cost.spend_burn_high, cost.cache_hit_rate_low, health.observe_internal_errors,
            health.observe_label_overflow, health.metrics_absent, slo.spec)


def base_labels(options: Options) -> dict[str, str]:
    """Labels every test input series has: scrape target labels and the configured selector's."""
    return {"job": options.alerts.scrape_job, "instance": "proxy-a:9464", **selector_labels(options)}


def specs(options: Options) -> list[Spec]:
    base = base_labels(options)
    return [build(options, base) for build in BUILDERS]
