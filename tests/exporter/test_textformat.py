"""textformat: the same bytes as prometheus_client's encoders over exposition.families(), for every
format choose_encoder picks, on random series, across successive renderings (its caches)."""

from __future__ import annotations

from functools import partial

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.exposition import choose_encoder

from litellm_observe.catalogue import CATALOGUE, Kind
from litellm_observe.exporter import textformat
from litellm_observe.exporter.aggregate import Stepped
from litellm_observe.exporter.textformat import TextWriter, format_of, reference

ACCEPTS = (
    "",
    "text/plain;version=0.0.4",
    "application/openmetrics-text;version=1.0.0",
    "application/openmetrics-text; version=1.0.0; escaping=allow-utf-8",
    "application/openmetrics-text; version=1.0.0; escaping=dots",
    "application/openmetrics-text; version=1.0.0; escaping=values",
    "text/plain;version=1.0.0;escaping=allow-utf-8",
    "text/plain;version=1.0.0;escaping=dots",
    "text/plain;version=1.0.0;escaping=values",
)
ENCODERS = [choose_encoder(a)[0] for a in ACCEPTS]
NOW = 1.7e9

label_value = st.text(st.characters(blacklist_categories=("Cs",)), max_size=6) | st.sampled_from(
    ['"', "\\", "\n", "le", "+Inf", "{", "}", "=", ","]
)
value = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1234567.0, 1e22, NOW + 5])


@st.composite
def series(draw):
    out = {}
    for _ in range(draw(st.integers(0, 12))):
        m = draw(st.sampled_from(CATALOGUE))
        width = len(m.labels) if draw(st.integers(0, 9)) else draw(st.integers(0, 7))  # mostly the right width
        labels = tuple(draw(label_value) for _ in range(width))
        slots = m.value_slots() if m.kind is Kind.HISTOGRAM else 1
        if not draw(st.integers(0, 9)):
            slots = draw(st.integers(1, slots + 2))  # a wrong shape, sometimes
        out[(m.name, labels)] = [draw(value) for _ in range(slots)]
    return out


@st.composite
def changed(draw, before):
    """`before` with some values changed (or their sign of zero), some series gone and some added."""
    out = {}
    for key, values in before.items():
        action = draw(st.integers(0, 3))
        if action == 0:
            continue
        if action == 1:
            values = [draw(value) if draw(st.booleans()) else -v if v == 0 else v for v in values]
        out[key] = list(values)
    out.update(draw(series()))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), encoder=st.sampled_from(ENCODERS), namespace=st.sampled_from(["litellm", "acme", ""]))
def test_same_bytes_as_the_reference_across_renderings(data, encoder, namespace):
    fast = TextWriter(namespace, format_of(encoder)).write
    slow = reference(encoder, namespace)
    first = data.draw(series())
    assert fast(first, NOW) == slow(first, NOW)
    second = data.draw(changed(first))
    assert fast(second, NOW + 7) == slow(second, NOW + 7)  # what was kept from the first is right, or redone
    assert fast(second, NOW + 7) == slow(second, NOW + 7)  # and all of it kept


def test_every_format_choose_encoder_picks_is_written_fast_with_this_prometheus_client():
    for encoder in ENCODERS:
        write = textformat.writer(encoder, "litellm")
        assert isinstance(getattr(write, "__self__", None), TextWriter), encoder


def test_an_encoder_it_does_not_know_is_written_by_the_reference():
    def other(registry):
        return b"other"

    assert format_of(other) is None
    assert format_of(partial(ENCODERS[2], unknown=1)) is None
    assert textformat.writer(other, "litellm")({}, NOW) == b"other"


def test_a_format_that_fails_the_probe_is_written_by_the_reference(monkeypatch):
    monkeypatch.setattr(TextWriter, "write", lambda self, series, now: b"wrong")
    write = textformat.writer(ENCODERS[0], "litellm")
    assert write({}, NOW) == reference(ENCODERS[0], "litellm")({}, NOW)


