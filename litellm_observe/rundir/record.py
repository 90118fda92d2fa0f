"""Metrics recorded through the catalogue, with named labels.

A Recorder has one method per catalogue metric, generated from it: keyword-only, one parameter per
label, in the catalogue's order, plus the value:

    rec.requests(model=m, provider=p, team=t, status_code="200")          counter: amount=1.0
    rec.request_duration_seconds(model=m, provider=p, value=0.42)           histogram: value
    rec.requests_remaining(provider=p, model=m, value=990.0, when=now)      most recent gauge
    rec.current_load(delta=1.0, when=now)                                   live-sum gauge

So a call names every label: a wrong, missing or extra name is a TypeError the first time a test
reaches the call, and tests/rundir/test_record.py checks every call site in the package statically,
reached or not. Label order is the catalogue's, written once; the sample file records the metric's
schema (samplefile.py), so a reader of another catalogue skips the record rather than mislabel it.
The methods are generated (as collections.namedtuple generates its classes) so that naming labels
costs no more than a plain call.
"""
from __future__ import annotations

import keyword
from bisect import bisect_left

from ..catalogue import CATALOGUE, GaugeMode, Kind, Metric

VALUE_PARAMETERS = {
    Kind.COUNTER: ("amount",),
    Kind.HISTOGRAM: ("value",),
    GaugeMode.MOSTRECENT: ("value", "when"),
    GaugeMode.LIVEMAX: ("value", "when"),
    GaugeMode.LIVESUM: ("delta", "when"),
}


def value_parameters(m: Metric) -> tuple[str, ...]:
    """The parameters of a metric's method besides its labels."""
    return VALUE_PARAMETERS[m.gauge_mode if m.kind is Kind.GAUGE else m.kind]


def _check(m: Metric) -> None:
    for name in (m.name, *m.labels):
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"catalogue: {name!r} of {m.name} cannot name a parameter")
    clash = set(m.labels) & set(value_parameters(m))
    if clash:
        raise ValueError(f"catalogue: {m.name} has a label named like its value parameter: {clash}")


def _source(m: Metric) -> str:
    """The method's source: WorkerStore's write for the metric's kind, inlined (one call per record, not two:
    a success event records about a dozen series)."""
    labels = ", ".join(m.labels)
    key = f"({m.name!r}, ({labels},))" if m.labels else f"({m.name!r}, ())"
    if m.kind is Kind.COUNTER:
        signature, writes = "amount=1.0", ["values[i] += amount"]
    elif m.kind is Kind.HISTOGRAM:
        signature = "value"
        writes = ["values[i + bisect_left(buckets, value)] += 1.0", f"values[i + {m.value_slots() - 1}] += value"]
    elif m.gauge_mode in (GaugeMode.MOSTRECENT, GaugeMode.LIVEMAX):
        signature, writes = "value, when", ["values[i] = value", "values[i + 1] = when"]
    else:
        signature, writes = "delta, when", ["values[i] += delta", "values[i + 1] = when"]
    params = f"*, {labels}, {signature}" if m.labels else f"*, {signature}"
    body = "\n        ".join(writes)
    return (f"def {m.name}({params}):\n"
            f"    key = {key}\n"
            f"    with lock:\n"
            f"        i = index_get(key)\n"
            f"        if i is None:\n"
            f"            i = store._new(key)\n"
            f"        values = store._values\n"
            f"        {body}\n")


class Recorder:
    """One method per catalogue metric (but the exporter's own build-info gauge), writing to `store` (a
    rundir.store.WorkerStore: each method is its inc/observe/set/add, inlined; every value one 8-byte store)."""

    def __init__(self, store):
        self.store = store
        for m in CATALOGUE:
            if m.kind is Kind.GAUGE and m.gauge_mode is GaugeMode.EXPORTER:
                continue
            _check(m)
            namespace = {"store": store, "lock": store._lock, "index_get": store._index.get,
                         "bisect_left": bisect_left, "buckets": m.buckets}
            exec(_source(m), namespace)  # noqa: S102 - source built from the catalogue only
            fn = namespace[m.name]
            fn.__doc__ = f"{m.kind.value} {m.name}{list(m.labels)}: {m.help}"
            setattr(self, m.name, fn)
