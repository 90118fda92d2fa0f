"""record: one keyword-only method per catalogue metric; every call site in the package names exactly the
metric's labels (checked statically, reached by a test or not)."""

from __future__ import annotations

import ast
import inspect
import pathlib
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from litellm_observe.catalogue import BY_NAME, CATALOGUE, GaugeMode, Kind
from litellm_observe.rundir import samplefile
from litellm_observe.rundir.layout import prepare
from litellm_observe.rundir.record import Recorder, Slots, value_parameters
from litellm_observe.rundir.writer import SampleWriter

PACKAGE = pathlib.Path(__file__).resolve().parent.parent.parent / "litellm_observe"


def _records(path):
    out = {}
    for key, values in samplefile.read(path).records:
        metric, _, labels = samplefile.decode_key(key)
        out[(metric, labels)] = values
    return out


def test_named_labels_land_in_catalogue_order(tmp_path):
    store = SampleWriter(str(tmp_path))
    rec = Recorder(store)
    rec.provider_requests(status_code="500", deployment="d", model="m", provider="p")  # any keyword order
    rec.request_duration_seconds(provider="p", endpoint="e", model="m", value=0.05)
    rec.requests_remaining(model="m", provider="p", value=7.0, when=1.0)
    rec.current_load(endpoint="e", delta=1.0, when=2.0)
    got = _records(store.path)
    assert got[("provider_requests", ("p", "m", "d", "500"))] == (1.0,)
    hist = got[("request_duration_seconds", ("m", "p", "e"))]
    assert hist[BY_NAME["request_duration_seconds"].buckets.index(0.08)] == 1.0 and hist[-1] == 0.05
    assert got[("requests_remaining", ("p", "m"))] == (7.0, 1.0)
    assert got[("current_load", ("e",))] == (1.0, 2.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.requests(model="m", provider="p", team="t"),  # a label missing
        lambda r: r.requests(model="m", provider="p", team="t", status="200"),  # a wrong name
        lambda r: r.requests("m", "p", "t", "200"),  # positional: order could be swapped unseen
        lambda r: r.requests(model="m", provider="p", team="t", status_code="200", region="x"),  # extra
    ],
)
def test_a_wrong_call_is_a_type_error(tmp_path, call):
    with pytest.raises(TypeError):
        call(Recorder(SampleWriter(str(tmp_path))))


def test_every_metric_has_a_method_but_the_exporters_own(tmp_path):
    recorder = Recorder(SampleWriter(str(tmp_path)))
    # the methods are the class's (written out, no longer set on each instance): the recorder's public attributes
    rec = SimpleNamespace(**{name: getattr(recorder, name) for name in dir(recorder) if not name.startswith("_")})
    expected = {m.name for m in CATALOGUE if m.gauge_mode is not GaugeMode.EXPORTER}
    assert {name for name in vars(rec) if name not in ("store", "key")} == expected


def _call_sites():
    """(file, line, metric, keyword names) of every `....rec.<metric>(...)` / `rec.<metric>(...)` call."""
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
            if name in ("rec", "_rec"):
                yield (
                    path.relative_to(PACKAGE),
                    node.lineno,
                    node.func.attr,
                    node.args,
                    {k.arg for k in node.keywords},
                )


def _key_sites():
    """(file, line, metric, keyword names) of every `key("<metric>", ...)` / `rec.key("<metric>", ...)` call."""
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name == "key" and node.args and isinstance(node.args[0], ast.Constant):
                yield path.relative_to(PACKAGE), node.lineno, node.args[0].value, node.args[1:], node.keywords


def test_every_slots_key_names_exactly_the_metrics_labels():
    sites = list(_key_sites())
    assert len(sites) > 20  # the checker finds the hot path's keys (worker/series.py)
    wrong = []
    for path, line, metric, args, keywords in sites:
        m = BY_NAME.get(metric)
        names = [k.arg for k in keywords]
        if m is None or args or None in names or sorted(names) != sorted(m.labels):
            wrong.append(f"{path}:{line}: key({metric!r}, {', '.join(map(str, names))})")
    assert wrong == []


@pytest.mark.parametrize(
    "call",
    [
        lambda: Recorder.key("requests", model="m", provider="p", team="t", endpoint="e"),  # a label missing
        lambda: Recorder.key("requests", model="m", provider="p", team="t", endpoint="e", status="200"),
        lambda: Recorder.key("cache_hits", model="m", provider="p"),  # extra
        lambda: Recorder.key("no_such_metric", model="m"),
        lambda: Recorder.key("build_info", version="1"),  # the exporter's own, never stored
    ],
)
def test_a_wrong_key_is_a_type_error(call):
    with pytest.raises(TypeError):
        call()


