"""observations: the pure parse of LiteLLM's payloads, against payloads captured from real proxies of every
version of the matrix (tests/support/payloads.py), and against hostile input."""

from __future__ import annotations

import datetime
import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from litellm_observe.worker import error_types
from litellm_observe.worker import observations as obs
from tests.support import events as ev
from tests.support.payloads import captured as payloads

VERSIONS = payloads.versions()
PROMPT, COMPLETION = 11, 7  # what the fake upstream reports
HEADERS = (990.0, 1000.0, 99500.0, 100000.0)  # its x-ratelimit-* headers


def test_the_library_covers_every_version_of_the_matrix():
    from litellm_observe import compat

    assert {compat.OLDEST_SUPPORTED, compat.NEWEST_TESTED} <= set(VERSIONS)


@pytest.mark.parametrize("version", VERSIONS)
def test_successes(version):
    found = [obs.success(args["kwargs"]) for args in payloads.of(version, "async_log_success_event")]
    assert len(found) == 4  # ok, ok streamed, flaky after its retry, primary's fallback to ok
    for o in found:
        assert o.provider == "openai" and isinstance(o.call_id, str) and o.problems == ()
        assert o.prompt_tokens == PROMPT and o.completion_tokens == COMPLETION and o.cost and o.cost > 0
        assert o.started is not None and o.ended is not None and o.ended >= o.started
        assert o.ratelimit == HEADERS and not o.cache_hit
    assert sorted(o.model_group for o in found) == ["flaky", "ok", "ok", "ok"]
    streamed = [o for o in found if o.stream]
    assert len(streamed) == 1 and streamed[0].first_token is not None
    fell_back = [o for o in found if o.requested]
    assert [(o.requested, o.model_group) for o in fell_back] == [("primary", "ok")]
    assert [o.retries for o in found if o.model_group == "flaky"] == [1.0]


@pytest.mark.parametrize("version", VERSIONS)
def test_the_failure(version):
    (args,) = payloads.of(version, "async_post_call_failure_hook")
    o = obs.failure(args["request_data"], args["original_exception"], args["user_api_key_dict"])
    assert (o.model, o.status_code, o.error_type, o.provider) == ("bad500", 500, "internal_server_error", "openai")
    assert isinstance(o.call_id, str)


@pytest.mark.parametrize("version", VERSIONS)
def test_failed_attempts(version):
    found = [
        obs.failed_attempt(a["request_data"], a["exception"])
        for a in payloads.of(version, "async_post_call_failure_deployment_hook")
    ]
    assert sorted(o.model_group for o in found) == ["bad500", "flaky", "primary"]
    assert {(o.provider, o.status_code, o.error_type) for o in found} == {("openai", 500, "internal_server_error")}
    assert all(o.began is not None for o in found)


@pytest.mark.parametrize("version", VERSIONS)
def test_attempt_starts_and_request_starts(version):
    starts = [obs.attempt_start(a["kwargs"]) for a in payloads.of(version, "log_pre_api_call")]
    assert len(starts) == 7  # ok, ok streamed, bad500, flaky x2, primary, then its fallback to ok
    assert {s.provider for s in starts} == {"openai"}
    assert sorted(s.model_group for s in starts) == ["bad500", "flaky", "flaky", "ok", "ok", "ok", "primary"]
    requests = [obs.request_start(a["data"]) for a in payloads.of(version, "async_pre_call_hook")]
    assert sorted(r.model for r in requests) == ["bad500", "flaky", "ok", "ok", "primary"]
    assert len({r.call_id for r in requests}) == 5


@pytest.mark.parametrize("version", VERSIONS)
def test_the_fallback(version):
    (args,) = payloads.of(version, "log_success_fallback_event")
    o = obs.fallback(args["original_model_group"], args["kwargs"], True)
    assert (o.from_group, o.to_group, o.success) == ("primary", "ok", True)


class _IntSubclass(int):
    pass


