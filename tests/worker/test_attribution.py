"""Caller attribution and the endpoint, through a real logger (issue 23): per single-valued dimension the
callers sum to the fleet's requests (by status), spend and billed tokens; tags count under each tag; no
private value is ever a label; every dimension is capped, its overflow counted."""

from __future__ import annotations

import asyncio
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from litellm_observe.worker.labels import OVERFLOW, REDACTED, UNKNOWN
from tests.support import events as ev
from tests.support import exceptions, rundirs

run = asyncio.run
DIMENSIONS = ["key_alias", "user", "end_user", "tags", "metadata.project"]
SINGLE = [d for d in DIMENSIONS if d != "tags"]


def _meta(who: dict) -> dict:
    """The request metadata LiteLLM's proxy fills in, for one caller."""
    return {
        "user_api_key_alias": who.get("key_alias"),
        "user_api_key_hash": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
        "user_api_key_user_id": who.get("user"),
        "user_api_key_end_user_id": who.get("end_user"),
        "user_api_key_request_route": who.get("route", "/v1/chat/completions"),
        "tags": who.get("tags", []),
        "requester_metadata": {"project": who.get("project")},
    }


def pre(lg, call_id, who):
    data = {"litellm_call_id": call_id, "model": "ok", "metadata": _meta(who)}
    run(lg.async_pre_call_hook(ev.user(), None, data, who.get("call_type", "acompletion")))


def success(lg, call_id, who, cost=0.0001, prompt=11, completion=7):
    kwargs = ev.success_kwargs(call_id=call_id, cost=cost, prompt=prompt, completion=completion)
    kwargs["litellm_params"]["metadata"].update(_meta(who))
    kwargs["standard_logging_object"]["metadata"]["user_api_key_request_route"] = who.get(
        "route", "/v1/chat/completions"
    )
    run(lg.async_log_success_event(kwargs, None, None, None))


def fail(lg, call_id, who):
    data = ev.failure_request("bad500", call_id)
    data["metadata"].update(_meta(who))
    exc = exceptions.EXCEPTIONS["InternalServerError"][0]()
    run(lg.async_post_call_failure_hook(data, exc, ev.user()))


def by(data, metric, dimension, **match):
    out: Counter = Counter()
    for labels, v in rundirs.metric_series(data, metric).items():
        named = rundirs.named(metric, labels)
        if named["dimension"] == dimension and all(named[k] == m for k, m in match.items()):
            out[named["caller"]] += v[0]
    return out


def test_nothing_is_recorded_per_caller_unless_asked(tmp_path):
    lg = ev.make_logger(tmp_path)
    who = {"key_alias": "a", "user": "u"}
    pre(lg, "c1", who)
    success(lg, "c1", who)
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "requests") == 1
    assert not [k for k in data if k[0].startswith("caller_")]


def test_one_request_under_each_dimension(tmp_path):
    lg = ev.make_logger(tmp_path, section={"attribution": DIMENSIONS})
    who = {"key_alias": "batch", "user": "ada@example.com", "tags": ["nightly", "etl"], "project": "atlas"}
    pre(lg, "c1", who)
    success(lg, "c1", who, cost=0.25)
    data = rundirs.series(tmp_path)
    assert by(data, "caller_requests", "key_alias", status_code="200") == {"batch": 1}
    assert by(data, "caller_requests", "user") == {REDACTED: 1}  # an e-mail address is never a label
    assert by(data, "caller_requests", "end_user") == {UNKNOWN: 1}  # none given: counted, as unknown
    assert by(data, "caller_requests", "tags") == {"nightly": 1, "etl": 1}  # once under each tag
    assert by(data, "caller_requests", "metadata.project") == {"atlas": 1}
    assert by(data, "caller_spend_usd", "tags") == {"nightly": 0.25, "etl": 0.25}
    assert by(data, "caller_tokens", "key_alias", token_type="input") == {"batch": 11}
    assert by(data, "caller_tokens", "key_alias", token_type="output") == {"batch": 7}


def test_a_key_without_an_alias_has_no_series_of_its_own(tmp_path):
    lg = ev.make_logger(tmp_path, section={"attribution": ["key_alias"]})
    for i, alias in enumerate([None, "", "sk-1234567890", "named"]):
        who = {"key_alias": alias}
        pre(lg, f"c{i}", who)
        success(lg, f"c{i}", who)
    data = rundirs.series(tmp_path)
    assert by(data, "caller_requests", "key_alias") == {UNKNOWN: 2, REDACTED: 1, "named": 1}


