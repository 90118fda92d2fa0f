"""PromQL for the dashboards: promql/build.py's Scope, with the dashboards' template variables and windows.

Every series selector carries the dashboard's template variables (job and instance
always; provider, model and team when the metric has that label) and the configured
extra selector. Every aggregation sums across proxy replicas, so a fleet reads as one.
Metrics are catalogue `Metric`s (catalogue.py's constants), never names typed here; what a
query may do with each kind (rate a counter, aggregate a gauge, take a histogram's quantile)
is the Scope's rule, the same as the rules'.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...catalogue import Metric
from ..promql.build import PROMETHEUS_SERIES, Scope
from .options import Inputs

RATE_WINDOW = "$__rate_interval"
RANGE_WINDOW = "$__range"
TARGET_VARIABLES = ("job", "instance")  # labels Prometheus adds to every scraped series
LABEL_VARIABLES = ("provider", "model", "team", "endpoint")  # catalogue labels the dashboards filter by
# the caller families' dimension: one at a time (callers of two dimensions never add up), on the Spend dashboard
CALLER_VARIABLE = "dimension"


@dataclass(frozen=True)
class Queries:
    """Query builders bound to one set of options (namespace and extra selector)."""

    options: Inputs

    @property
    def scope(self) -> Scope:
        """The namespace and the configured `dashboards.selector` (added after the variables)."""
        return Scope(self.options.namespace, tuple(str(m) for m in self.options.dashboards.matchers()))

    def _variables(self, labels: tuple[str, ...]) -> list[str]:
        parts = [f'{v}=~"${v}"' for v in TARGET_VARIABLES]
        parts += [f'{v}=~"${v}"' for v in LABEL_VARIABLES if v in labels]
        return parts + [f'{CALLER_VARIABLE}="${CALLER_VARIABLE}"'] if CALLER_VARIABLE in labels else parts

    def series(self, m: Metric, suffix: str = "", extra: tuple[str, ...] = ()) -> str:
        """`<sample name>{filters}` for catalogue metric `m`; suffix picks a histogram series."""
        return self.scope.select(self.scope.sample(m, suffix), *self._variables(m.labels), *extra)

    def variable_source(self, m: Metric, variables: tuple[str, ...]) -> str:
        """The series a template variable lists values from, narrowed by earlier `variables`."""
        return self.scope.select(self.scope.sample(m), *(f'{v}=~"${v}"' for v in variables))

    def prometheus_series(self, name: str) -> str:
        """A series Prometheus writes per target (up, scrape_*), filtered by job and instance."""
        if name not in PROMETHEUS_SERIES:
            raise KeyError(name)
        return self.scope.select(name, *self._variables(()))

    def rate(self, m: Metric, labels: tuple[str, ...] = (), extra: tuple[str, ...] = ()) -> str:
        """Per-second rate of a counter, summed across replicas by `labels`."""
        return self.scope.sum_rate(self.scope.counted(m), labels, RATE_WINDOW, *self._variables(m.labels), *extra)

    def increase(
        self, m: Metric, labels: tuple[str, ...] = (), extra: tuple[str, ...] = (), window: str = RANGE_WINDOW
    ) -> str:
        """How much a counter grew over `window` (default: the dashboard's time range)."""
        return self.scope.sum_increase(self.scope.counted(m), labels, window, *self._variables(m.labels), *extra)

    def quantile(self, q: float, m: Metric, labels: tuple[str, ...] = ()) -> str:
        """The q-quantile of a histogram, over buckets summed across replicas."""
        return self.scope.quantile(q, m, ("le",) + tuple(labels), RATE_WINDOW, *self._variables(m.labels))

    def gauge(self, m: Metric, labels: tuple[str, ...] = (), agg: str = "sum") -> str:
        return self.scope.gauge(agg, m, labels, *self._variables(m.labels))