@given(
    st.one_of(
        st.integers(min_value=-(10**400), max_value=10**400),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.none(),
        st.text(max_size=3),
        st.builds(_IntSubclass, st.integers(min_value=-(10**20), max_value=10**20)),
    )
)
def test_number_is_a_finite_float_of_an_int_or_float_and_nothing_else(value):
    """number() against the definition it replaces: a finite float of an int or float, never of a bool."""
    expected = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            f = float(value)
        except OverflowError:
            f = math.inf
        expected = f if math.isfinite(f) else None
    got = obs.number(value)
    assert got == expected and (got is None or type(got) is float)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.integers(min_value=-(10**400), max_value=10**400),
        st.integers(min_value=-3, max_value=3),
        st.sampled_from([10**308, 10**308 + 1, -(10**308), 2**1024, -(2**1024), -0.0, 0.0, -1e-300]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.none(),
        st.text(max_size=3),
        st.integers(min_value=-(10**20), max_value=10**20).map(str),
        st.builds(_IntSubclass, st.integers(min_value=-(10**20), max_value=10**20)),
    )
)
def test_amount_and_header_value_answer_as_number_does(value):
    """amount() and header_value() answer the common cases inline: the same answers as their definitions through
    number() (a float's sign and type included), and a bad amount named in `problems` as before."""
    problems: list[str] = []
    got = obs.amount(value, "x", problems)
    n = obs.number(value)
    if value is None:
        expected, bad = None, False
    elif n is None or n < 0:
        expected, bad = None, True
    else:
        expected, bad = n, False
    assert repr(got) == repr(expected) and (got is None or type(got) is float)
    assert bool(problems) == bad
    header = obs.header_value(value)
    raw = error_types.ascii_int(value) if isinstance(value, str) else value
    expected_header = None if value is None else obs.number(raw)
    assert repr(header) == repr(expected_header)
    # success() answers the cost, the token counts, the router's retries and the headers inline too: the same
    # answers, the same problems, in the same order
    kwargs = ev.success_kwargs(prompt=value, completion=value, cost=value, retries=value, cached_tokens=value)
    kwargs["standard_logging_object"]["hidden_params"]["additional_headers"] = dict.fromkeys(
        obs.RATELIMIT_HEADERS, value
    )
    o = obs.success(kwargs)
    assert repr((o.cost, o.prompt_tokens, o.completion_tokens, o.cached_tokens, o.retries)) == repr((got,) * 5)
    assert repr(o.ratelimit) == repr((header,) * 4)
    named = ["response_cost", "prompt_tokens", "completion_tokens", "cached_tokens", "attempted_retries"]
    assert [p.split(":")[0] for p in o.problems] == (named if bad else [])


numbers_and_more = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-0.0, 0.0, -1e-300, 1e308]),
    st.integers(min_value=-3, max_value=3),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.builds(_IntSubclass, st.integers(min_value=-(10**20), max_value=10**20)),
)


@settings(max_examples=500, deadline=None)
@given(numbers_and_more, numbers_and_more, numbers_and_more)
def test_epoch_and_a_budgets_numbers_answer_as_number_does(value, raw_max, raw_spend):
    """epoch() and budgets() take a finite float without calling number(): the answers number() gives."""
    assert repr(obs.epoch(value)) == repr(obs.number(value))
    team = {"user_api_key_team_alias": "t", "user_api_key_team_max_budget": raw_max}
    team["user_api_key_team_spend"] = raw_spend
    out = list(obs.budgets(team, {}, 1.0)[0])
    maximum, spend = obs.number(raw_max), obs.number(raw_spend)
    if maximum is None or maximum < 0:
        assert out == []
    else:
        assert repr(out) == repr([("team", "t", maximum, None if spend is None else maximum - spend - 1.0, None)])


def test_bad_amounts_are_named_never_kept():
    kwargs = payloads.template("async_log_success_event")
    slo = kwargs["kwargs"]["standard_logging_object"]
    slo["response_cost"], slo["prompt_tokens"], slo["completion_tokens"] = -1.0, float("nan"), "7"
    o = obs.success(kwargs["kwargs"])
    assert (o.cost, o.prompt_tokens, o.completion_tokens) == (None, None, None)
    assert len(o.problems) == 3 and all(
        p.split(":")[0] in ("response_cost", "prompt_tokens", "completion_tokens") for p in o.problems
    )


