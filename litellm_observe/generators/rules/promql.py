"""Small PromQL and duration helpers; every series name comes from the catalogue."""
from __future__ import annotations

import re

from ...catalogue import metric
from ...settings import Settings

# Written by Prometheus itself for every scrape target, so not in the catalogue.
SCRAPE_UP = "up"

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PART = re.compile(r"([0-9]+)(ms|s|m|h|d|w|y)")
_MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


def seconds(duration: str) -> float:
    """'1h30m' -> 5400.0 (Prometheus duration syntax, validated by settings)."""
    return sum(int(n) * _UNITS[u] for n, u in _PART.findall(duration))


def minutes(duration: str) -> int:
    return int(seconds(duration) // 60)


def fmt(x: float) -> str:
    """A number as PromQL and YAML show it: 14.4, 6, 0.995 (stable, no float noise)."""
    return f"{round(x, 9):g}"


def sample(name: str, settings: Settings, index: int = 0) -> str:
    """A catalogue metric's stored series name: 0 is the counter/bucket, 1 _sum, 2 _count."""
    return metric(name).sample_names(settings.namespace)[index]


def family(name: str, settings: Settings) -> str:
    return metric(name).family(settings.namespace)


def selector(series: str, settings: Settings, *matchers: str) -> str:
    """`series{matchers, configured selector}`; the configured selector applies to every expression."""
    parts = [m for m in matchers if m] + ([settings.alerts.selector.strip().rstrip(",")]
                                          if settings.alerts.selector.strip() else [])
    return f"{series}{{{', '.join(parts)}}}" if parts else series


def selector_labels(settings: Settings) -> dict[str, str]:
    """Label values that satisfy the configured selector, for unit-test input series."""
    labels = {}
    for name, op, value in _MATCHER.findall(settings.alerts.selector):
        if op in ("!=", "!~"):
            continue  # leaving the label out (empty) satisfies a negative matcher
        if op == "=":
            labels[name] = value
            continue
        candidate = value.split("|")[0].strip("^$()")
        if not re.fullmatch(value, candidate):
            raise ValueError(f"alerts.selector: cannot derive a test value for {name}=~{value!r}; use name=\"value\"")
        labels[name] = candidate
    return labels


def equality_labels(settings: Settings) -> dict[str, str]:
    return {name: value for name, op, value in _MATCHER.findall(settings.alerts.selector) if op == "="}


def sum_rate(series: str, settings: Settings, by: tuple[str, ...], window: str, *matchers: str) -> str:
    return f"sum by ({', '.join(by)}) (rate({selector(series, settings, *matchers)}[{window}]))"


def regex_matcher(label: str, values: tuple[str, ...]) -> str:
    return f'{label}=~"{"|".join(sorted(values))}"'