def test_each_dimension_is_capped_and_its_overflow_counted(tmp_path):
    lg = ev.make_logger(tmp_path, section={"attribution": ["user", "tags"], "label_caps": {"user": 3}})
    for i in range(10):
        who = {"user": f"u{i}", "tags": ["t"]}
        pre(lg, f"c{i}", who)
        success(lg, f"c{i}", who)
    data = rundirs.series(tmp_path)
    users = by(data, "caller_requests", "user")
    assert users == {"u0": 1, "u1": 1, "u2": 1, OVERFLOW: 7}
    assert rundirs.total(data, "observe_label_overflow", label="caller.user") == 7
    assert by(data, "caller_requests", "tags") == {"t": 10}  # another dimension, its own cap


def test_the_endpoint_is_what_the_client_called(tmp_path):
    lg = ev.make_logger(tmp_path)
    cases = {
        "e1": {"route": "/v1/embeddings", "call_type": "aembedding"},
        "e2": {"route": "/v1/messages", "call_type": "anthropic_messages"},
        "e3": {"route": None, "call_type": "aresponses"},
    }
    for call_id, who in cases.items():
        pre(lg, call_id, who)
        success(lg, call_id, who)
    fail(lg, "f1", {"route": "/v1/rerank"})  # no pre-call seen: the failure's route
    data = rundirs.series(tmp_path)
    got = Counter()
    for labels, v in rundirs.metric_series(data, "requests").items():
        got[rundirs.named("requests", labels)["endpoint"]] += v[0]
    assert got == {"embeddings": 1, "messages": 1, "responses": 1, "rerank": 1}
    assert rundirs.total(data, "errors", endpoint="rerank") == 1
    loads = {
        rundirs.named("current_load", k)["endpoint"]: v[0]
        for k, v in rundirs.metric_series(data, "current_load").items()
    }
    assert loads == {"embeddings": 0, "messages": 0, "responses": 0}  # counted in and out under its endpoint


CALLER = st.fixed_dictionaries(
    {
        "key_alias": st.sampled_from([None, "a", "b", "sk-secret"]),
        "user": st.sampled_from([None, "u1", "u2", "ada@example.com", "10.1.2.3"]),
        "end_user": st.sampled_from([None, "c1", "c2"]),
        "tags": st.lists(st.sampled_from(["t1", "t2", "t3", "User-Agent: x/1.0"]), max_size=4),
        "project": st.sampled_from([None, "p1", "p2", 7]),
    }
)
REQUEST = st.tuples(CALLER, st.sampled_from(["success", "failure", "success_unseen"]), st.integers(0, 5))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(REQUEST, min_size=1, max_size=25))
def test_callers_of_one_dimension_sum_to_the_fleet_total(tmp_path_factory, requests):
    d = tmp_path_factory.mktemp("run")
    lg = ev.make_logger(d, section={"attribution": DIMENSIONS})
    expected_tags: Counter = Counter()
    for i, (who, how, tokens) in enumerate(requests):
        if how == "failure":
            pre(lg, f"c{i}", who)
            fail(lg, f"c{i}", who)
        else:
            if how == "success":
                pre(lg, f"c{i}", who)
            success(lg, f"c{i}", who, cost=0.001 * tokens, prompt=tokens, completion=2 * tokens)
        tags = {t for t in who["tags"] if not t.startswith("User-Agent")} or {UNKNOWN}
        expected_tags.update(tags)
    data = rundirs.series(d)
    for status in ("200", "500"):
        fleet = rundirs.total(data, "requests", status_code=status)
        for dimension in SINGLE:
            assert sum(by(data, "caller_requests", dimension, status_code=status).values()) == fleet
    for dimension in SINGLE:
        assert abs(sum(by(data, "caller_spend_usd", dimension).values()) - rundirs.total(data, "spend_usd")) < 1e-9
        for token_type in ("input", "output"):
            assert sum(by(data, "caller_tokens", dimension, token_type=token_type).values()) == rundirs.total(
                data, "tokens_used", token_type=token_type
            )
    assert by(data, "caller_requests", "tags") == expected_tags  # once under each of a request's tags
    for labels in rundirs.metric_series(data, "caller_requests"):
        caller = rundirs.named("caller_requests", labels)["caller"]
        assert "@" not in caller and caller not in ("sk-secret", "10.1.2.3") and not caller.startswith("User-Agent")