@pytest.mark.parametrize(
    "path, field, problem",
    [
        (("prompt_tokens_details", "cached_tokens"), "cached_tokens", "cached_tokens"),
        (("completion_tokens_details", "reasoning_tokens"), "reasoning_tokens", "reasoning_tokens"),
        (("cache_creation_input_tokens",), "cache_creation_tokens", "cache_creation_input_tokens"),
        (("prompt_tokens_details", "audio_tokens"), "audio_input_tokens", "audio_input_tokens"),
        (("completion_tokens_details", "audio_tokens"), "audio_output_tokens", "audio_output_tokens"),
    ],
)
def test_each_token_detail_is_kept_or_named_as_bad(path, field, problem):
    """Read where LiteLLM puts it (SLO.metadata.usage_object): a count is kept, a bad one left out and named in
    `problems` by its own name."""
    for value, kept in ((5, 5.0), (-1, None), (None, None)):
        kwargs = payloads.template("async_log_success_event")["kwargs"]
        meta = kwargs["standard_logging_object"]["metadata"]
        where = meta["usage_object"] = dict(meta.get("usage_object") or {})
        for step in path[:-1]:
            where[step] = dict(where.get(step) or {})
            where = where[step]
        where[path[-1]] = value
        o = obs.success(kwargs)
        assert getattr(o, field) == kept
        assert [p.split(":")[0] for p in o.problems] == ([problem] if value == -1 else [])


anything = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30)),
    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=10), c, max_size=4)),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(anything, anything, anything)
def test_nothing_raises_whatever_the_payload(a, b, c):
    obs.request_start(a)
    obs.attempt_start(a)
    obs.success(a)
    obs.failure(a, b, c)
    obs.failed_attempt(a, b)
    obs.fallback(a, b, True)


@pytest.mark.parametrize(
    "model_id, model, api_base, name",
    [
        ("gpt-eu", "openai/gpt-4o", "https://eu.example/v1", "gpt-eu"),  # an id the config gave: as is
        ("a" * 64, "openai/gpt-4o", "https://eu.example/v1", "gpt-4o@eu.example"),  # LiteLLM's hash: not readable
        (
            None,
            "azure/gpt-4o",
            "https://user:secret@az.example:8443/openai",
            "gpt-4o@az.example:8443",
        ),  # no credentials
        (None, "gpt-4o", None, "gpt-4o"),
        (None, None, "https://x.example", None),
        ("", "", "", None),
    ],
)
def test_deployment_names_are_readable_and_never_carry_credentials(model_id, model, api_base, name):
    assert obs.deployment_name(model_id, model, api_base) == name


def test_budget_readings_need_an_entity_and_a_maximum():
    meta = {
        "user_api_key_team_alias": "search",
        "user_api_key_team_max_budget": 50,
        "user_api_key_team_spend": 10,
        "user_api_key_alias": None,
        "user_api_key_max_budget": 5,  # a key without an alias: never labelled
        "user_api_key_user_id": "u",
        "user_api_key_user_max_budget": -1,
    }  # negative: not a budget
    got = obs.budgets(meta, {}, 2.0)[0]
    assert [b[:4] for b in got] == [("team", "search", 50.0, 38.0)]  # entity_type, entity, max_usd, remaining_usd


@pytest.mark.parametrize(
    "cls",
    [
        obs.Success,
        obs.FailedAttempt,
        obs.GuardrailRun,
        obs.RequestStart,
        obs.AttemptStart,
        obs.Failure,
        obs.FailureEvent,
    ],
)
def test_positional_builds_name_their_fields_in_field_order(cls):
    """The observations built on every event are built positionally (module docstring): each argument's line names
    its field, and the names run in the dataclass's field order, so a field added or moved without its argument
    fails here."""
    import dataclasses
    import inspect
    import re

    source = inspect.getsource(obs)
    start = source.index(f"{cls.__name__}(  # positional")
    assert source.count(f"{cls.__name__}(  # positional") == 1
    call = source[start : re.compile(r"\n +\)\n").search(source, start).start()]
    named = re.findall(r"  # (\w+)$", call, re.M)
    assert named == [f.name for f in dataclasses.fields(cls)]


