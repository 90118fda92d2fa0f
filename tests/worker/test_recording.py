"""labels.Labeller and recording.Recording on their own: label values and what an observation records, with a
Recorder and no CustomLogger (the logger's hooks are tested end to end in test_logger.py)."""

from __future__ import annotations

import dataclasses
import tempfile
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st

from litellm_observe.catalogue import TOKEN_TYPES  # noqa: E402
from litellm_observe.rundir import samplefile  # noqa: E402
from litellm_observe.rundir.record import Recorder  # noqa: E402
from litellm_observe.rundir.writer import SampleWriter  # noqa: E402
from litellm_observe.worker import labels as labels_mod  # noqa: E402
from litellm_observe.worker import observations as obs  # noqa: E402
from litellm_observe.worker.budgets import BudgetResets  # noqa: E402
from litellm_observe.worker.calls import Call, CallBook  # noqa: E402
from litellm_observe.worker.labels import OVERFLOW, UNKNOWN, UNLISTED, LabelCaps, Labeller, clean  # noqa: E402
from litellm_observe.worker.recording import Recording, duration  # noqa: E402
from tests.support import events as ev


def _records(path) -> dict:
    out = {}
    for key, values in samplefile.read(path).records:
        metric, _, labels = samplefile.decode_key(key)
        out[(metric, labels)] = values
    return out


def _labeller(names=("ok", "gpt-*"), cap=10):
    asked = []

    def model_names():
        asked.append(1)
        return None if names is None else list(names)

    return Labeller(LabelCaps(lambda label: cap), model_names), asked


def test_model_groups_are_listed_matched_by_wildcard_unlisted_or_unknown():
    labels, asked = _labeller()
    assert labels.model("ok") == "ok"
    assert labels.model("gpt-4o") == "gpt-*"  # the wildcard entry it matches
    assert labels.model("other") == UNLISTED
    assert labels.model(None) == UNKNOWN and labels.model("") == UNKNOWN
    assert len(asked) == 1  # the model list is read again only after MODEL_REFRESH_SECONDS


def test_outside_a_proxy_every_name_is_a_model_group():
    labels, asked = _labeller(names=None)
    assert labels.model("anything") == "anything" and labels.model("else") == "else"
    assert len(asked) == 1


def test_labels_are_cleaned_and_capped():
    labels, _ = _labeller(cap=2)
    assert labels.label("provider", " openai ") == "openai"
    assert labels.team(None) == UNKNOWN
    assert [labels.team(t) for t in ("a", "b", "c", "a")] == ["a", "b", OVERFLOW, "a"]


def _recording(tmp_path, caching=False):
    return _recording_in(str(tmp_path), caching)


def _recording_in(directory: str, caching=False, batched=False):
    store = SampleWriter(directory)
    labels, _ = _labeller()
    return Recording(Recorder(store), labels, CallBook(), BudgetResets(None), lambda: caching, batched), store


def test_a_success_records_its_request_attempt_tokens_spend_and_headers(tmp_path):
    recording, store = _recording(tmp_path)
    o = obs.success(ev.success_kwargs(call_id="c1", cached_tokens=3))
    recording.success(o, None, True, 0.0, 1000.0)
    got = _records(store.path)
    assert got[("requests", ("ok", "openai", UNKNOWN, "chat_completions", "200"))] == (1.0,)
    assert got[("tokens_used", ("openai", "ok", UNKNOWN, "input"))] == (11.0,)
    assert got[("tokens_used", ("openai", "ok", UNKNOWN, "output"))] == (7.0,)
    assert {labels[3] for metric, labels in got if metric == "tokens_used"} == set(TOKEN_TYPES)  # nothing else
    assert got[("token_details", ("openai", "ok", UNKNOWN, "cached_input"))] == (3.0,)  # a part of input, apart
    assert got[("requests_remaining", ("openai", "ok"))] == (990.0, 1000.0)
    assert [k for k in got if k[0] == "deployment_state"] and not [k for k in got if k[0] == "cache_misses"]


