"""Issue 5 section 2: malformed events.

Every hook of ObserveLogger is fed kwargs with missing fields, wrong types, None
everywhere, huge strings, unicode, quotes, backslashes and newlines in names,
negative and NaN costs and token counts, and exceptions of every LiteLLM class with
and without status codes. No hook raises; every label value stays valid; the
exposition passes `promtool check metrics`; counters never decrease and never take a
negative or NaN amount, which is counted as an internal error instead.
"""

from __future__ import annotations

import asyncio
import datetime
import math
import re
import tempfile
import time
from types import MappingProxyType, SimpleNamespace

import pytest
from fastapi import HTTPException  # noqa: E402
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litellm.proxy._types import ProxyException  # noqa: E402

from litellm_observe.catalogue import BY_NAME, ERROR_TYPES, Kind  # noqa: E402
from litellm_observe.generators.promtool import check_metrics  # noqa: E402
from litellm_observe.worker import error_types  # noqa: E402
from litellm_observe.worker.labels import MAX_LENGTH  # noqa: E402
from tests.support import events as ev  # sets LITELLM_LOCAL_MODEL_COST_MAP before litellm is imported
from tests.support import exceptions as exception_table
from tests.support import rundirs

NOW = time.time()
MISSING = object()

# ---- strategies ----------------------------------------------------------------------------------
SPECIAL_STRINGS = [
    "",
    " ",
    "None",
    "none",
    "null",
    "NaN",
    "undefined",
    '"',
    "\\",
    "\n",
    'a"b\\c\nd',
    "\r\n",
    "x" * 121,
    "y" * 5000,
    "模型🙂",
    "\ud800",
    "\x00",
    "\u2028",
    "le",
    "{",
    "}",
    "=",
    ",",
    'model="x"',
    "ok\n",
    " ok",
]
nasty_text = st.one_of(st.text(max_size=20), st.sampled_from(SPECIAL_STRINGS), st.text(min_size=100, max_size=300))
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([10**400, -0.0, 1e308]),
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    numbers,
    nasty_text,
    st.binary(max_size=8),
    st.builds(object),
    st.just(datetime.datetime(2026, 1, 1)),
)
garbage = st.recursive(
    leaves, lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(nasty_text, c, max_size=3)), max_leaves=6
)


def field(realistic):
    """A field that is usually realistic, sometimes garbage, sometimes absent."""
    return st.one_of(realistic, realistic, garbage, st.just(MISSING))


def obj(mapping_proxy=False, **fields):
    d = st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not MISSING})
    if mapping_proxy:
        d = st.one_of(d, d.map(MappingProxyType))
    return st.one_of(d, d, d, garbage)


names = st.one_of(st.sampled_from(["ok", "bad500", "ok", "not-a-model", "openai/fake-ok"]), nasty_text)
good_amounts = st.one_of(st.integers(0, 10**6), st.floats(0, 1e6))
bad_amounts = st.one_of(
    st.integers(max_value=-1),
    st.floats(max_value=-1e-9),
    st.sampled_from([math.nan, math.inf, -math.inf, "12", "-1", [3], {"n": 1}]),
)
amounts = st.one_of(good_amounts, good_amounts, bad_amounts, st.none())
times = st.one_of(st.floats(-5, 5).map(lambda d: NOW + d), st.just(datetime.datetime.now()), garbage)
call_ids = st.one_of(st.sampled_from(["c1", "c2", "c3"]), garbage)
teams = st.one_of(st.none(), st.sampled_from(["team-a", "team-b"]), nasty_text)

header_values = st.one_of(st.integers(0, 10**7), st.integers(0, 10**7).map(str), garbage)
success_kwargs = obj(
    litellm_call_id=field(call_ids),
    standard_logging_object=field(
        obj(
            status=field(st.just("success")),
            custom_llm_provider=field(st.one_of(st.just("openai"), nasty_text)),
            model=field(names),
            model_group=field(names),
            stream=field(st.booleans()),
            cache_hit=field(st.one_of(st.none(), st.booleans())),
            response_cost=field(amounts),
            prompt_tokens=field(amounts),
            completion_tokens=field(amounts),
            startTime=field(times),
            endTime=field(times),
            completionStartTime=field(times),
            metadata=field(
                obj(
                    user_api_key_hash=field(st.sampled_from(["h1", "h2"])),
                    user_api_key_team_id=field(teams),
                    user_api_key_team_alias=field(teams),
                    user_api_key_user_id=field(nasty_text),
                    user_api_key_spend=field(amounts),
                    user_api_key_budget_reset_at=field(st.one_of(st.none(), nasty_text)),
                    usage_object=field(obj(prompt_tokens_details=field(obj(cached_tokens=field(amounts))))),
                )
            ),
            hidden_params=field(
                obj(
                    additional_headers=field(
                        obj(
                            x_ratelimit_limit_requests=field(header_values),
                            x_ratelimit_remaining_requests=field(header_values),
                            x_ratelimit_limit_tokens=field(header_values),
                            x_ratelimit_remaining_tokens=field(header_values),
                        )
                    )
                )
            ),
        )
    ),
    litellm_params=field(
        obj(
            metadata=field(
                obj(model_group=field(names), original_model_group=field(names), attempted_retries=field(amounts))
            )
        )
    ),
    stream=field(st.booleans()),
    cache_hit=field(st.booleans()),
    start_time=field(times),
)


