"""PromQL builders for the dashboards and the rules, over the catalogue: no metric name is typed.

A `Scope` is where queries look: the namespace that names every series and the label matchers
every selection carries (the configured selector of the dashboards or of the rules). The rules use
it directly; the dashboards through dashboards/promql.Queries, which adds the template variables as
matchers and Grafana's windows, and nothing else.

Invariants: a series is named from a catalogue `Metric` (or is one of Prometheus's own, below); a
selection lists its own matchers first, then the scope's; an aggregation is written
`sum by (a, b) (...)`, or `sum (...)` with no labels, in dashboards and rules alike (one rule keeps
`sum(...)` by hand, LitellmSpendBurnHigh's, so its committed text does not change); rate() and
increase() read a counter or a histogram's buckets, a gauge is only aggregated, and a quantile sums
its buckets `by (..., le, ...)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ...catalogue import Kind, Metric

# Series Prometheus itself writes for each scrape target: not ours, so not in the catalogue.
# All are gauges; the linter accepts exactly these besides the catalogue's series.
UP, SCRAPE_DURATION = "up", "scrape_duration_seconds"
SCRAPE_SAMPLES, SCRAPE_SERIES_ADDED = "scrape_samples_scraped", "scrape_series_added"
PROMETHEUS_SERIES = (UP, SCRAPE_DURATION, SCRAPE_SAMPLES, SCRAPE_SERIES_ADDED)


def fmt(x: float) -> str:
    """A number as PromQL and YAML show it: 14.4, 6, 0.995 (stable, no float noise)."""
    return f"{round(x, 9):g}"


def by(labels: Iterable[str]) -> str:
    """' by (a, b)', or '' for no labels."""
    labels = tuple(labels)
    return f" by ({', '.join(labels)})" if labels else ""


def selector(series: str, matchers: Iterable[str]) -> str:
    """`series{m1, m2}`, or the bare series name without matchers."""
    matchers = [m for m in matchers if m]
    return f"{series}{{{', '.join(matchers)}}}" if matchers else series


def regex_matcher(label: str, values: Iterable[str]) -> str:
    return f'{label}=~"{"|".join(sorted(values))}"'


def aggregate(op: str, labels: Iterable[str], inner: str) -> str:
    return f"{op}{by(labels)} ({inner})"


@dataclass(frozen=True)
class Scope:
    namespace: str
    matchers: tuple[str, ...] = ()  # added to every selection, after its own

    def family(self, metric: Metric) -> str:
        return metric.family(self.namespace)

    def sample(self, metric: Metric, suffix: str = "") -> str:
        """The stored series of `metric`: the counter's `_total`, the gauge, or the histogram
        series ending with `suffix` (`_bucket` by default)."""
        samples = metric.sample_names(self.namespace)
        if not suffix:
            return samples[0]
        found = next((s for s in samples if s.endswith(suffix)), None)
        if found is None:
            raise ValueError(f"{metric.name} has no {suffix} series (it has {samples})")
        return found

    def select(self, series: str, *matchers: str) -> str:
        return selector(series, (*matchers, *self.matchers))

    def counted(self, metric: Metric) -> str:
        """The series rate() and increase() may read: a counter, or a histogram's buckets."""
        if metric.kind is Kind.GAUGE:
            raise ValueError(f"{metric.name} is a gauge: rate/increase would be meaningless")
        return self.sample(metric)

    def sum_rate(self, series: str, labels: Iterable[str], window: str, *matchers: str) -> str:
        """The per-second rate of `series`, summed over replicas by `labels`."""
        return aggregate("sum", labels, f"rate({self.select(series, *matchers)}[{window}])")

    def sum_increase(self, series: str, labels: Iterable[str], window: str, *matchers: str, offset: str = "") -> str:
        """How much `series` grew over `window` (ending `offset` ago), summed over replicas by `labels`."""
        shift = f" offset {offset}" if offset else ""
        return aggregate("sum", labels, f"increase({self.select(series, *matchers)}[{window}]{shift})")

    def quantile(self, phi: float, histogram: Metric, labels: Iterable[str], window: str, *matchers: str) -> str:
        """The phi-quantile of `histogram` over `window`, its buckets summed over replicas by `labels`
        (which hold `le`, where the caller wants it in the list)."""
        if histogram.kind is not Kind.HISTOGRAM:
            raise ValueError(f"{histogram.name} is not a histogram")
        labels = tuple(labels)
        if "le" not in labels:
            raise ValueError(f"a quantile of {histogram.name} must sum its buckets by le")
        return f"histogram_quantile({fmt(phi)}, {self.sum_rate(self.sample(histogram), labels, window, *matchers)})"

    def gauge(self, op: str, metric: Metric, labels: Iterable[str], *matchers: str) -> str:
        """Gauge `metric` aggregated over replicas with `op` (sum, min, max, count) by `labels`."""
        if metric.kind is not Kind.GAUGE:
            raise ValueError(f"{metric.name} is not a gauge")
        return aggregate(op, labels, self.select(self.sample(metric), *matchers))
