"""The demo's terminal line, from two scrapes of the exporter.

`Sample.parse` keeps the few series the line needs, summed over their other labels; `line` turns
the difference of two samples into rates over the time between them. Pure functions: the
exporter's text in, a string out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from ..catalogue import CURRENT_LOAD, DEFAULT_NAMESPACE, REQUEST_DURATION, REQUESTS, SPEND_USD, TOKENS_USED


@dataclass
class Sample:
    at: float  # monotonic seconds
    # a missing key reads 0, as in a Counter, but the counts are floats (as the exposition has them)
    requests: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))  # {status_code: count}
    buckets: defaultdict[float, float] = field(default_factory=lambda: defaultdict(float))  # {le: count}
    spend: float = 0.0
    tokens: float = 0.0
    in_flight: float = 0.0

    @classmethod
    def parse(cls, text: str, at: float, namespace: str = DEFAULT_NAMESPACE) -> Sample:
        (requests,) = REQUESTS.sample_names(namespace)
        bucket = REQUEST_DURATION.sample_names(namespace)[0]
        (spend,) = SPEND_USD.sample_names(namespace)
        (tokens,) = TOKENS_USED.sample_names(namespace)
        (load,) = CURRENT_LOAD.sample_names(namespace)
        s = cls(at)
        for family in text_string_to_metric_families(text):
            for name, labels, value, *_ in family.samples:
                if name == requests:
                    s.requests[labels.get("status_code", "")] += value
                elif name == bucket:
                    s.buckets[float(labels["le"])] += value
                elif name == spend:
                    s.spend += value
                elif name == tokens:
                    s.tokens += value
                elif name == load:
                    s.in_flight += value
        return s


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """histogram_quantile over cumulative bucket counts, as Prometheus interpolates it."""
    edges = sorted(buckets)
    if not edges or buckets[edges[-1]] <= 0:
        return None
    rank, lower, below = q * buckets[edges[-1]], 0.0, 0.0
    for edge in edges:
        count = buckets[edge]
        if count >= rank:
            if math.isinf(edge):
                return lower
            return lower + (edge - lower) * (rank - below) / (count - below) if count > below else edge
        lower, below = edge, count
    return lower


def named(labels: dict, keys: tuple[str, ...], default: str = "None") -> str:
    """`Name{k="v",...}`: the alertname with those of `keys` the labels carry (no braces when none)."""
    where = ",".join(f'{k}="{labels[k]}"' for k in keys if k in labels)
    name = str(labels.get("alertname", default))
    return f"{name}{{{where}}}" if where else name


def alert_names(alerts: list[dict], state: str) -> list[str]:
    """Prometheus' /api/v1/alerts entries in `state` as `Name{provider="...",model="..."}`, sorted, once each."""
    return sorted({named(a.get("labels", {}), ("provider", "model")) for a in alerts if a.get("state") == state})


def line(
    before: Sample,
    after: Sample,
    elapsed: float,
    firing: list[str] | None,
    pending: list[str] | None = None,
    notified: str | None = None,
) -> str:
    """One refresh: request rates by status, error share, p95, in flight, totals; with Prometheus, the
    firing and pending alerts; with Alertmanager, what it delivered (inbox.summary)."""
    dt = max(after.at - before.at, 1e-9)
    delta = {code: after.requests[code] - before.requests[code] for code in after.requests}
    total = sum(delta.values())
    by_status = " ".join(f"{code} {n / dt:.1f}" for code, n in sorted(delta.items()) if n > 0) or "none yet"
    errors = sum(n for code, n in delta.items() if not code.startswith("2"))
    p95 = quantile(0.95, {le: after.buckets[le] - before.buckets[le] for le in after.buckets})
    parts = [
        f"[{elapsed:4.0f}s] {total / dt:.1f} req/s ({by_status})",
        f"errors {100 * errors / total:.1f}%" if total else "errors -",
        f"p95 {p95:.2f}s" if p95 is not None else "p95 -",
        f"in flight {after.in_flight:.0f}",
        f"tokens {after.tokens:,.0f}",
        f"spend ${after.spend:.4f}",
    ]
    if firing is not None:
        parts.append("firing: " + (", ".join(firing) if firing else "none"))
    if pending is not None:
        parts.append("pending: " + (", ".join(pending) if pending else "none"))
    if notified is not None:
        parts.append(f"notified: {notified}")
    return " | ".join(parts)