def _with_status(exc, how, code):
    try:
        if how == "set":
            exc.status_code = code
        elif how == "del" and "status_code" in vars(exc):
            del exc.status_code
    except Exception:
        pass
    return exc


class WeirdError(Exception):
    def __getattr__(self, name):  # every attribute lookup blows up
        raise RuntimeError(f"no {name}")


litellm_exceptions = st.builds(
    _with_status,
    st.sampled_from([exception_table.EXCEPTIONS[n][0] for n in exception_table.installed_exceptions()]).map(
        lambda b: b()
    ),
    st.sampled_from(["keep", "keep", "set", "del"]),
    garbage,
)
exceptions = st.one_of(
    litellm_exceptions,
    litellm_exceptions,
    st.builds(
        lambda m, t, c: ProxyException(m, t, None, c),
        nasty_text,
        st.one_of(st.sampled_from(["budget_exceeded", "auth_error", "internal_server_error"]), nasty_text),
        st.one_of(st.integers(0, 999).map(str), st.integers(), nasty_text, st.none()),
    ),
    st.builds(lambda c: HTTPException(status_code=c, detail="x"), st.integers(100, 999)),
    st.builds(Exception, nasty_text),
    st.builds(WeirdError),
    garbage,
)
users = st.one_of(st.none(), st.builds(SimpleNamespace, team_id=teams, team_alias=teams), garbage)

failure_data = obj(
    model=field(names),
    litellm_call_id=field(call_ids),
    metadata=field(obj(model_group=field(names), attempted_retries=field(amounts))),
)
deployment_data = obj(
    mapping_proxy=True,
    model=field(st.one_of(names, names.map(lambda n: f"openai/{n}"))),
    metadata=field(obj(mapping_proxy=True, model_group=field(names))),
    litellm_logging_obj=field(st.builds(SimpleNamespace, model_call_details=obj(api_call_start_time=field(times)))),
)
fallback_kwargs = obj(model=field(names), metadata=field(obj(model_group=field(names))))

calls = st.one_of(
    st.tuples(
        st.just("async_pre_call_hook"),
        st.tuples(
            users,
            st.none(),
            obj(litellm_call_id=field(call_ids), model=field(names)),
            st.sampled_from(["completion", "acompletion"]),
        ),
    ),
    st.tuples(st.just("async_log_success_event"), st.tuples(success_kwargs, garbage, times, times)),
    st.tuples(st.just("async_post_call_failure_hook"), st.tuples(failure_data, exceptions, users)),
    st.tuples(
        st.just("async_post_call_failure_deployment_hook"),
        st.tuples(deployment_data, exceptions, st.sampled_from(["acompletion", None]), garbage),
    ),
    st.tuples(st.just("log_success_fallback_event"), st.tuples(names, fallback_kwargs, exceptions)),
    st.tuples(st.just("log_failure_fallback_event"), st.tuples(names, fallback_kwargs, exceptions)),
    st.tuples(
        st.just("stream"), st.tuples(users, st.integers(0, 4), st.booleans(), obj(litellm_call_id=field(call_ids)))
    ),
)


# ---- checks ------------------------------------------------------------------------------------
def monotone_parts(data: dict) -> dict:
    """Counter values and histogram slots (bucket counts, sum) of every series."""
    return {k: v for k, v in data.items() if BY_NAME[k[0]].kind is not Kind.GAUGE}


def assert_counters_sane(before: dict, after: dict, what: str) -> None:
    for key, values in after.items():
        for i, v in enumerate(values):
            assert math.isfinite(v) and v >= 0, f"{what}: {key}[{i}] = {v!r}"
        old = before.get(key)
        if old is not None:
            assert all(b >= a for a, b in zip(old, values)), f"{what}: {key} went down {old} -> {values}"
    missing = set(before) - set(after)
    assert not missing, f"{what}: series disappeared: {missing}"


def assert_labels_valid(text: str) -> None:
    for sample, label, value in rundirs.label_values(text):
        assert value, f"{sample}{{{label}}} is empty"
        assert value.lower() not in ("none", "null"), f"{sample}{{{label}}} = {value!r}"
        assert len(value) <= MAX_LENGTH, f"{sample}{{{label}}} is {len(value)} characters"
        if label == "status_code":
            assert re.fullmatch(r"[1-5][0-9][0-9]", value), f"{sample}{{status_code}} = {value!r}"
        if label == "error_type":
            assert value in ERROR_TYPES