def test_a_success_that_is_not_the_requests_end_records_no_request(tmp_path):
    recording, store = _recording(tmp_path, caching=True)
    recording.success(obs.success(ev.success_kwargs(call_id="c1")), None, False, 0.0, 1000.0)
    got = _records(store.path)
    assert not [k for k in got if k[0] == "requests"]
    assert got[("cache_misses", ("ok",))] == (1.0,) and [k for k in got if k[0] == "provider_requests"]


def test_a_failed_request_and_its_retries(tmp_path):
    recording, store = _recording(tmp_path)
    call = Call("c", 10.0, "ok")
    call.groups = {"ok": ["openai", 3]}
    recording.request_failed("ok", "openai", "t", "embeddings", (), 503, "service_unavailable", 10.0, 12.5)
    recording.retries(call)
    got = _records(store.path)
    assert got[("requests", ("ok", "openai", "t", "embeddings", "503"))] == (1.0,)
    assert got[("errors", ("ok", "openai", "t", "embeddings", "service_unavailable", "503"))] == (1.0,)
    assert got[("retries", ("openai", "ok"))] == (2.0,)
    assert got[("request_duration_seconds", ("ok", "openai", "embeddings"))][-1] == 2.5


_base_success = obs.success(ev.success_kwargs(call_id="b"))


# ---- durations: duration()'s test, inline on a success's path --------------------------------------------------
_instants = st.one_of(st.none(), st.floats(), st.sampled_from([0.0, 1e308, -1e308]))


@settings(max_examples=300, deadline=None)
@given(_instants, _instants, st.one_of(st.none(), st.floats(-10.0, 10.0)))
def test_a_successs_durations_are_recorded_when_duration_takes_them(started, ended, began):
    """A success's request duration (from its start, or from the pre-call hook's monotonic `began` when its call is
    known) and its upstream latency, for any times (NaN, infinities, a clock that went back, overflow to an
    infinite difference): recorded, with that value, exactly when duration() takes the difference."""
    with tempfile.TemporaryDirectory() as d:
        recording, store = _recording_in(d)
        o = dataclasses.replace(_base_success, started=started, ended=ended, budgets=(), budget_sightings=())
        call = None if began is None else Call("c", began)
        recording.success(o, call, True, 0.0, 1000.0)
        got = _records(store.path)
    request = [v for (m, _), v in got.items() if m == "request_duration_seconds"]
    latency = [v for (m, _), v in got.items() if m == "provider_latency_seconds"]
    if ended is None:
        expected = None
    elif call is not None:
        expected = duration((ended - 1000.0) + (0.0 - began))
    else:
        expected = duration(ended - started) if started is not None else None
    assert [v[-1] for v in request] == ([] if expected is None else [expected])
    ok = started is not None and ended is not None and duration(ended - started) is not None
    assert [v[-1] for v in latency] == ([ended - started] if ok else [])


@settings(max_examples=300, deadline=None)
@given(_instants, st.one_of(st.floats(), st.sampled_from([0.0, 1e308, -1e308])))
def test_a_failures_durations_are_recorded_when_duration_takes_them(started, now):
    """A failed request's duration (from the pre-call hook's `started` to `now`) and a failed attempt's latency
    (from its `began` to `now`), duration()'s test inline in both: recorded, with that value, exactly when duration()
    takes the difference, for any times (NaN, infinities, a clock that went back, overflow)."""
    with tempfile.TemporaryDirectory() as d:
        recording, store = _recording_in(d)
        recording.request_failed("ok", "openai", "t", "embeddings", (), 503, "service_unavailable", started, now)
        recording.attempt_failed(obs.FailedAttempt("c", "openai", "ok", "dep", 500, "timeout", started), now)
        got = _records(store.path)
    failed = [v for (m, _), v in got.items() if m == "request_duration_seconds"]
    latency = [v for (m, _), v in got.items() if m == "provider_latency_seconds"]
    expected = None if started is None else duration(now - started)
    assert [repr(v[-1]) for v in failed] == ([] if expected is None else [repr(expected)])
    assert [repr(v[-1]) for v in latency] == ([] if expected is None else [repr(expected)])
    assert got[("requests", ("ok", "openai", "t", "embeddings", "503"))] == (1.0,)  # its counts, whatever the times


