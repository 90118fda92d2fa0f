"""logger, issue 12's signal families: token detail, unpriced calls, budgets, overhead, guardrails,
deployment state and cooldowns, retries per model group; each recorded exactly, once."""

from __future__ import annotations

import asyncio
import datetime
import time

import pytest

from litellm_observe.catalogue import TOKEN_DETAILS_OF
from litellm_observe.exporter import exposition  # noqa: E402
from litellm_observe.worker.labels import UNKNOWN  # noqa: E402
from tests.support import events as ev
from tests.support import exceptions, rundirs
from tests.worker.test_deployments import FakeCooldownCache, FakeRouter

run = asyncio.run


def success(lg, **kw):
    kwargs = ev.success_kwargs(
        **{
            k: v
            for k, v in kw.items()
            if k
            in (
                "call_id",
                "model_group",
                "cost",
                "prompt",
                "completion",
                "team",
                "retries",
                "spend",
                "stream",
                "cache_hit",
            )
        }
    )
    slo = kwargs["standard_logging_object"]
    slo["metadata"].update(kw.get("meta", {}))
    slo["metadata"]["usage_object"].update(kw.get("usage", {}))
    slo["hidden_params"].update(kw.get("hidden", {}))
    if "guardrails" in kw:
        slo["guardrail_information"] = kw["guardrails"]
    run(lg.async_log_success_event(kwargs, None, None, None))


@pytest.fixture
def lg(tmp_path):
    return ev.make_logger(tmp_path)


def test_token_detail_is_recorded_by_type(lg, tmp_path):
    success(
        lg,
        prompt=100,
        completion=50,
        usage={
            "completion_tokens_details": {"reasoning_tokens": 30, "audio_tokens": 5},
            "prompt_tokens_details": {"cached_tokens": 40, "audio_tokens": 7},
            "cache_creation_input_tokens": 20,
        },
    )
    data = rundirs.series(tmp_path)
    billed = {labels[3]: v[0] for labels, v in rundirs.metric_series(data, "tokens_used").items()}
    assert billed == {"input": 100, "output": 50}  # sum(tokens_used_total) is what was billed
    details = {labels[3]: v[0] for labels, v in rundirs.metric_series(data, "token_details").items()}
    assert details == {
        "cached_input": 40,
        "reasoning": 30,
        "cache_creation_input": 20,
        "audio_input": 7,
        "audio_output": 5,
    }
    for detail, whole in TOKEN_DETAILS_OF.items():  # each detail is a part of the type it names, never above it
        assert details[detail] <= billed[whole]


@pytest.mark.parametrize("cost, prompt, unpriced", [(0.0, 10, 1), (None, 10, 1), (0.0, 0, 0), (0.002, 10, 0)])
def test_a_call_that_used_tokens_without_a_price_is_unpriced(lg, tmp_path, cost, prompt, unpriced):
    success(lg, cost=cost, prompt=prompt, completion=0 if not prompt else 3)
    assert rundirs.total(rundirs.series(tmp_path), "unpriced_requests") == unpriced


def test_budgets_of_team_key_user_and_end_user(lg, tmp_path):
    reset = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=2)
    success(
        lg,
        cost=1.5,
        team="t1",
        meta={
            "user_api_key_team_alias": "search",
            "user_api_key_team_max_budget": 100.0,
            "user_api_key_team_spend": 40.0,
            "user_api_key_team_budget_reset_at": reset.isoformat(),
            "user_api_key_alias": "batch",
            "user_api_key_max_budget": 10.0,
            "user_api_key_spend": 2.0,
            "user_api_key_user_id": "u-1",
            "user_api_key_user_max_budget": 5.0,
            "user_api_key_user_spend": 0.5,
            "user_api_key_end_user_id": "cust-9",
            "user_api_end_user_max_budget": 3.0,
        },
    )
    data = rundirs.series(tmp_path)
    assert rundirs.value(data, "budget_max_usd", "team", "search") == 100.0
    assert rundirs.value(data, "budget_remaining_usd", "team", "search") == pytest.approx(100 - 40 - 1.5)
    assert rundirs.value(data, "budget_remaining_usd", "key", "batch") == pytest.approx(10 - 2 - 1.5)
    assert rundirs.value(data, "budget_remaining_usd", "user", "u-1") == pytest.approx(5 - 0.5 - 1.5)
    assert rundirs.value(data, "budget_max_usd", "end_user", "cust-9") == 3.0
    assert ("budget_remaining_usd", ("end_user", "cust-9")) not in data  # no spend known for end users
    # the reset gauge stores the moment; the exposition serves the seconds left
    stored = rundirs.value(data, "budget_reset_seconds", "team", "search")
    assert stored == pytest.approx(reset.timestamp(), abs=1)
    family = next(
        f
        for f in exposition.families(data, "litellm", now=reset.timestamp() - 3600)
        if f.name == "litellm_budget_reset_seconds"
    )
    assert [s.value for s in family.samples if s.labels["entity"] == "search"] == [pytest.approx(3600, abs=1)]
    family = next(
        f
        for f in exposition.families(data, "litellm", now=reset.timestamp() + 60)
        if f.name == "litellm_budget_reset_seconds"
    )
    assert [s.value for s in family.samples if s.labels["entity"] == "search"] == [0.0]  # past: 0, never negative