def test_a_budget_readings_build_names_its_fields_in_their_order():
    """A BudgetReading is a plain tuple (module docstring): its build names each value's field, in
    BUDGET_READING_FIELDS' order, which is the order recording.py unpacks it in."""
    import inspect
    import re

    source = inspect.getsource(obs)
    start = source.index("(  # a BudgetReading, in BUDGET_READING_FIELDS' order")
    build = source[start : re.compile(r"\n +\)\n").search(source, start).start()]
    assert re.findall(r"  # (\w+)$", build, re.M) == list(obs.BUDGET_READING_FIELDS)
    reading = obs.budgets(
        {"user_api_key_team_alias": "t", "user_api_key_team_max_budget": 10, "user_api_key_team_spend": 4},
        {"user_api_key_team_budget_reset_at": "2030-01-01T00:00:00+00:00"},
        1.0,
    )[0][0]
    assert dict(zip(obs.BUDGET_READING_FIELDS, reading)) == {
        "entity_type": "team",
        "entity": "t",
        "max_usd": 10.0,
        "remaining_usd": 5.0,
        "reset_at": 1893456000.0,
    }
    sighting = obs.budgets({"user_api_key_hash": "h", "user_api_key_spend": 2.5}, {}, None)[1][0]
    assert dict(zip(obs.BUDGET_SIGHTING_FIELDS, sighting)) == {
        "entity_type": "key",
        "ident": "h",
        "spend": 2.5,
        "reset_at": None,
    }


budget_values = st.one_of(
    st.none(),
    st.just(""),
    st.text(max_size=4),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 10**20),
    st.booleans(),
    st.sampled_from(["2030-01-01T00:00:00+00:00", "2029-06-01", "not a date"]),
)
budget_metadata_fields = [
    *obs._SLO_BUDGET_FIELDS,
    "user_api_key_team_budget_reset_at",
    "user_api_key_user_budget_reset_at",
    "user_api_end_user_max_budget",
    "user_api_key_end_user_spend",
]
budget_metadata = st.dictionaries(st.sampled_from(budget_metadata_fields), budget_values)


@settings(max_examples=300, deadline=None)
@given(budget_metadata, budget_metadata, st.one_of(st.none(), st.floats(0, 10)))
def test_budgets_read_in_one_step_or_field_by_field_agree(slo_meta, params_meta, cost):
    """SLO.metadata's budget fields are read in one C call when it is a dict with every field, field by field
    otherwise (any other mapping, a missing field): both give the same readings and sightings."""
    from types import MappingProxyType

    complete = {field: None for field in obs._SLO_BUDGET_FIELDS} | slo_meta  # the one-step read
    for one_step, by_field in ((complete, MappingProxyType(complete)), (slo_meta, MappingProxyType(slo_meta))):
        assert repr(obs.budgets(one_step, params_meta, cost)) == repr(obs.budgets(by_field, params_meta, cost))


def test_a_cache_hit_is_the_logging_objects_word_else_the_kwargs():
    """cache_hit: the standard logging object's when it has the field (even None), else the kwargs' own."""
    for in_slo, in_kwargs, hit in (("absent", True, True), (None, True, False), (True, None, True)):
        kwargs = payloads.template("async_log_success_event")["kwargs"]
        slo = kwargs["standard_logging_object"]
        slo.pop("cache_hit")
        if in_slo != "absent":
            slo["cache_hit"] = in_slo
        kwargs["cache_hit"] = in_kwargs
        assert obs.success(kwargs).cache_hit is hit


_BUDGET_ENTITIES = (  # entity type, its names (the first that is text wins), maximum, spend, reset time
    ("team", ("user_api_key_team_alias", "user_api_key_team_id"), "user_api_key_team_max_budget",
     "user_api_key_team_spend", "user_api_key_team_budget_reset_at"),
    ("key", ("user_api_key_alias",), "user_api_key_max_budget", "user_api_key_spend", "user_api_key_budget_reset_at"),
    ("user", ("user_api_key_user_id",), "user_api_key_user_max_budget", "user_api_key_user_spend",
     "user_api_key_user_budget_reset_at"),
    ("end_user", ("user_api_key_end_user_id",), "user_api_end_user_max_budget", None, None),
)  # fmt: skip


def _readings_as_documented(slo_meta: dict, params_meta: dict, cost: float | None) -> tuple:
    """budgets()' docstring on the readings, as a table: each field from SLO.metadata, else from the request's
    metadata; an entity named by non-empty text with a maximum that is a number, not negative."""

    def field(name):
        value = slo_meta.get(name)
        return params_meta.get(name) if value is None else value

    out = []
    for entity_type, names, max_field, spend_field, reset_field in _BUDGET_ENTITIES:
        entity = next((v for v in map(field, names) if isinstance(v, str) and v), None)
        maximum = obs.number(field(max_field))
        if entity is None or maximum is None or maximum < 0:
            continue
        spend = obs.number(field(spend_field)) if spend_field else None
        reset = field(reset_field) if reset_field else None
        remaining = None if spend is None else maximum - spend - (cost or 0.0)
        out.append((entity_type, entity, maximum, remaining, None if reset is None else obs.moment(reset)))
    return tuple(out)


