"""Turn aggregated series into Prometheus text or OpenMetrics, negotiated the way
prometheus_client does, with concurrent scrapes sharing one rendering."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.utils import floatToGoString

from .. import __version__, compat
from ..catalogue import CATALOGUE, GaugeMode, Kind
from . import textformat
from .aggregate import Series


def families(series: Series, namespace: str, now: float | None = None) -> list:
    """Metric families in catalogue order, series sorted by labels (deterministic output for a given `now`)."""
    now = time.time() if now is None else now
    by_metric: dict[str, list] = {}
    for (name, labels), values in series.items():
        by_metric.setdefault(name, []).append((labels, values))
    out = []
    for m in CATALOGUE:
        name = m.family(namespace)
        rows = sorted(by_metric.get(m.name, ()))
        fam: Metric
        if m.kind is Kind.COUNTER:
            counter = fam = CounterMetricFamily(name, m.help, labels=m.labels)
            for labels, values in rows:
                if len(labels) == len(m.labels):
                    counter.add_metric(labels, values[0])
        elif m.kind is Kind.HISTOGRAM:
            histogram = fam = HistogramMetricFamily(name, m.help, labels=m.labels)
            edges = [floatToGoString(b) for b in m.buckets] + ["+Inf"]
            for labels, values in rows:
                if len(labels) != len(m.labels) or len(values) != len(edges) + 1:
                    continue
                running, buckets = 0.0, []
                for edge, count in zip(edges, values):
                    running += count
                    buckets.append((edge, running))
                histogram.add_metric(labels, buckets, values[-1])
        else:
            gauge = fam = GaugeMetricFamily(name, m.help, labels=m.labels)
            if m.gauge_mode is GaugeMode.EXPORTER:
                gauge.add_metric((__version__, compat.litellm_version() or "unknown"), 1.0)
            elif not m.labels and not rows:
                gauge.add_metric((), 0.0)  # in-flight is 0, not absent, when nothing ran yet
            for labels, values in rows:
                if len(labels) == len(m.labels):
                    # a countdown stores a moment (epoch seconds) and is served as the seconds until it
                    gauge.add_metric(labels, max(0.0, values[0] - now) if m.countdown else values[0])
        out.append(fam)
    return out


class Rendering:
    """One rendering's bytes, and their gzip made at most once for every scrape sharing it."""

    def __init__(self, body: bytes):
        self.body = body
        self._gzipped: bytes | None = None
        self._lock = threading.Lock()

    def gzipped(self) -> bytes:
        with self._lock:
            if self._gzipped is None:
                self._gzipped = gzip.compress(self.body, compresslevel=1)
            return self._gzipped


class SharedRender:
    """Render on demand; scrapes that arrive while a rendering of the same format runs
    wait for it and share its bytes (and its gzip) instead of starting their own.

    `produce` returns the series to serve; each format is written by a textformat writer (the bytes
    prometheus_client writes for `families()`), one per content type, kept across renderings."""

    def __init__(self, produce: Callable[[], Series], namespace: str):
        self._produce = produce
        self._namespace = namespace
        self._writers: dict[str, textformat.Write] = {}  # content type -> its writer (only its leader uses it)
        self._lock = threading.Lock()
        self._running: dict[str, Future] = {}
        self.renders = 0  # how many renderings ran (tests read it)

    def rendering(self, accept: str | None) -> tuple[Rendering, str]:
        encoder, content_type = choose_encoder(accept or "")
        with self._lock:
            running = self._running.get(content_type)
            if running is None:
                fut: Future[Rendering] = Future()
                self._running[content_type] = fut
        if running is not None:
            return running.result(), content_type
        try:
            write = self._writers.get(content_type)
            if write is None:
                write = self._writers[content_type] = textformat.writer(encoder, self._namespace)
            result = Rendering(write(self._produce(), time.time()))
            self.renders += 1
            fut.set_result(result)
            return result, content_type
        except BaseException as e:
            fut.set_exception(e)
            raise
        finally:
            with self._lock:
                self._running.pop(content_type, None)

    def __call__(self, accept: str | None, accept_encoding: str | None = None) -> tuple[bytes, str, dict[str, str]]:
        """(body, content type, extra headers) for one scrape."""
        result, content_type = self.rendering(accept)
        if wants_gzip(accept_encoding):
            return result.gzipped(), content_type, {"Content-Encoding": "gzip"}
        return result.body, content_type, {}


def wants_gzip(accept_encoding: str | None) -> bool:
    for item in (accept_encoding or "").lower().split(","):
        name, _, params = item.partition(";")
        if name.strip() == "gzip" and params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            return True
    return False


__all__ = ["families", "SharedRender", "wants_gzip"]
