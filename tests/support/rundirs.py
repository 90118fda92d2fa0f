"""A run directory read back as the exporter combines it (no compaction), for tests that drive the logger by
hand: its series, one series' value, totals over label values, the exposition text."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from litellm_observe.catalogue import BY_NAME
from litellm_observe.exporter.aggregate import Aggregator
from litellm_observe.exporter.exposition import families


def series(directory: str) -> dict:
    """Every series of a run directory, as the exporter combines them (no compaction)."""
    return Aggregator(str(directory)).collect()


def value(data: dict, metric: str, *labels: str) -> float:
    return data.get((metric, tuple(labels)), [0.0])[0]


def metric_series(data: dict, metric: str) -> dict:
    return {labels: values for (name, labels), values in data.items() if name == metric}


def named(metric: str, labels: tuple) -> dict[str, str]:
    """A series' label values by label name (the catalogue's order is the stored order)."""
    return dict(zip(BY_NAME[metric].labels, labels))


def total(data: dict, metric: str, **match: str) -> float:
    names = BY_NAME[metric].labels
    out = 0.0
    for labels, values in metric_series(data, metric).items():
        d = dict(zip(names, labels))
        if all(d.get(k) == v for k, v in match.items()):
            out += values[0]
    return out


def histogram_count(data: dict, metric: str) -> float:
    return sum(sum(v[:-1]) for v in metric_series(data, metric).values())


def exposition(directory: str, namespace: str = "litellm") -> str:
    registry = CollectorRegistry(auto_describe=False)

    class C:
        def collect(self):
            return families(series(directory), namespace)

    registry.register(C())
    return generate_latest(registry).decode()


def label_values(text: str):
    """(sample name, label name, value) for every label of every sample, `le` excepted."""
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            for k, v in s.labels.items():
                if k != "le":
                    yield s.name, k, v
