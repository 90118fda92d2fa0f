"""PromQL for the dashboards, built from the catalogue: no metric name is typed here.

Every series selector carries the dashboard's template variables (job and instance
always; provider, model and team when the metric has that label) and the configured
extra selector. Every aggregation sums across proxy replicas, so a fleet reads as one.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...catalogue import Kind, Metric, metric
from ..promql.build import PROMETHEUS_SERIES, Scope, aggregate, by  # noqa: F401 - panels read `by` from here
from .options import Inputs

RATE_WINDOW = "$__rate_interval"
RANGE_WINDOW = "$__range"
TARGET_VARIABLES = ("job", "instance")  # labels Prometheus adds to every scraped series
LABEL_VARIABLES = ("provider", "model", "team")  # catalogue labels the dashboards filter by


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
        return parts + [f'{v}=~"${v}"' for v in LABEL_VARIABLES if v in labels]

    def series(self, name: str, suffix: str = "", extra: tuple[str, ...] = ()) -> str:
        """`<sample name>{filters}` for catalogue metric `name`; suffix picks a histogram series."""
        m = metric(name)
        return self.scope.select(self.scope.sample(m, suffix), *self._variables(m.labels), *extra)

    def variable_source(self, name: str, variables: tuple[str, ...]) -> str:
        """The series a template variable lists values from, narrowed by earlier `variables`."""
        return self.scope.select(self.scope.sample(metric(name)), *(f'{v}=~"${v}"' for v in variables))

    def prometheus_series(self, name: str) -> str:
        """A series Prometheus writes per target (up, scrape_*), filtered by job and instance."""
        if name not in PROMETHEUS_SERIES:
            raise KeyError(name)
        return self.scope.select(name, *self._variables(()))

    def _counter_like(self, name: str, extra: tuple[str, ...]) -> str:
        m: Metric = metric(name)
        if m.kind is Kind.GAUGE:
            raise ValueError(f"{name} is a gauge: rate/increase would be meaningless")
        return self.series(name, "_bucket" if m.kind is Kind.HISTOGRAM else "", extra)

    def rate(self, name: str, labels: tuple[str, ...] = (), extra: tuple[str, ...] = ()) -> str:
        """Per-second rate of a counter, summed across replicas by `labels`."""
        return aggregate("sum", labels, f"rate({self._counter_like(name, extra)}[{RATE_WINDOW}])")

    def increase(self, name: str, labels: tuple[str, ...] = (), extra: tuple[str, ...] = (),
                 window: str = RANGE_WINDOW) -> str:
        """How much a counter grew over `window` (default: the dashboard's time range)."""
        return aggregate("sum", labels, f"increase({self._counter_like(name, extra)}[{window}])")

    def quantile(self, q: float, name: str, labels: tuple[str, ...] = ()) -> str:
        """The q-quantile of a histogram, over buckets summed across replicas."""
        if metric(name).kind is not Kind.HISTOGRAM:
            raise ValueError(f"{name} is not a histogram")
        return f"histogram_quantile({q}, {self.rate(name, ('le',) + tuple(labels))})"

    def gauge(self, name: str, labels: tuple[str, ...] = (), agg: str = "sum") -> str:
        if metric(name).kind is not Kind.GAUGE:
            raise ValueError(f"{name} is not a gauge")
        return aggregate(agg, labels, self.series(name))
