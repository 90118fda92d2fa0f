"""Small PromQL helpers for the rules; every series name comes from the catalogue."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...catalogue import metric
from ..promql import selectors
from ..promql.durations import minutes, seconds  # noqa: F401 - the rules read durations from here

if TYPE_CHECKING:
    from ..options import Options

# Written by Prometheus itself for every scrape target, so not in the catalogue.
PROMETHEUS_UP = "up"


def fmt(x: float) -> str:
    """A number as PromQL and YAML show it: 14.4, 6, 0.995 (stable, no float noise)."""
    return f"{round(x, 9):g}"


def sample(name: str, options: Options, index: int = 0) -> str:
    """A catalogue metric's stored series name: 0 is the counter/bucket, 1 _sum, 2 _count."""
    return metric(name).sample_names(options.namespace)[index]


def family(name: str, options: Options) -> str:
    return metric(name).family(options.namespace)


def selector(series: str, options: Options, *matchers: str) -> str:
    """`series{matchers, configured selector}`; the configured selector applies to every expression."""
    parts = [m for m in matchers if m] + [str(m) for m in options.alerts.matchers()]
    return f"{series}{{{', '.join(parts)}}}" if parts else series


def selector_labels(options: Options) -> dict[str, str]:
    """Label values that satisfy the configured selector, for unit-test input series."""
    return selectors.satisfying_labels(options.alerts.matchers(), "alerts.selector")


def equality_labels(options: Options) -> dict[str, str]:
    return selectors.equality_labels(options.alerts.matchers())


def sum_rate(series: str, options: Options, by: tuple[str, ...], window: str, *matchers: str) -> str:
    return f"sum by ({', '.join(by)}) (rate({selector(series, options, *matchers)}[{window}]))"


def regex_matcher(label: str, values: tuple[str, ...]) -> str:
    return f'{label}=~"{"|".join(sorted(values))}"'