# ---- series remembered by their raw values (Recording._success_by_raw and the failures') ------------------------
_HOSTILE = st.sampled_from([1, True, 1.0, ["a", "list"]])  # ints and bools equal to each other; unhashable
_MODEL = st.one_of(st.sampled_from(["ok", "gpt-4o", "other", "", None]), _HOSTILE)  # listed, wildcard, unlisted
_VALUE = st.one_of(st.sampled_from(["a", "b", "c", " openai ", None]), _HOSTILE)
# what is recorded (a success, a failed request, a failed attempt) and its raw values: asked for, group, provider,
# team, deployment (a failed request's error type), cache hit (a failure's status: 503, else 500)
_raw_event = st.tuples(
    st.sampled_from(["success", "request", "attempt"]), _MODEL, _MODEL, _VALUE, _VALUE, _VALUE, st.booleans()
)
_steps = st.lists(  # an event (an index into a few raw events, which then repeat), a new model list, or time
    st.one_of(  # passing (the labeller reads the list anew for an unknown name only MODEL_REFRESH_SECONDS apart)
        st.integers(0, 7), st.sampled_from([("ok", "gpt-*"), ("other",), ("a", "ok"), ()]), st.just("later")
    ),
    max_size=40,
)
_OK, _OTHER = ("success", None, "ok", "p", "t", "d", False), ("success", None, "other", "p", "t", "d", False)


def _record_raw(recording: Recording, kind: str, asked, group, provider, team, deployment, cache_hit) -> None:
    if kind == "request":
        status = 503 if cache_hit else 500
        recording.request_failed(group, provider, team, "chat_completions", (), status, deployment, None, 1.0)
    elif kind == "attempt":
        status = 503 if cache_hit else 500
        recording.attempt_failed(obs.FailedAttempt("c", provider, group, deployment, status, "timeout", None), 1.0)
    else:
        o = dataclasses.replace(
            _base_success,
            requested=asked,
            model_group=group,
            provider=provider,
            team=team,
            model_id=deployment,  # the deployment's name, when text (observations.deployment_name)
            cache_hit=cache_hit,
            budgets=(),
            budget_sightings=(),
        )
        recording.success(o, None, True, 0.0, 1000.0)