async def _stream(lg, user, n, stop_early, request_data):
    async def upstream():
        for i in range(n):
            yield i

    it = lg.async_post_call_streaming_iterator_hook(user, upstream(), request_data)
    got = []
    async for item in it:
        got.append(item)
        if stop_early:
            break
    await it.aclose()
    assert got == list(range(n))[: 1 if stop_early else n]


async def _call(lg, hook, args):
    if hook == "stream":
        user, n, stop_early, request_data = args
        await _stream(lg, user, n, stop_early, request_data)
        return
    result = await getattr(lg, hook)(*args)
    if hook in ("async_pre_call_hook", "async_post_call_failure_hook", "async_post_call_failure_deployment_hook"):
        assert result is None  # never replaces the request or the error LiteLLM goes on with


PROMTOOL_RUNS = []


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(calls, min_size=1, max_size=8))
def test_no_hook_raises_and_the_exposition_stays_valid(sequence):
    with tempfile.TemporaryDirectory() as d:
        lg = ev.make_logger(d)
        assert lg.disabled_reason is None

        async def run():
            before = {}
            for hook, args in sequence:
                await _call(lg, hook, args)  # any exception here fails the test
                after = monotone_parts(rundirs.series(d))
                assert_counters_sane(before, after, hook)
                before = after

        asyncio.run(run())

        data = rundirs.series(d)
        load = rundirs.total(data, "current_load")
        assert load == lg.inflight() >= 0
        text = rundirs.exposition(d)
        assert_labels_valid(text)
        ok, out = check_metrics(text)  # promtool check metrics
        PROMTOOL_RUNS.append(ok)
        assert ok, out + "\n" + text


# ---- a negative or NaN amount is never added; it is counted as an internal error ----------------
AMOUNT_FIELDS = {
    "prompt_tokens": ("tokens_used", {"token_type": "input"}),
    "completion_tokens": ("tokens_used", {"token_type": "output"}),
    "response_cost": ("spend_usd", {}),
    "attempted_retries": ("retries", {}),
    "cached_tokens": ("token_details", {"detail": "cached_input"}),
}


def _success_with(field_name, amount, stream):
    kw = ev.success_kwargs(stream=stream, retries=2, cached_tokens=3)
    slo = kw["standard_logging_object"]
    if field_name == "attempted_retries":
        kw["litellm_params"]["metadata"]["attempted_retries"] = amount
    elif field_name == "cached_tokens":
        slo["metadata"]["usage_object"]["prompt_tokens_details"]["cached_tokens"] = amount
    else:
        slo[field_name] = amount
    return kw


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(AMOUNT_FIELDS)), bad_amounts, st.booleans())
def test_bad_amount_is_counted_as_internal_error_never_added(field_name, amount, stream):
    metric, match = AMOUNT_FIELDS[field_name]
    with tempfile.TemporaryDirectory() as d:
        lg = ev.make_logger(d)
        asyncio.run(lg.async_log_success_event(_success_with(field_name, amount, stream), None, None, None))
        data = rundirs.series(d)
        assert rundirs.value(data, "observe_internal_errors", "async_log_success_event") == 1
        assert rundirs.total(data, "requests") == 1  # the request itself is still counted
        for name in ("tokens_used", "spend_usd", "retries"):
            for labels, values in rundirs.metric_series(data, name).items():
                assert math.isfinite(values[0]) and values[0] > 0, (name, labels, values)
        assert rundirs.total(data, metric, **match) == 0, f"{field_name}={amount!r} reached {metric}"
        # the other, valid amounts of the same event still count
        others = [f for f in AMOUNT_FIELDS if AMOUNT_FIELDS[f] != (metric, match)]
        for other in others:
            m, mt = AMOUNT_FIELDS[other]
            assert rundirs.total(data, m, **mt) > 0, f"{other} lost because {field_name} was bad"


@pytest.mark.parametrize("amount", [-1, -0.5, math.nan, math.inf, "2"])
def test_bad_retries_on_failure_is_internal_error(tmp_path, amount):
    lg = ev.make_logger(tmp_path)
    exc = exception_table.EXCEPTIONS["InternalServerError"][0]()
    asyncio.run(lg.async_post_call_failure_hook(ev.failure_request(retries=amount), exc, ev.user()))
    data = rundirs.series(tmp_path)
    assert rundirs.value(data, "observe_internal_errors", "async_post_call_failure_hook") == 1
    assert rundirs.total(data, "retries") == 0
    assert rundirs.total(data, "errors") == 1