def test_kept_lines_follow_the_series_of_the_last_rendering():
    req = CATALOGUE[0]
    writer = TextWriter("litellm", format_of(ENCODERS[0]))
    keys = [(req.name, (str(i),) * len(req.labels)) for i in range(5)]
    writer.write({k: [1.0] for k in keys}, NOW)
    writer.write({k: [2.0] for k in keys[:2]}, NOW)
    kept = next(m for m in writer._metrics if m.m is req)
    assert set(kept._lines) == {k[1] for k in keys[:2]}


def with_countdown(data) -> dict:
    """Random series and one countdown's, which is the seconds until a moment and so moves with `now`."""
    countdown = next(m for m in CATALOGUE if m.countdown)
    out = data.draw(series())
    out[(countdown.name, ("x",) * len(countdown.labels))] = [NOW + 60]
    return out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), encoder=st.sampled_from(ENCODERS))
def test_the_same_series_again_is_the_same_bytes_as_the_reference_at_a_later_now(data, encoder):
    """The very dict given again (Aggregator.collect's when no file changed) reuses each metric's text but a
    countdown's, which is the seconds until a moment and so moves with `now`."""
    fast = TextWriter("litellm", format_of(encoder)).write
    slow = reference(encoder, "litellm")
    same = with_countdown(data)
    assert fast(same, NOW) == slow(same, NOW)
    later = fast(same, NOW + 30)
    assert later == slow(same, NOW + 30) and later != fast(dict(same), NOW)


@st.composite
def stepped(draw, before):
    """A Stepped series after `before` (as Aggregator._stepped makes them): some values changed (or their sign of
    zero, or to a wrong shape), sometimes a series added; `changed` names each, and sometimes one unchanged."""
    keys = list(before)
    changed = draw(st.lists(st.sampled_from(keys), unique=True)) if keys else []
    after = Stepped(before, changed)
    for key in changed:
        values = before[key]
        if draw(st.integers(0, 9)):
            after[key] = [draw(value) if draw(st.booleans()) else -v if v == 0 else v for v in values]
        else:
            after[key] = [draw(value) for _ in range(draw(st.integers(1, 4)))]  # another shape
    if draw(st.integers(0, 4)) == 0:
        for key, values in draw(series()).items():
            after[key] = values
            after.changed.append(key)
    return after


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), encoder=st.sampled_from(ENCODERS))
def test_a_stepped_series_is_the_same_bytes_as_the_reference(data, encoder):
    """A Stepped series whose `previous` was the last rendered has only its changed series' lines made again; a
    countdown still moves with `now`; after any chain of steps, the reference's bytes."""
    fast = TextWriter("litellm", format_of(encoder)).write
    slow = reference(encoder, "litellm")
    last = with_countdown(data)
    assert fast(last, NOW) == slow(last, NOW)
    for step in range(data.draw(st.integers(1, 4))):
        last = data.draw(stepped(last))
        assert fast(last, NOW + step) == slow(last, NOW + step)


def test_a_step_remakes_only_the_lines_of_the_series_it_changed(monkeypatch):
    req = CATALOGUE[0]
    writer = TextWriter("litellm", format_of(ENCODERS[0]))
    keys = [(req.name, (str(i),) * len(req.labels)) for i in range(5)]
    first = {k: [1.0] for k in keys}
    writer.write(first, NOW)
    made = []
    kept = next(m for m in writer._metrics if m.m is req)
    line = kept._sample_line
    monkeypatch.setattr(kept, "_sample_line", lambda labels, *rest: made.append(labels) or line(labels, *rest))
    second = Stepped(first, [keys[3]])
    second[keys[3]] = [2.0]
    assert writer.write(second, NOW) == reference(ENCODERS[0], "litellm")(second, NOW)
    assert made == [keys[3][1]]
    third = Stepped(first, [keys[3]])  # made from a dict that is not the last rendered: written whole
    assert writer.write(third, NOW) == reference(ENCODERS[0], "litellm")(third, NOW)
    assert len(made) == 1 + len(keys)