@settings(max_examples=300, deadline=None)
@given(st.lists(_raw_event, min_size=1, max_size=8), _steps)
# An overflow (a third provider) seen again; a listed group remembered, then the list read anew without it; an
# unlisted group seen again after the list has it; a failed request's listed group, as the second; a failed
# request's error types 1 and True (equal keys, other labels). An example repeats its first event where it needs it
# remembered: the first event of a run reads the model list, and what is remembered then is forgotten at the next.
@example(
    [_OK, ("success", None, "ok", "q", "t", "d", False), ("success", None, "ok", "r", "t", "d", False)], [0, 1, 2, 2, 2]
)
@example([_OK, _OTHER], [0, ("other",), "later", 1, 0])
@example([_OK, ("success", None, "ok", "p", "t", "e", False)], [0, 0, 1])  # another deployment alone
@example([_OTHER], [0, 0, ("other",), "later", 0])
@example([("request", None, g, "p", "t", "e", False) for g in ("ok", "other")], [0, ("other",), "later", 1, 0])
@example([("request", None, "ok", "p", "t", e, False) for e in (1, True)], [0, 0, 1])
def test_series_found_by_raw_values_are_those_labelling_would_give(events, steps):
    """Successes, failed requests and failed attempts with raw values of every kind (text, missing, ints and bools
    that compare equal to each other, unhashable ones), each seen again and again, labels capped at 2 values, the
    proxy's model list changing and time passing between them: a Recording that finds their series by their raw
    values writes what one that labels every event writes (its remembered series forgotten after each), and counts
    the same overflows."""
    names: list[str] = ["ok", "gpt-*"]
    clock = [0.0]  # the labeller's monotonic clock
    got = []
    for forget in (False, True):
        overflows: list[str] = []
        labels = Labeller(LabelCaps(lambda label: 2, on_overflow=overflows.append), lambda: list(names))
        names[:] = ["ok", "gpt-*"]
        clock[0] = 1000.0
        with tempfile.TemporaryDirectory() as d, mock.patch.object(labels_mod, "time", mock.Mock()) as fake_time:
            fake_time.monotonic = lambda: clock[0]
            store = SampleWriter(d)
            recording = Recording(Recorder(store), labels, CallBook(), BudgetResets(None), lambda: False)
            for step in steps:
                if isinstance(step, tuple):
                    names[:] = step
                    continue
                if step == "later":
                    clock[0] += labels_mod.MODEL_REFRESH_SECONDS + 1
                    continue
                _record_raw(recording, *events[step % len(events)])
                if forget:
                    for remembered in (
                        recording._success_by_raw,
                        recording._request_failure_by_raw,
                        recording._attempt_failure_by_raw,
                    ):
                        remembered.clear()
            got.append((_records(store.path), overflows))
    assert got[0] == got[1]


# ---- budgets: written once per batch (Recording.write_kept) --------------------------------------------------
_BUDGET_METRICS = ("budget_max_usd", "budget_remaining_usd", "budget_reset_seconds")

readings = st.tuples(  # BudgetReadings: observations.BUDGET_READING_FIELDS
    st.sampled_from(["team", "key"]),
    # past the cap of 2 a type; two names with one label ("a", "a "); a name that is a sentinel's text
    st.sampled_from(["a", "b", "c", "a ", "overflow", "d"]),
    st.floats(0, 100),
    st.one_of(st.none(), st.floats(-100, 100)),
    st.one_of(st.none(), st.floats(1.7e9, 1.8e9)),
)


def _budget_records(store) -> dict:
    return {k: v for k, v in _records(store.path).items() if k[0] in _BUDGET_METRICS}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.lists(readings, max_size=3), max_size=6), max_size=4))
def test_budget_gauges_written_once_per_batch_end_as_if_written_at_each_request(batches):
    """Each request's budget readings (`batches`: requests, each a list of readings, at increasing times, in
    batches), written with each request (no batches) or once at each batch's end: the same values and times in
    every gauge at every batch's end (a reading without a remaining amount or a reset time leaves the earlier
    one's), with entity labels capped at 2 a type, and the same overflows counted: one at every reading of an entity
    past the cap, whether the batch found the entity by its raw name before (Recording._budget_gauges_by_raw)."""
    got = []
    for batched in (False, True):
        overflows: list[str] = []
        labels = Labeller(LabelCaps(lambda label: 2, on_overflow=overflows.append), lambda: None)
        ends = []
        with tempfile.TemporaryDirectory() as d:
            store = SampleWriter(d)
            recording = Recording(Recorder(store), labels, CallBook(), BudgetResets(None), lambda: False, batched)
            now = 1000.0
            for requests in batches:
                before_the_batch_end = _budget_records(store)
                for budgets in requests:
                    now += 1.0
                    recording.success(dataclasses.replace(_base_success, budgets=budgets), None, False, 0.0, now)
                if batched:
                    assert _budget_records(store) == before_the_batch_end  # kept for the batch's end
                recording.write_kept()
                ends.append(_budget_records(store))
        got.append((ends, overflows))
    assert got[0] == got[1]
    readings_seen = [r for requests in batches for budgets in requests for r in budgets]
    if readings_seen:
        assert got[1][0][-1]  # written at all
    admitted: dict[str, list[str]] = {"team": [], "key": []}  # each type's labels, first come first admitted
    expected = 0
    for entity_type, entity, *_ in readings_seen:
        value = clean(entity)
        if value == OVERFLOW:
            continue  # a sentinel's text: neither admitted nor counted
        if value not in admitted[entity_type] and len(admitted[entity_type]) < 2:
            admitted[entity_type].append(value)
        expected += value not in admitted[entity_type]  # past the cap: counted at every reading
    assert len(got[1][1]) == expected


