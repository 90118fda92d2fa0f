"""PromQL for the dashboards, built from the catalogue: no metric name is typed here.

Every series selector carries the dashboard's template variables (job and instance
always; provider, model and team when the metric has that label) and the configured
extra selector. Every aggregation sums across proxy replicas, so a fleet reads as one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...catalogue import Kind, Metric, metric

if TYPE_CHECKING:
    from ..options import Options

RATE_WINDOW = "$__rate_interval"
RANGE_WINDOW = "$__range"
TARGET_VARIABLES = ("job", "instance")  # labels Prometheus adds to every scraped series
LABEL_VARIABLES = ("provider", "model", "team")  # catalogue labels the dashboards filter by

# Series Prometheus itself writes for each scrape target: not ours, so not in the catalogue.
# All are gauges. The static checker accepts exactly these besides the catalogue's names.
PROMETHEUS_SERIES = ("up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added")


def by(labels: tuple[str, ...] | list[str]) -> str:
    return f" by ({', '.join(labels)})" if labels else ""


@dataclass(frozen=True)
class Queries:
    """Query builders bound to one set of options (namespace and extra selector)."""

    options: Options

    def _matchers(self, labels: tuple[str, ...], extra: tuple[str, ...]) -> str:
        parts = [f'{v}=~"${v}"' for v in TARGET_VARIABLES]
        parts += [f'{v}=~"${v}"' for v in LABEL_VARIABLES if v in labels]
        parts += list(extra)
        parts += [str(m) for m in self.options.dashboards.matchers()]
        return "{" + ", ".join(parts) + "}"

    def series(self, name: str, suffix: str = "", extra: tuple[str, ...] = ()) -> str:
        """`<sample name>{filters}` for catalogue metric `name`; suffix picks a histogram series."""
        m = metric(name)
        samples = m.sample_names(self.options.namespace)
        sample = next((s for s in samples if s.endswith(suffix)), None) if suffix else samples[0]
        if sample is None:
            raise ValueError(f"{name} has no {suffix} series (it has {samples})")
        return sample + self._matchers(m.labels, extra)

    def variable_source(self, name: str, variables: tuple[str, ...]) -> str:
        """The series a template variable lists values from, narrowed by earlier `variables`."""
        parts = [f'{v}=~"${v}"' for v in variables]
        parts += [str(m) for m in self.options.dashboards.matchers()]
        sample = metric(name).sample_names(self.options.namespace)[0]
        return sample + "{" + ", ".join(parts) + "}" if parts else sample

    def prometheus_series(self, name: str) -> str:
        """A series Prometheus writes per target (up, scrape_*), filtered by job and instance."""
        if name not in PROMETHEUS_SERIES:
            raise KeyError(name)
        return name + self._matchers((), ())

    def _counter_like(self, name: str, extra: tuple[str, ...]) -> str:
        m: Metric = metric(name)
        if m.kind is Kind.GAUGE:
            raise ValueError(f"{name} is a gauge: rate/increase would be meaningless")
        return self.series(name, "_bucket" if m.kind is Kind.HISTOGRAM else "", extra)

    def rate(self, name: str, labels: tuple[str, ...] = (), extra: tuple[str, ...] = ()) -> str:
        """Per-second rate of a counter, summed across replicas by `labels`."""
        return f"sum{by(labels)} (rate({self._counter_like(name, extra)}[{RATE_WINDOW}]))"

    def increase(self, name: str, labels: tuple[str, ...] = (), extra: tuple[str, ...] = (),
                 window: str = RANGE_WINDOW) -> str:
        """How much a counter grew over `window` (default: the dashboard's time range)."""
        return f"sum{by(labels)} (increase({self._counter_like(name, extra)}[{window}]))"

    def quantile(self, q: float, name: str, labels: tuple[str, ...] = ()) -> str:
        """The q-quantile of a histogram, over buckets summed across replicas."""
        if metric(name).kind is not Kind.HISTOGRAM:
            raise ValueError(f"{name} is not a histogram")
        return f"histogram_quantile({q}, {self.rate(name, ('le',) + tuple(labels))})"

    def gauge(self, name: str, labels: tuple[str, ...] = (), agg: str = "sum") -> str:
        if metric(name).kind is not Kind.GAUGE:
            raise ValueError(f"{name} is not a gauge")
        return f"{agg}{by(labels)} ({self.series(name)})"