def _kind_of(field: str) -> st.SearchStrategy:
    """Values that read as something, or nearly, for a budget field of this kind."""
    if field.endswith(("_alias", "_id", "_hash")):
        return st.sampled_from([None, "", "a", 1])
    if field.endswith("_reset_at"):
        return st.sampled_from([None, "", "2030-01-01T00:00:00+00:00", "not a date", 1.5e9, 10**19, "x" * 70])
    return st.sampled_from([None, 1.0, 2, True, -1.0, float("nan")])  # maximums and spends


dense_metadata = st.fixed_dictionaries({f: _kind_of(f) for f in budget_metadata_fields})  # None: as if missing


def _sightings_as_documented(slo_meta: dict) -> tuple:
    """budgets()' docstring on the sightings: the entities SLO.metadata names by id (text, cut to MAX_BUDGET_ID),
    with their spend (number()) and, for keys, reset time (reset_stamp())."""
    out = []
    for entity_type, ident, spend, reset in (
        ("key", "user_api_key_hash", "user_api_key_spend", "user_api_key_budget_reset_at"),
        ("user", "user_api_key_user_id", "user_api_key_user_spend", None),
        ("team", "user_api_key_team_id", "user_api_key_team_spend", None),
        ("end_user", "user_api_key_end_user_id", "user_api_key_end_user_spend", None),
    ):
        name = slo_meta.get(ident)
        if isinstance(name, str) and name:
            stamp = obs.reset_stamp(slo_meta.get(reset)) if reset else None
            out.append((entity_type, name[: obs.MAX_BUDGET_ID], obs.number(slo_meta.get(spend)), stamp))
    return tuple(out)


@settings(max_examples=1500, deadline=None)
@given(
    st.one_of(st.tuples(budget_metadata, budget_metadata), st.tuples(dense_metadata, dense_metadata)),
    st.one_of(st.none(), st.floats(0, 10)),
)
def test_budget_readings_and_sightings_are_the_documented_tables(metadata, cost):
    """Dense metadata: every field, of its kind, so that names, maximums and fallbacks read as something often. The
    same through success(), which reads SLO.metadata's budget fields once for both."""
    slo_meta, params_meta = metadata
    readings, sightings = _readings_as_documented(slo_meta, params_meta, cost), _sightings_as_documented(slo_meta)
    assert repr(obs.budgets(slo_meta, params_meta, cost)) == repr((readings, sightings))
    kwargs = payloads.template("async_log_success_event")["kwargs"]
    slo = kwargs["standard_logging_object"]
    slo["metadata"] = {
        **{k: v for k, v in slo["metadata"].items() if k not in budget_metadata_fields},
        **slo_meta,
    }
    slo["response_cost"], slo["cache_hit"] = cost, False
    kwargs["litellm_params"]["metadata"] = params_meta
    o = obs.success(kwargs)
    assert repr((o.budgets, o.budget_sightings)) == repr((readings, sightings))


@pytest.mark.parametrize(
    "value",
    [1.7e9, float("nan"), float("inf"), -float("inf"), 1_700_000_000, True, "1.7e9", None,
     datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC)],
)  # fmt: skip
def test_a_successs_start_and_end_are_read_as_epoch_reads_them(value):
    """success() reads a float start or end time inline, as epoch()'s first answer: the same as epoch()."""
    kwargs = payloads.template("async_log_success_event")["kwargs"]
    kwargs.pop("start_time", None)  # else a missing start is read from there
    kwargs["standard_logging_object"]["startTime"] = kwargs["standard_logging_object"]["endTime"] = value
    o = obs.success(kwargs)
    assert repr((o.started, o.ended)) == repr((obs.epoch(value), obs.epoch(value)))