def test_good_amounts_do_not_count_internal_errors(tmp_path):
    """The control for the test above: it can tell a bad amount from a good one."""
    lg = ev.make_logger(tmp_path)
    asyncio.run(lg.async_log_success_event(ev.success_kwargs(retries=2, cached_tokens=3), None, None, None))
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "observe_internal_errors") == 0
    for field_name, (metric, match) in AMOUNT_FIELDS.items():
        assert rundirs.total(data, metric, **match) > 0, field_name


# ---- every LiteLLM exception class ---------------------------------------------------------------
def test_exception_table_covers_every_litellm_class():
    """Fails when the installed LiteLLM (the suite's pinned release, or a release of the matrix) has a class
    the table lacks: the signal to map it (worker/error_types.py) and add it to tests/support/events.py."""
    missing = set(exception_table.litellm_exception_classes()) - set(exception_table.EXCEPTIONS)
    assert not missing, f"new LiteLLM exception classes, add them to tests/support/events.py: {sorted(missing)}"
    assert len(exception_table.installed_exceptions()) >= 31  # the 31 classes of 1.105.0, the oldest supported


@pytest.mark.parametrize("name", exception_table.installed_exceptions())
def test_every_litellm_exception_maps(name):
    build, expected = exception_table.EXCEPTIONS[name]
    exc = build()
    assert type(exc).__name__ == name
    code = error_types.status_code(exc)
    assert 400 <= code <= 599
    assert error_types.error_type(exc) == expected
    assert error_types.error_type(exc, code) == expected


@pytest.mark.parametrize("name", exception_table.installed_exceptions())
def test_every_litellm_exception_without_status_code(name):
    exc = exception_table.EXCEPTIONS[name][0]()
    for attr in ("status_code", "code"):
        try:
            setattr(exc, attr, None)
        except Exception:
            pass
    code = error_types.status_code(exc)
    assert 400 <= code <= 599
    assert error_types.error_type(exc) in ERROR_TYPES


@pytest.mark.parametrize("name", exception_table.installed_exceptions())
def test_every_litellm_exception_through_the_failure_hook(tmp_path, name):
    lg = ev.make_logger(tmp_path)
    build, expected = exception_table.EXCEPTIONS[name]
    asyncio.run(lg.async_post_call_failure_hook(ev.failure_request(), build(), ev.user("t1")))
    data = rundirs.series(tmp_path)
    errors = rundirs.metric_series(data, "errors")
    assert len(errors) == 1
    (labels,) = errors
    named = rundirs.named("errors", labels)
    assert named["error_type"] == expected
    assert re.fullmatch(r"[45][0-9][0-9]", named["status_code"])
    assert rundirs.total(data, "observe_internal_errors") == 0


# ---- bounded work per hook ------------------------------------------------------------------------------------
def _peak_allocation(fn) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_10_mb_label_value_is_cut_before_any_other_work(tmp_path):
    """Cleaning the whole string first cost 2.1 s for 10 MB on the event loop. Asserted without a clock:
    work on the whole value would allocate a copy of it (encode, join); cutting first allocates ~nothing."""
    from litellm_observe.worker.labels import clean

    huge = "\x00é" + "m" * 10_000_000  # not the fast path: control and non-ASCII characters
    assert clean(huge) == ("é" + "m" * (MAX_LENGTH - 2)).strip()
    assert _peak_allocation(lambda: clean(huge)) < 100_000


def test_hostile_sizes_through_the_real_hooks_are_recorded_cut_and_never_raise(tmp_path):
    lg = ev.make_logger(tmp_path, models=["ok"])
    team = "t" * 10_000_000
    kwargs = ev.success_kwargs(call_id="big", team=team)
    headers = kwargs["standard_logging_object"]["hidden_params"]["additional_headers"]
    headers["x_ratelimit_remaining_requests"] = "9" * 5000  # past Python's 4,300-digit int limit
    headers["x_ratelimit_limit_requests"] = " " * 1_000_000 + "1000"
    peak = _peak_allocation(lambda: asyncio.run(lg.async_log_success_event(kwargs, None, None, None)))
    assert peak < 1_000_000  # nothing proportional to the 10 MB value
    exc = exception_table.EXCEPTIONS["InternalServerError"][0]()
    exc.status_code = "5" * 5000
    asyncio.run(lg.async_post_call_failure_hook(ev.failure_request("ok", "c9"), exc, ev.user(team_id=team)))
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "observe_internal_errors") == 0  # the event was recorded whole, nothing aborted
    assert (
        rundirs.total(data, "requests", status_code="200") == 1
        and rundirs.total(data, "requests", status_code="500") == 1
    )
    assert {labels[2] for labels in rundirs.metric_series(data, "requests")} == {"t" * MAX_LENGTH}
    assert ("requests_remaining", ("openai", "ok")) not in data  # no such header value: not set