def test_every_call_site_names_exactly_the_metrics_labels():
    sites = list(_call_sites())
    assert len(sites) > 20  # the checker finds the logger's calls
    wrong = []
    for path, line, metric, args, keywords in sites:
        m = BY_NAME.get(metric)
        if m is None:
            wrong.append(f"{path}:{line}: no metric {metric!r} in the catalogue")
            continue
        values = set(value_parameters(m))
        optional = {"amount"} if m.kind is Kind.COUNTER else set()
        if args or not (set(m.labels) <= keywords <= set(m.labels) | values) or not (values - optional) <= keywords:
            wrong.append(
                f"{path}:{line}: {metric}({', '.join(sorted(keywords))}) "
                f"must name {', '.join(m.labels + value_parameters(m))}"
            )
    assert wrong == []


WRITTEN = [m for m in CATALOGUE if m.gauge_mode is not GaugeMode.EXPORTER]


@pytest.mark.parametrize("m", WRITTEN, ids=lambda m: m.name)
def test_each_method_takes_its_metrics_labels_in_catalogue_order_keyword_only(m):
    params = list(inspect.signature(getattr(Recorder, m.name)).parameters.values())[1:]  # less self
    assert [p.name for p in params] == [*m.labels, *value_parameters(m)]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)


@pytest.mark.parametrize("m", WRITTEN, ids=lambda m: m.name)
def test_each_method_writes_its_metric_with_its_labels_in_catalogue_order(tmp_path, m):
    """Each label's value is its own name: the stored key shows the order the method wrote them in."""
    store = SampleWriter(str(tmp_path))
    labels = {label: label for label in m.labels}
    method = getattr(Recorder(store), m.name)
    if m.kind is Kind.COUNTER:
        method(**labels, amount=2.0)
        expected = (2.0,)
    elif m.kind is Kind.HISTOGRAM:  # an edge lands in its own bucket (le: the upper bound is included)
        k = len(m.buckets) // 2
        method(**labels, value=m.buckets[k])
        expected = tuple(1.0 if i == k else 0.0 for i in range(len(m.buckets) + 1)) + (m.buckets[k],)
    elif m.gauge_mode is GaugeMode.LIVESUM:
        method(**labels, delta=3.0, when=4.0)
        expected = (3.0, 4.0)
    else:
        method(**labels, value=3.0, when=4.0)
        expected = (3.0, 4.0)
    assert _records(store.path) == {(m.name, m.labels): expected}


# ---- Slots: the hot path's writes by index ----------------------------------------------------------------
def _one_write(target, m, labels, value, when):
    """One write of metric `m` through a Recorder method or through Slots position 0."""
    if isinstance(target, Recorder):
        method = getattr(target, m.name)
        if m.kind is Kind.COUNTER:
            method(**labels, amount=value)
        elif m.kind is Kind.HISTOGRAM:
            method(**labels, value=value)
        elif m.gauge_mode is GaugeMode.LIVESUM:
            method(**labels, delta=value, when=when)
        else:
            method(**labels, value=value, when=when)
        return
    with target.store.lock:
        if m.kind is Kind.COUNTER:
            target.inc(0, value)
        elif m.kind is Kind.HISTOGRAM:
            target.observe(0, value)
        elif m.gauge_mode is GaugeMode.LIVESUM:
            target.add(0, value, when)
        else:
            target.set(0, value, when)


_VALUES = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    writes=st.lists(
        st.tuples(st.sampled_from(WRITTEN), st.sampled_from(["a", "b", "ü"]), _VALUES, _VALUES), max_size=40
    )
)
def test_slots_store_what_the_recorder_stores(tmp_path_factory, writes):
    """The same writes through Recorder methods and through Slots give the same records, in the same order:
    the hot path stores what the named-label path does."""
    by_method, by_slots = (
        SampleWriter(str(tmp_path_factory.mktemp("m"))),
        SampleWriter(str(tmp_path_factory.mktemp("s"))),
    )
    rec = Recorder(by_method)
    slots: dict[tuple[str, str], Slots] = {}
    for m, label_value, value, when in writes:
        labels = {label: label_value for label in m.labels}
        _one_write(rec, m, labels, value, when)
        key = (m.name, label_value)
        if key not in slots:
            slots[key] = Slots(by_slots, [Recorder.key(m.name, **labels)])
        _one_write(slots[key], m, labels, value, when)
    assert samplefile.read(by_slots.path).records == samplefile.read(by_method.path).records


def test_slots_create_a_series_only_when_first_written(tmp_path):
    store = SampleWriter(str(tmp_path))
    slots = Slots(
        store,
        [Recorder.key("cache_hits", model="m"), Recorder.key("requests_remaining", provider="p", model="m")],
    )
    with store.lock:
        slots.inc(0, 2.0)
    assert _records(store.path) == {("cache_hits", ("m",)): (2.0,)}  # no gauge nobody set
    with store.lock:
        slots.set(1, 5.0, 9.0)
        slots.inc(0)
    assert _records(store.path) == {("cache_hits", ("m",)): (3.0,), ("requests_remaining", ("p", "m")): (5.0, 9.0)}