def test_what_an_observation_holds_is_left_untracked_by_the_cyclic_collector():
    """Module docstring: in batches an observation waits up to a second, and what it holds (problems, guardrail
    runs, budget readings and sightings) is tuples of text and numbers, which Python's cyclic collector stops
    tracking when it looks at them (once their items are); a list it would scan, and move to older generations, for
    as long as it lived."""
    import gc

    from tests.support.payloads import synthetic

    successes = [obs.success(e.kwargs) for e in synthetic.success_events(24)]
    failing = synthetic.failure_events(6)
    failures = [obs.failure(e.request_data, e.exception, e.user) for e in failing]
    failure_events = [obs.failure_event(e.kwargs) for e in failing]
    assert all(o.budgets and o.budget_sightings for o in successes if not o.cache_hit)
    gc.collect()
    gc.collect()  # a tuple is left untracked once its items are: the readings first, then the tuple of them
    for o in successes:
        held = [o.problems, o.guardrails, o.budgets, o.budget_sightings, *o.budgets, *o.budget_sightings]
        assert not any(gc.is_tracked(part) for part in held), o
    assert not any(gc.is_tracked(o.problems) for o in failures)
    assert not any(gc.is_tracked(o.guardrails) for o in failure_events)


# ---- the failure readers' fast paths, held to the general functions they stand for ---------------------------
def _general_failure(request_data, exc, user, dimensions=()):
    """obs.failure as written through the general functions (mapping, callers.request_metadata, status_code,
    error_type, amount, team_of), before its fast paths: what it must answer."""
    from litellm_observe.worker import callers as callers_mod

    fields = obs.mapping(request_data)
    code = error_types.status_code(exc)
    meta = callers_mod.request_metadata(fields)
    problems: list[str] = []
    retries = obs.amount(meta.get("attempted_retries"), "attempted_retries", problems)
    return obs.Failure(
        fields.get("litellm_call_id"),
        fields.get("model"),
        getattr(exc, "llm_provider", None) or None,
        obs.team_of(user),
        meta.get("user_api_key_request_route"),
        fields.get("call_type"),
        callers_mod.callers(meta, dimensions) if dimensions else callers_mod.NONE,
        code,
        error_types.error_type(exc, code),
        retries,
        meta.get("model_group") or fields.get("model"),
        problems or (),
    )


def _general_failed_attempt(request_data, exc):
    """obs.failed_attempt as written through the general functions, before its fast paths."""
    fields = obs.mapping(request_data)
    meta = obs.mapping(fields.get("metadata")) or obs.mapping(fields.get("litellm_metadata"))
    provider = getattr(exc, "llm_provider", None)
    if not provider:
        deployment = fields.get("model")
        provider = deployment.split("/", 1)[0] if isinstance(deployment, str) and "/" in deployment else None
    code = error_types.status_code(exc)
    details = obs.mapping(getattr(fields.get("litellm_logging_obj"), "model_call_details", None))
    return obs.FailedAttempt(
        fields.get("litellm_call_id"),
        provider,
        meta.get("model_group"),
        obs.deployment_name(
            obs.mapping(fields.get("model_info")).get("id"), fields.get("model"), fields.get("api_base")
        ),
        code,
        error_types.error_type(exc, code),
        obs.epoch(details.get("api_call_start_time")),
    )


def _general_failure_event(kwargs):
    fields = obs.mapping(kwargs)
    slo = obs.mapping(fields.get("standard_logging_object"))
    return obs.FailureEvent(
        call_id=fields.get("litellm_call_id"),
        error=fields.get("exception"),
        guardrails=obs.guardrail_runs(slo) if slo.get("guardrail_information") else (),
    )


def _as_mapping_or_not(values):
    """A dict as LiteLLM hands it, or the same as a non-dict mapping, empty, None or not a mapping at all."""
    import types

    return st.one_of(
        values,
        values,  # mostly what LiteLLM hands us
        values.map(types.MappingProxyType),
        st.just({}),
        st.none(),
        st.sampled_from(["text", 3, ["a"]]),
    )


_codes = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=300, max_value=700),
    st.sampled_from([399, 400, 408, 429, 500, 599, 600]),  # the bounds of 400..599
    st.integers(),
    st.builds(_IntSubclass, st.integers(min_value=300, max_value=700)),
    st.integers(min_value=390, max_value=610).map(str),
    st.text(max_size=4),
    st.floats(),
)
_class_names = st.sampled_from([*error_types.BY_CLASS, "Exception", "ProxyException", "MyError", "HTTPError"])


@st.composite
def _exceptions(draw):
    """An exception of a class named as one of LiteLLM's or not, maybe a subclass of a named one, carrying any
    `status_code`, `code`, `type` and `llm_provider` (or none)."""
    base = Exception
    if draw(st.booleans()):
        base = type(draw(_class_names), (Exception,), {})
    cls = type(draw(_class_names), (base,), {})
    exc = cls("boom")
    for attr, values in (
        ("status_code", _codes),
        ("code", _codes),
        ("type", st.sampled_from(["budget_exceeded", "auth_error", "other", None])),
        ("llm_provider", st.sampled_from(["openai", "", None])),
    ):
        if draw(st.booleans()):
            setattr(exc, attr, draw(values))
    return exc


