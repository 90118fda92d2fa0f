"""/metrics written straight from aggregated series: the bytes prometheus_client's encoder writes for
`exposition.families()` (the reference), without building its objects and without formatting again what
did not change.

Invariants:
- Same bytes as the reference for the same series and `now`. Each format (text 0.0.4 or OpenMetrics, and
  an escaping scheme, as `choose_encoder` picks them) is checked against the reference on a probe of every
  catalogue metric, with label values that need escaping and values that print oddly, when first used; a
  format that differs (another prometheus_client release) or that is not recognised is rendered by the
  reference, always. tests/exporter/test_textformat.py compares both on random series.
- A series' label text is escaped once: a series' labels never change.
- A series' lines are reused only while the exact bits of the values they show are unchanged (bits, not
  `==`: 0.0 == -0.0 but they print differently; NaN != NaN but prints the same).
- Caches hold only the series of the last rendering: a metric's entries are pruned when its set of series
  changes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial

from prometheus_client import CollectorRegistry
from prometheus_client import exposition as text_exposition
from prometheus_client.utils import floatToGoString

from .. import __version__, compat
from ..catalogue import CATALOGUE, GaugeMode, Kind, Metric
from .aggregate import Series, Stepped

try:  # prometheus_client >= 0.22: escaping schemes
    from prometheus_client.openmetrics import exposition as om
    from prometheus_client.validation import _is_valid_legacy_metric_name

    ALLOWUTF8, UNDERSCORES = om.ALLOWUTF8, om.UNDERSCORES
except (ImportError, AttributeError):  # older: always the reference
    om = None  # type: ignore[assignment]
    ALLOWUTF8 = UNDERSCORES = ""

Labels = tuple[str, ...]
Write = Callable[[Series, float], bytes]  # (series, now) -> body


@dataclass(frozen=True)
class Format:
    openmetrics: bool
    escaping: str


def format_of(encoder: Callable) -> Format | None:
    """The format `encoder` (from `choose_encoder`) writes; None when it is not one this module writes."""
    if om is None:
        return None
    func, args, kw = encoder, (), {}
    if isinstance(encoder, partial):
        func, args, kw = encoder.func, encoder.args, dict(encoder.keywords)
    kw.pop("version", None)  # OpenMetrics' version changes only native histograms, which the catalogue has none of
    escaping = kw.pop("escaping", UNDERSCORES)
    if args or kw:
        return None
    if func is text_exposition.generate_latest:
        return Format(False, escaping)
    if func is om.generate_latest:
        return Format(True, escaping)
    return None


def reference(encoder: Callable, namespace: str) -> Write:
    """The reference: prometheus_client's encoder over `exposition.families()`."""
    from .exposition import families

    def write(series: Series, now: float) -> bytes:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Families(lambda: families(series, namespace, now)))
        return encoder(registry)

    return write


class _Families:
    def __init__(self, produce: Callable[[], list]):
        self.collect = produce


def writer(encoder: Callable, namespace: str) -> Write:
    """The fastest writer that writes what `encoder` would: a TextWriter when its format is recognised and
    it passes the probe, else the reference."""
    slow = reference(encoder, namespace)
    fmt = format_of(encoder)
    if fmt is None:
        return slow
    fast = TextWriter(namespace, fmt).write
    probe, now = _probe(), 1.7e9
    if fast(probe, now) != slow(probe, now) or fast(probe, now + 1) != slow(probe, now + 1):
        return slow
    return TextWriter(namespace, fmt).write  # a fresh one: the probe's series are not kept


def _probe() -> Series:
    """One series of every catalogue metric (and a few that are skipped) with label values and values that
    exercise escaping and float formatting."""
    hostile = ('a"b', "c\\d", "e\nf", "ünï", "le", "", "{x}", "%s")
    values = (0.0, -0.0, 1.0, 0.1, 1234567.0, 1e22, 1e-7, float("inf"), float("nan"), -2.5)
    out: Series = {}
    for i, m in enumerate(CATALOGUE):
        for j in range(2):
            labels = tuple(hostile[(i + j + k) % len(hostile)] for k in range(len(m.labels)))
            slots = m.value_slots() if m.kind is not Kind.GAUGE else 1
            out[(m.name, labels)] = [values[(i + j + k) % len(values)] for k in range(slots)]
            if m.kind is Kind.GAUGE and m.countdown:
                out[(m.name, labels)] = [1.7e9 + 10.0 * j]
        out[(m.name, ("too", "many", "labels", "x", "y", "z", "w"))] = [1.0]
    return out


def go(d: float) -> str:
    """floatToGoString(d), without its checks for the common case."""
    if type(d) is float:
        s = repr(d)
        if 0 < s.find(".") <= 6:
            return s
    return floatToGoString(d)


@cache
def _bits(n: int) -> struct.Struct:
    return struct.Struct(f"<{n}d")


def _escape_value(v: str) -> str:
    return v.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


