"""Parse exposition text and sum series, for tests."""

from __future__ import annotations

import re
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families

from litellm_observe.catalogue import DEFAULT_NAMESPACE, metric

Sample = tuple[str, tuple[tuple[str, str], ...]]


def samples(text: str) -> dict[Sample, float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def total(text_or_samples, name: str, ns: str = DEFAULT_NAMESPACE, **match: str) -> float:
    """Sum a catalogue metric's first sample name, with label values matched by regex."""
    data = samples(text_or_samples) if isinstance(text_or_samples, str) else text_or_samples
    series = metric(name).sample_names(ns)[0]
    patterns = {k: re.compile(v) for k, v in match.items()}
    return sum(
        v
        for (n, labels), v in data.items()
        if n == series and all(p.fullmatch(dict(labels).get(k, "")) for k, p in patterns.items())
    )


def by_label(text: str, name: str, label: str, ns: str = DEFAULT_NAMESPACE) -> dict[str, float]:
    series = metric(name).sample_names(ns)[0]
    out: dict[str, float] = defaultdict(float)
    for (n, labels), v in samples(text).items():
        if n == series:
            out[dict(labels).get(label, "")] += v
    return dict(out)