_text_or_none = st.one_of(st.none(), st.sampled_from(["gpt-4o", "openai/gpt-4o", "", "a" * 64]), st.integers(0, 2))
_metadata = st.fixed_dictionaries(
    {},
    optional={
        "attempted_retries": st.one_of(
            st.none(),
            st.booleans(),
            st.integers(min_value=-3, max_value=5),
            st.integers(min_value=-(10**400), max_value=10**400),
            st.floats(),
            st.builds(_IntSubclass, st.integers(min_value=-3, max_value=5)),
            st.text(max_size=3),
        ),
        "model_group": _text_or_none,
        "user_api_key_request_route": st.sampled_from(["/chat/completions", "/v1/messages", "/x", None, 7]),
    },
)
_logging_obj = st.one_of(
    st.none(),
    st.builds(
        lambda details: type("Logging", (), {"model_call_details": details})(),
        _as_mapping_or_not(
            st.fixed_dictionaries(
                {},
                optional={
                    "api_call_start_time": st.one_of(
                        st.none(),
                        st.floats(),
                        st.integers(min_value=-(10**400), max_value=10**400),
                        st.datetimes(),
                        st.text(max_size=3),
                    )
                },
            )
        ),
    ),
)
_request_data = _as_mapping_or_not(
    st.fixed_dictionaries(
        {},
        optional={
            "litellm_call_id": st.sampled_from(["c1", None, 5]),
            "model": _text_or_none,
            "call_type": st.sampled_from(["acompletion", "aembedding", None]),
            "api_base": st.sampled_from(["https://eu.example/v1", None]),
            "metadata": _as_mapping_or_not(_metadata),
            "litellm_metadata": _as_mapping_or_not(_metadata),
            "model_info": _as_mapping_or_not(st.fixed_dictionaries({}, optional={"id": _text_or_none})),
            "litellm_logging_obj": _logging_obj,
            "standard_logging_object": _as_mapping_or_not(
                st.fixed_dictionaries({}, optional={"guardrail_information": st.sampled_from([None, []])})
            ),
        },
    )
)
_users = st.one_of(
    st.none(),
    st.builds(
        lambda alias, team: type("Auth", (), {"team_alias": alias, "team_id": team})(),
        st.sampled_from(["a", "", None]),
        st.sampled_from(["t", None]),
    ),
)


@settings(max_examples=1000, deadline=None)
@given(_request_data, _exceptions(), _users, st.sampled_from([(), ("user",)]))
@example({"metadata": {}, "litellm_metadata": {"model_group": "g", "attempted_retries": 2}}, ValueError(), None, ())
@example({"litellm_logging_obj": type("Logging", (), {"model_call_details": "text"})()}, ValueError(), None, ())
def test_the_failure_readers_answer_as_the_general_functions_do(request_data, exc, user, dimensions):
    """failure(), failed_attempt() and failure_event() answer the common cases inline (a dict, an int status code,
    a class named in BY_CLASS, an int count of retries): the observations the general functions give, field by
    field (repr: a NaN is equal to itself there), whatever the payload and the exception carry."""
    got, general = (
        obs.failure(request_data, exc, user, dimensions),
        _general_failure(request_data, exc, user, dimensions),
    )
    assert repr(got) == repr(general)
    assert got.endpoint == general.endpoint
    assert repr(obs.failed_attempt(request_data, exc)) == repr(_general_failed_attempt(request_data, exc))
    kwargs = request_data if not isinstance(request_data, dict) else {**request_data, "exception": exc}
    assert repr(obs.failure_event(kwargs)) == repr(_general_failure_event(kwargs))
    # and request_start's metadata, as callers.request_metadata reads it
    from litellm_observe.worker import callers as callers_mod

    start = obs.request_start(request_data, "acompletion", dimensions)
    meta = callers_mod.request_metadata(obs.mapping(request_data))
    assert start.endpoint == obs.endpoints.endpoint(meta.get("user_api_key_request_route"), "acompletion")
    assert start.callers == (callers_mod.callers(meta, dimensions) if dimensions else callers_mod.NONE)