class _Names:
    """How one format writes metric and label names, and the start of a sample line (up to its value)."""

    def __init__(self, fmt: Format):
        self.fmt = fmt

    def label(self, name: str) -> str:
        return om.escape_label_name(name, self.fmt.escaping)

    def pair(self, name: str, value: str) -> str:
        return f'{self.label(name)}="{_escape_value(value)}"'

    def prefix(self, sample: str, pairs: str) -> str:
        """A sample line up to its value: `sample` and its label pairs, as prometheus_client writes them."""
        esc = self.fmt.escaping
        legacy = esc != ALLOWUTF8 or _is_valid_legacy_metric_name(sample)
        if not self.fmt.openmetrics:
            name = om.escape_metric_name(sample, esc)
            if legacy:
                return f"{name}{{{pairs}}} " if pairs else f"{name} "
            return f"{{{name},{pairs}}} " if pairs else f"{{{name}}} "
        labelstr = "" if legacy else om.escape_metric_name(sample, esc) + ("," if pairs else "")
        labelstr += pairs
        if labelstr:
            labelstr = "{" + labelstr + "}"
        if legacy:
            return f"{om._escape(sample, esc, om._is_legacy_labelname_rune)}{labelstr} "
        return f"{labelstr} "

    def around(self, sample: str) -> tuple[str, str]:
        """(before, after) the label pairs of a labelled sample line."""
        before, after = self.prefix(sample, "\0").split("\0")
        return before, after

    def header(self, family: str, kind: str, doc: str) -> str:
        esc = self.fmt.escaping
        if self.fmt.openmetrics:
            name = om.escape_metric_name(family, esc)
            text = om._escape(doc, ALLOWUTF8, om._is_legacy_labelname_rune)
            return f"# HELP {name} {text}\n# TYPE {name} {kind}\n"
        name = om.escape_metric_name(family + "_total" if kind == "counter" else family, esc)
        text = doc.replace("\\", r"\\").replace("\n", r"\n")
        return f"# HELP {name} {text}\n# TYPE {name} {kind}\n"


class _MetricText:
    """One catalogue metric's text in one format: its header, and per series its label text and last lines."""

    def __init__(self, m: Metric, namespace: str, names: _Names):
        self.m, self.names, self.width = m, names, len(m.labels)
        family = m.family(namespace)
        if m.kind is Kind.COUNTER and family.endswith("_total"):
            family = family[:-6]  # as CounterMetricFamily does
        self.header = names.header(family, m.kind.value, m.help).encode()
        self.order = sorted(range(self.width), key=lambda i: m.labels[i])  # label pairs sorted by name
        self.before_le = sum(name < "le" for name in m.labels)
        if m.kind is Kind.COUNTER:
            self.sample = family + "_total"
        elif m.kind is Kind.HISTOGRAM:
            self.bucket = names.around(family + "_bucket")
            self.edges = [names.pair("le", e) for e in [floatToGoString(b) for b in m.buckets] + ["+Inf"]]
            self.count, self.sum = family + "_count", family + "_sum"
            self.totals = float(floatToGoString(m.buckets[0]) if m.buckets else "+Inf") >= 0  # else no count, sum
        else:
            self.sample = family
        self.fixed = b""  # lines before the series: build info, or an idle unlabelled gauge
        if m.gauge_mode is GaugeMode.EXPORTER:
            build = (__version__, compat.litellm_version() or "unknown")  # read once: a process's litellm stays
            self.fixed = self._line(self._pairs(build), 1.0)
        self.idle = self._line("", 0.0) if m.kind is Kind.GAUGE and not m.labels else b""
        self._keys: set[Labels] = set()
        self._sorted: list[Labels] = []
        self._lines: dict[Labels, tuple[bytes, bytes, object]] = {}  # labels -> (bits shown, lines, label text)
        self._head = b""  # the header and any line before the series, as last written
        self._shown: list[bytes] = []  # each series' lines as last written, in order
        self._at: dict[Labels, int] = {}  # a series' place in _shown

    def _pairs(self, labels: Labels) -> str:
        return ",".join(self.names.pair(self.m.labels[i], labels[i]) for i in self.order)

    def _line(self, pairs: str, value: float) -> bytes:
        return f"{self.names.prefix(self.sample, pairs)}{go(value)}\n".encode()

    def write(self, rows: dict[Labels, list[float]], now: float) -> bytes:
        """The metric's text for these series."""
        self._head = self.header + (self.fixed or (self.idle if not rows else b""))
        if rows.keys() != self._keys:
            self._keys = set(rows)
            self._sorted = sorted(k for k in rows if len(k) == self.width)
            self._lines = {k: v for k, v in self._lines.items() if k in rows}
        shown: list[bytes] = []
        at: dict[Labels, int] = {}
        line = self._histogram_line if self.m.kind is Kind.HISTOGRAM else self._sample_line
        for labels in self._sorted:
            got = line(labels, rows[labels], now)
            if got is not None:
                at[labels] = len(shown)
                shown.append(got)
        self._shown, self._at = shown, at
        return self._head + b"".join(shown)

    def update(self, rows: dict[Labels, list[float]], changed: list[Labels], now: float) -> bytes | None:
        """The metric's text for these series, which are those of the last `write` or `update` but for the values
        of the `changed` ones: only their lines are made again. None when that cannot be (a countdown's lines
        depend on `now`; a series not shown last time): then `write`."""
        if self.m.countdown:
            return None
        line = self._histogram_line if self.m.kind is Kind.HISTOGRAM else self._sample_line
        shown, at = self._shown, self._at
        for labels in changed:
            place = at.get(labels)
            if place is None:
                return None
            got = line(labels, rows[labels], now)
            if got is None:
                return None
            shown[place] = got
        return self._head + b"".join(shown)

    def _sample_line(self, labels: Labels, values: list[float], now: float) -> bytes:
        value = values[0]
        if self.m.countdown:
            value = max(0.0, value - now)
        key = _bits(1).pack(value)
        got = self._lines.get(labels)
        if got is None or got[0] != key:
            prefix = got[2] if got is not None else self.names.prefix(self.sample, self._pairs(labels))
            got = (key, f"{prefix}{go(value)}\n".encode(), prefix)
            self._lines[labels] = got
        return got[1]

    def _histogram_line(self, labels: Labels, values: list[float], now: float) -> bytes | None:
        slots = len(self.edges) + 1
        if len(values) != slots:
            return None  # not this catalogue's histogram: skipped
        key = _bits(slots).pack(*values)
        got = self._lines.get(labels)
        if got is None or got[0] != key:
            got = (key, *self._histogram(labels, values, got))
            self._lines[labels] = got
        return got[1]

    def _histogram(self, labels: Labels, values: list[float], last: tuple | None) -> tuple[bytes, object]:
        if last is not None:
            label_text = last[2]
        else:
            pairs = [self.names.pair(self.m.labels[i], labels[i]) for i in self.order]
            head, tail = pairs[: self.before_le], pairs[self.before_le :]
            plain = ",".join(pairs)
            label_text = (
                self.bucket[0] + "".join(p + "," for p in head),
                "".join("," + p for p in tail) + self.bucket[1],
                self.names.prefix(self.count, plain),
                self.names.prefix(self.sum, plain),
            )
        start, end, count, total = label_text
        running, parts = 0.0, []
        for edge, n in zip(self.edges, values):
            running += n
            parts.append(f"{start}{edge}{end}{go(running)}\n")
        if self.totals:
            parts.append(f"{count}{go(running)}\n{total}{go(values[-1])}\n")
        return "".join(parts).encode(), label_text


