"""Turn aggregated series into Prometheus text or OpenMetrics, negotiated the way
prometheus_client does, with concurrent scrapes sharing one rendering."""
from __future__ import annotations

import gzip
import threading
from concurrent.futures import Future
from importlib import metadata
from typing import Callable

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.utils import floatToGoString

from . import __version__
from .aggregate import Series
from .catalogue import BY_NAME, CATALOGUE, GaugeMode, Kind


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def families(series: Series, namespace: str) -> list:
    """Metric families in catalogue order, series sorted by labels (deterministic output)."""
    by_metric: dict[str, list] = {}
    for (name, labels), values in series.items():
        by_metric.setdefault(name, []).append((labels, values))
    out = []
    for m in CATALOGUE:
        name = m.family(namespace)
        rows = sorted(by_metric.get(m.name, ()))
        if m.kind is Kind.COUNTER:
            fam = CounterMetricFamily(name, m.help, labels=m.labels)
            for labels, values in rows:
                if len(labels) == len(m.labels):
                    fam.add_metric(labels, values[0])
        elif m.kind is Kind.HISTOGRAM:
            fam = HistogramMetricFamily(name, m.help, labels=m.labels)
            edges = [floatToGoString(b) for b in m.buckets] + ["+Inf"]
            for labels, values in rows:
                if len(labels) != len(m.labels) or len(values) != len(edges) + 1:
                    continue
                running, buckets = 0.0, []
                for edge, count in zip(edges, values):
                    running += count
                    buckets.append((edge, running))
                fam.add_metric(labels, buckets, values[-1])
        else:
            fam = GaugeMetricFamily(name, m.help, labels=m.labels)
            if m.gauge_mode is GaugeMode.EXPORTER:
                fam.add_metric((__version__, _version("litellm")), 1.0)
            elif not m.labels and not rows:
                fam.add_metric((), 0.0)  # in-flight is 0, not absent, when nothing ran yet
            for labels, values in rows:
                if len(labels) == len(m.labels):
                    fam.add_metric(labels, values[0])
        out.append(fam)
    return out


class _Collector:
    def __init__(self, produce: Callable[[], list]):
        self._produce = produce

    def collect(self):
        return self._produce()


class SharedRender:
    """Render on demand; scrapes that arrive while a rendering of the same format runs
    wait for it and share its bytes instead of starting their own."""

    def __init__(self, produce_families: Callable[[], list]):
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(_Collector(produce_families))
        self._lock = threading.Lock()
        self._running: dict[str, Future] = {}
        self.renders = 0  # how many renderings ran (tests read it)

    def __call__(self, accept: str | None) -> tuple[bytes, str]:
        encoder, content_type = choose_encoder(accept or "")
        with self._lock:
            fut = self._running.get(content_type)
            leader = fut is None
            if leader:
                fut = Future()
                self._running[content_type] = fut
        if not leader:
            return fut.result(), content_type
        try:
            body = encoder(self._registry)
            self.renders += 1
            fut.set_result(body)
            return body, content_type
        except BaseException as e:
            fut.set_exception(e)
            raise
        finally:
            with self._lock:
                self._running.pop(content_type, None)


def maybe_gzip(body: bytes, accept_encoding: str | None) -> tuple[bytes, dict[str, str]]:
    for item in (accept_encoding or "").lower().split(","):
        name, _, params = item.partition(";")
        if name.strip() == "gzip" and params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            break
    else:
        item = None
    if item is not None:
        return gzip.compress(body, compresslevel=1), {"Content-Encoding": "gzip"}
    return body, {}


__all__ = ["families", "SharedRender", "maybe_gzip", "BY_NAME"]