# ---- in flight: kept per batch (Recording.load, Recording.write_kept) ----------------------------------------
def _load_records(store) -> dict:
    return {k: v for k, v in _records(store.path).items() if k[0] == "current_load"}


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.lists(st.tuples(st.sampled_from(["chat", "embeddings", "responses"]), st.sampled_from([1.0, -1.0]))))
)
def test_in_flight_changes_kept_per_batch_leave_what_a_write_per_change_leaves(batches):
    """Requests starting (+1) and stopping (-1) counting in flight, at increasing times, in batches: written at
    each change (no batches) or kept and written at each batch's end, every endpoint's gauge holds the same value
    and time at every batch's end, and in batches nothing reaches the file before it."""
    at_each_end: list[list[dict]] = []
    for batched in (False, True):
        ends = []
        with tempfile.TemporaryDirectory() as d:
            recording, store = _recording_in(d, batched=batched)
            now = 1000.0
            for batch in batches:
                before = _load_records(store)
                for endpoint, delta in batch:
                    now += 0.5
                    recording.load(endpoint, delta, now)
                if batched:
                    assert _load_records(store) == before  # kept for the batch's end
                recording.write_kept()
                ends.append(_load_records(store))
        at_each_end.append(ends)
    assert at_each_end[0] == at_each_end[1]
    if any(batches):
        assert at_each_end[1][-1]  # written at all


def _sighting(spend: float) -> obs.BudgetSighting:
    return ("key", "hash-1", spend, None)  # observations.BUDGET_SIGHTING_FIELDS


def _resets(store) -> float:
    return sum(v[0] for (metric, _), v in _records(store.path).items() if metric == "budget_resets")


def test_a_reset_is_seen_between_an_entitys_latest_sightings_of_two_batches(tmp_path):
    recording, store = _recording_in(str(tmp_path), batched=True)
    for spend, now in ((5.0, 1000.0), (6.0, 1001.0)):  # the first batch: the worker first sees the key
        recording.success(dataclasses.replace(_base_success, budget_sightings=(_sighting(spend),)), None, False, 0, now)
    recording.write_kept()
    assert _resets(store) == 0
    for spend, now in ((7.0, 1002.0), (0.0, 1003.0), (0.5, 1004.0)):  # reset in the middle of the second batch
        recording.success(dataclasses.replace(_base_success, budget_sightings=(_sighting(spend),)), None, False, 0, now)
    recording.write_kept()
    assert _resets(store) == 1  # its latest, 0.5, below the first batch's latest, 6
    recording.write_kept()  # nothing new: nothing seen again
    assert _resets(store) == 1


def test_a_reset_in_the_batch_that_first_sees_the_entity_is_not_seen(tmp_path):
    """The limit README "Budget resets: what is and is not seen" states: only the batch's latest sighting counts."""
    recording, store = _recording_in(str(tmp_path), batched=True)
    for spend, now in ((5.0, 1000.0), (0.0, 1001.0)):
        recording.success(dataclasses.replace(_base_success, budget_sightings=(_sighting(spend),)), None, False, 0, now)
    recording.write_kept()
    assert _resets(store) == 0


def test_without_batches_every_sighting_is_seen(tmp_path):
    recording, store = _recording(tmp_path)
    for spend, now in ((5.0, 1000.0), (0.0, 1001.0)):
        recording.success(dataclasses.replace(_base_success, budget_sightings=(_sighting(spend),)), None, False, 0, now)
    assert _resets(store) == 1