class TextWriter:
    """Writes series in one format, keeping what it can for the next rendering (see the module docstring).

    Given the very `series` object of the last call again (Aggregator.collect returns its last dict when no
    file changed; a dict given here is never changed afterwards), each metric's text is the last call's,
    but for countdowns, which depend on `now`. Given a `Stepped` series made from the last call's, only the
    lines of the series it names are made again (and a metric's text joined again from its lines)."""

    def __init__(self, namespace: str, fmt: Format):
        names = _Names(fmt)
        self._metrics = [_MetricText(m, namespace, names) for m in CATALOGUE]
        self._end = b"# EOF\n" if fmt.openmetrics else b""
        self._series: Series | None = None
        self._grouped: dict[str, dict[Labels, list[float]]] = {}
        self._texts: list[bytes | None] = [None] * len(self._metrics)
        self._place = {m.m.name: i for i, m in enumerate(self._metrics)}

    def write(self, series: Series, now: float) -> bytes:
        if series is not self._series:
            changed = self._changed(series)
            if changed is None:
                self._regroup(series)
            self._series = series
            for i, labels in (changed or {}).items():
                metric = self._metrics[i]
                rows = self._grouped[metric.m.name]
                self._texts[i] = metric.update(rows, labels, now)  # None: written whole below
        out: list[bytes] = []
        texts, grouped = self._texts, self._grouped
        for i, metric in enumerate(self._metrics):
            text = texts[i]
            if text is None or metric.m.countdown:
                text = texts[i] = metric.write(grouped.get(metric.m.name, {}), now)
            out.append(text)
        out.append(self._end)
        return b"".join(out)

    def _regroup(self, series: Series) -> None:
        grouped: dict[str, dict[Labels, list[float]]] = {}
        for (name, labels), values in series.items():
            rows = grouped.get(name)
            if rows is None:
                rows = grouped[name] = {}
            rows[labels] = values
        self._grouped = grouped
        self._texts = [None] * len(self._metrics)

    def _changed(self, series: Series) -> dict[int, list[Labels]] | None:
        """When `series` is the last rendered one but for some series' values (aggregate.Stepped), those
        values put in place and the labels changed per metric; None otherwise (every series grouped again)."""
        if not isinstance(series, Stepped) or series.previous is None or series.previous is not self._series:
            return None
        grouped, place = self._grouped, self._place
        changed: dict[int, list[Labels]] = {}
        for key in series.changed:
            name, labels = key
            rows = grouped.get(name)
            i = place.get(name)
            if rows is None or i is None or labels not in rows:
                return None  # a new series: its metric's order changes
            rows[labels] = series[key]
            changed.setdefault(i, []).append(labels)
        return changed