def test_slots_keep_writing_across_growth_and_republish(tmp_path):
    """An index stays valid when the file grows (mapped anew) and when it is published again elsewhere."""
    store = SampleWriter(prepare(str(tmp_path / "a")), initial_size=4096)
    slots = Slots(store, [Recorder.key("cache_hits", model="m")])
    rec = Recorder(store)
    for n in range(200):  # grows the file several times
        rec.cache_misses(model=f"model-{n}")
        with store.lock:
            slots.inc(0)
    store.republish(prepare(str(tmp_path / "b")))
    with store.lock:
        slots.inc(0)
    assert _records(store.path)[("cache_hits", ("m",))] == (201.0,)


def _in_one_call_and_one_by_one(tmp_path_factory, keys, calls, in_one_call, one_by_one):
    """The records `calls` leave written both ways, `in_one_call(slots, n, call)` and `one_by_one(slots, n, call)`,
    each in a file that starts small enough to grow (mapped anew) between the calls and inside one, as a series is
    created there."""
    got = []
    for write in (in_one_call, one_by_one):
        store = SampleWriter(prepare(str(tmp_path_factory.mktemp("each"))), initial_size=4096)
        filler = Recorder(store)
        slots = Slots(store, keys)
        for n, call in enumerate(calls):
            for i in range(20):  # other series, so that the file grows between and inside the calls
                filler.cache_misses(model=f"model-{n}-{i}")
            with store.lock:
                write(slots, n, call)
        got.append(_records(store.path))
    return got


def _written_after_other_series(tmp_path, keys, write):
    """`write(slots)` into a new file after m other series, for every m up to a few growths: the records of each
    file, and for how many m the file grew inside the call."""
    records, grew_inside = [], 0
    for m in range(120):
        store = SampleWriter(prepare(str(tmp_path / f"m{m}")), initial_size=4096)
        filler = Recorder(store)
        for n in range(m):
            filler.cache_misses(model=f"model-{n}")
        slots = Slots(store, keys)
        before = store.values
        with store.lock:
            write(slots)
        grew_inside += store.values is not before
        records.append(_records(store.path))
    return records, grew_inside


_GAUGES = [Recorder.key(name, provider="p", model="m") for name in ("requests_remaining", "requests_limit")]


def _set_one_by_one(slots, n, values):
    for k, value in enumerate(values):
        if value is not None:
            slots.set(k, value, 1000.0 + n)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.one_of(st.none(), st.floats(0, 1e6)), st.one_of(st.none(), st.floats(0, 1e6)))))
def test_set_each_writes_what_set_writes_for_each_value_there_is(tmp_path_factory, writes):
    """set_each (set()'s body inline, one call for several gauges) against set() value by value."""
    got = _in_one_call_and_one_by_one(
        tmp_path_factory,
        _GAUGES,
        writes,
        lambda slots, n, values: slots.set_each((0, 1), values, 1000.0 + n),
        _set_one_by_one,
    )
    assert got[0] == got[1]


_COUNTERS = [Recorder.key(name, model=f"m{n}") for n, name in enumerate(("cache_hits", "cache_misses", "cache_hits"))]


def _inc_one_by_one(slots, n, ks):
    for k in ks:
        slots.inc(k)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.integers(0, 2), max_size=3)))
def test_inc_each_adds_what_inc_adds_to_each(tmp_path_factory, calls):
    """inc_each (inc()'s body inline, one call for several counters) against inc() series by series."""
    got = _in_one_call_and_one_by_one(
        tmp_path_factory, _COUNTERS, calls, lambda slots, n, ks: slots.inc_each(ks), _inc_one_by_one
    )
    assert got[0] == got[1]


def test_inc_each_keeps_writing_when_a_series_it_creates_grows_the_file(tmp_path):
    """inc_each may create its series after m other series: the counters hold one each, and for some m the file
    grew inside the call."""
    records, grew_inside = _written_after_other_series(tmp_path, _COUNTERS, lambda slots: slots.inc_each((0, 1, 2)))
    for got in records:
        assert [got[key] for key in _COUNTERS] == [(1.0,)] * 3
    assert grew_inside


def test_set_each_keeps_writing_when_a_series_it_creates_grows_the_file(tmp_path):
    """The file is mapped anew when it grows, and set_each may create both its series after m other series: the
    gauges hold what was set, and for some m the file grew inside the call."""
    records, grew_inside = _written_after_other_series(
        tmp_path, _GAUGES, lambda slots: slots.set_each((0, 1), (1.0, 2.0), 9.0)
    )
    for got in records:
        assert got[("requests_remaining", ("p", "m"))] == (1.0, 9.0)
        assert got[("requests_limit", ("p", "m"))] == (2.0, 9.0)
    assert grew_inside