def test_a_key_without_an_alias_is_never_a_label(lg, tmp_path):
    success(
        lg,
        meta={
            "user_api_key_alias": None,
            "user_api_key_max_budget": 10.0,
            "user_api_key_spend": 1.0,
            "user_api_key_hash": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
        },
    )
    data = rundirs.series(tmp_path)
    assert not rundirs.metric_series(data, "budget_max_usd")
    assert not any("88dc28" in str(labels) for _, labels in data)


def test_overhead_is_recorded_in_seconds(lg, tmp_path):
    success(lg, hidden={"litellm_overhead_time_ms": 12.5})
    data = rundirs.series(tmp_path)
    assert data[("overhead_latency_seconds", ("ok", "openai"))][-1] == pytest.approx(0.0125)


GUARDRAILS = [
    {
        "guardrail_name": "pii",
        "guardrail_mode": "pre_call",
        "guardrail_status": "success",
        "duration": 0.002,
        "start_time": 100.0,
    },
    {
        "guardrail_name": "toxicity",
        "guardrail_mode": "post_call",
        "guardrail_status": "guardrail_failed_to_respond",
        "duration": 1.5,
        "start_time": 101.0,
    },
]


def test_guardrail_runs_by_outcome_once_per_run(lg, tmp_path):
    pre = {"litellm_call_id": "g1", "model": "ok"}
    run(lg.async_pre_call_hook(ev.user(), None, pre, "completion"))
    success(lg, call_id="g1", guardrails=GUARDRAILS)
    success(lg, call_id="g1", guardrails=GUARDRAILS)  # the same runs reported again: counted once
    data = rundirs.series(tmp_path)
    assert rundirs.value(data, "guardrail_requests", "pii", "pre_call", "passed") == 1
    assert rundirs.value(data, "guardrail_requests", "toxicity", "post_call", "error") == 1
    assert sum(data[("guardrail_latency_seconds", ("toxicity", "post_call"))][:-1]) == 1


def test_a_guardrail_block_is_counted_from_the_failure_event(lg, tmp_path):
    blocked = [
        {
            "guardrail_name": "pii",
            "guardrail_mode": "pre_call",
            "guardrail_status": "guardrail_intervened",
            "duration": 0.001,
            "start_time": 5.0,
        }
    ]
    kwargs = ev.success_kwargs(call_id="b1")
    kwargs["standard_logging_object"]["guardrail_information"] = blocked
    run(lg.async_log_failure_event(kwargs, None, None, None))
    assert rundirs.value(rundirs.series(tmp_path), "guardrail_requests", "pii", "pre_call", "blocked") == 1


def test_a_cooldown_read_from_the_router_sets_state_and_counts_once(tmp_path):
    cache = FakeCooldownCache()
    lg = ev.make_logger(tmp_path, router=FakeRouter(cache), models=[*ev.MODELS, "gpt"])
    failed = {
        "model": "openai/gpt-4o",
        "api_base": "https://eu.example/v1",
        "model_info": {"id": "gpt-eu"},
        "metadata": {"model_group": "gpt"},
        "litellm_call_id": "x1",
    }
    run(
        lg.async_post_call_failure_deployment_hook(
            failed, exceptions.le.RateLimitError("m", "openai", "gpt-4o"), "acompletion"
        )
    )
    d = ("openai", "gpt", "gpt-eu")
    assert rundirs.value(rundirs.series(tmp_path), "deployment_state", *d) == 1  # a failed call: partial outage
    cache.active["gpt-eu"] = {"timestamp": time.time(), "cooldown_time": 5, "status_code": "429"}
    run(lg.read_cooldowns())
    run(lg.read_cooldowns())
    data = rundirs.series(tmp_path)
    assert rundirs.value(data, "deployment_cooldowns", *d, "429") == 1
    assert rundirs.value(data, "deployment_state", *d) == 2  # in cooldown: complete outage
    del cache.active["gpt-eu"]
    run(lg.read_cooldowns())
    assert (
        rundirs.value(rundirs.series(tmp_path), "deployment_state", *d) == 1
    )  # lapsed: back to failing until a success


def test_retries_are_counted_per_model_group_at_the_end_of_the_request(lg, tmp_path):
    success(lg, retries=2)  # unknown call: the metadata's attempted_retries
    assert rundirs.value(rundirs.series(tmp_path), "retries", "openai", "ok") == 2


def test_label_values_never_none_or_empty(lg, tmp_path):
    success(
        lg,
        meta={"user_api_key_team_alias": "", "user_api_key_team_max_budget": 1.0, "user_api_key_team_id": None},
        guardrails=[{"guardrail_name": None, "guardrail_status": "success"}],
    )
    for _, labels in rundirs.series(tmp_path):
        assert all(v not in ("", "None") for v in labels), labels
    assert rundirs.value(rundirs.series(tmp_path), "guardrail_requests", UNKNOWN, UNKNOWN, "passed") == 1
