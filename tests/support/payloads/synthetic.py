"""Realistic proxy events at scale, built with LiteLLM's own types, for the benchmarks.

One *request* is the sequence of hooks the LiteLLM proxy calls for it, and every
logger under test is given the same sequence (hooks a logger does not implement are
CustomLogger's no-ops):

  success  async_pre_call_hook -> async_log_success_event -> async_post_call_success_hook
  failure  async_pre_call_hook -> async_log_failure_event (the failed attempt)
           -> async_post_call_failure_deployment_hook -> async_post_call_failure_hook

The mix: 3 model groups on 2 providers, 5 teams, 12 keys (each key of one team and one user, as
LiteLLM's keys are: the key's auth object carries them); 60 % plain non-streaming
(cache_hit None), 30 % streaming, 10 % cache hits; x-ratelimit headers on upstream
answers; failures are 429 RateLimitError, 500 InternalServerError and 408 Timeout.
"""

from __future__ import annotations

import datetime
import itertools
import os
import uuid

# Before litellm is imported: use the bundled model cost map (no network at import).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

MODELS = (
    ("gpt-4o", "openai", "openai/gpt-4o"),
    ("gpt-4o-mini", "openai", "openai/gpt-4o-mini"),
    ("claude-3-5-sonnet", "anthropic", "anthropic/claude-3-5-sonnet-20240620"),
)
MODEL_NAMES = [m[0] for m in MODELS]
TEAMS = (("team-1", "search"), ("team-2", "support"), ("team-3", "billing"), ("team-4", "ads"), ("team-5", "ml"))
KEYS = 12
POOL = 240  # distinct events; a run cycles through them


def _team(i: int) -> tuple:
    """Request i's team: its key's (a key is of one team, as LiteLLM's are)."""
    return TEAMS[i % KEYS % len(TEAMS)]


def _user_id(i: int) -> str:
    """Request i's user: its key's."""
    return f"user-{i % KEYS % 7}"


def _payload(
    i: int,
    *,
    status: str,
    model: tuple,
    team: tuple,
    stream: bool,
    cache_hit,
    call_id: str,
    start: float,
    end: float,
    first_token: float,
    prompt: int,
    completion: int,
    cost: float,
    key_hash: str,
    headers: dict | None,
    error: dict | None,
):
    """A StandardLoggingPayload with every required key, as LiteLLM's logging builds it."""
    from litellm.litellm_core_utils.litellm_logging import get_standard_logging_metadata
    from litellm.types.utils import (
        StandardLoggingHiddenParams,
        StandardLoggingPayload,
        StandardLoggingPayloadErrorInformation,
    )

    group, provider, deployment = model
    usage = (
        {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": prompt // 4 if i % 3 == 0 else 0},
        }
        if status == "success"
        else {}
    )
    metadata = get_standard_logging_metadata(
        {
            "user_api_key_hash": key_hash,
            "user_api_key_alias": f"key-{i % KEYS}",
            "user_api_key_spend": 10.0 + i * 0.01,
            "user_api_key_max_budget": 100.0,
            "user_api_key_budget_reset_at": "2030-01-01T00:00:00+00:00",
            "user_api_key_team_id": team[0],
            "user_api_key_team_alias": team[1],
            "user_api_key_team_spend": 50.0 + i * 0.01,
            "user_api_key_user_id": _user_id(i),
            "user_api_key_user_email": None,
            "user_api_key_org_id": None,
            "user_api_key_request_route": "/chat/completions",
            "requester_ip_address": "10.0.0.7",
            "user_agent": "openai-python/1.50",
            "applied_guardrails": [],
            "usage_object": usage,
        }
    )
    hidden = StandardLoggingHiddenParams(
        model_id=f"deploy-{group}",
        cache_key=None,
        api_base="https://api.example.com",
        response_cost=cost,
        additional_headers=headers,
        litellm_overhead_time_ms=1.2,
        batch_models=None,
        litellm_model_name=deployment,
        usage_object=None,
        batch_failed_requests=None,
        batch_successful_requests=None,
    )
    info = (
        StandardLoggingPayloadErrorInformation(**error)
        if error
        else StandardLoggingPayloadErrorInformation(
            error_class="", error_code="", error_message="", llm_provider="", traceback=""
        )
    )
    return StandardLoggingPayload(
        id=call_id,
        trace_id=str(uuid.UUID(int=i + 1)),
        session_id="",
        litellm_call_id=call_id,
        call_type="acompletion",
        stream=stream,
        response_cost=cost,
        cost_breakdown=None,
        autorouter_savings=None,
        autorouter_savings_estimate=None,
        autorouter_baseline_observation=None,
        response_cost_failure_debug_info=None,
        zero_cost_diagnostic=None,
        status=status,
        status_fields={"llm_api_status": status, "guardrail_status": "not_run"},
        custom_llm_provider=provider,
        total_tokens=prompt + completion,
        prompt_tokens=prompt,
        completion_tokens=completion,
        startTime=start,
        endTime=end,
        completionStartTime=first_token,
        response_time=end - start,
        model_map_information={"model_map_key": group, "model_map_value": None},
        model=deployment.split("/", 1)[1],
        model_id=f"deploy-{group}",
        model_group=group,
        api_base="https://api.example.com",
        metadata=metadata,
        cache_hit=cache_hit,
        cache_key=None,
        saved_cache_cost=0.0,
        request_tags=[],
        end_user=None,
        requester_ip_address="10.0.0.7",
        user_agent="openai-python/1.50",
        messages=[{"role": "user", "content": "hello"}],
        response={"choices": [{"message": {"role": "assistant", "content": "hi"}}]} if status == "success" else {},
        error_str=error["error_message"] if error else None,
        error_information=info,
        model_parameters={},
        hidden_params=hidden,
        guardrail_information=None,
        standard_built_in_tools_params={"file_search": None, "web_search_options": None},
    )


def _request_data(i: int, model: tuple, team: tuple, key_hash: str, call_id: str, stream: bool, retries: int):
    group = model[0]
    return {
        "model": group,
        "messages": [{"role": "user", "content": "hello"}],
        "stream": stream,
        "litellm_call_id": call_id,
        "metadata": {
            "model_group": group,
            "original_model_group": group,
            "attempted_retries": retries,
            "attempted_fallbacks": 0,
            "user_api_key_hash": key_hash,
            "user_api_key_team_id": team[0],
            "user_api_key_team_alias": team[1],
            "requester_ip_address": "10.0.0.7",
            "user_agent": "openai-python/1.50",
            "model_info": {"id": f"deploy-{group}"},
        },
        "proxy_server_request": {"url": "http://proxy/chat/completions", "method": "POST", "headers": {}},
    }


def _with_user(data: dict, user) -> dict:
    data["metadata"].update(_proxy_metadata(user))
    return data


def _user(i: int, team: tuple, key_hash: str):
    """The proxy's auth result, with the budget snapshots auth pins on it."""
    from litellm.proxy._types import UserAPIKeyAuth
    from litellm.types.proxy.carried_budget_state import TeamBudgetSnapshot, UserBudgetSnapshot

    user = UserAPIKeyAuth(
        api_key=key_hash,
        key_alias=f"key-{i % KEYS}",
        team_id=team[0],
        team_alias=team[1],
        user_id=_user_id(i),
        request_route="/chat/completions",
        spend=10.0 + i * 0.01,
        max_budget=100.0,
        team_spend=50.0,
        team_max_budget=500.0,
        user_spend=5.0,
        user_max_budget=50.0,
    )
    user.team_budget_snapshot = TeamBudgetSnapshot(budget_reset_at=None, max_budget=500.0)
    user.user_budget_snapshot = UserBudgetSnapshot(budget_reset_at=None, max_budget=50.0, user_alias=None)
    return user


def _proxy_metadata(user) -> dict:
    """What the proxy's pre-call setup writes into the request metadata for the loggers
    (litellm/proxy/litellm_pre_call_utils.py), budget snapshots included so that the
    built-in logger does no key/team/user lookups."""
    from litellm.proxy.spend_tracking.carried_budget_state import carried_budget_metadata

    return {
        "user_api_key_team_max_budget": user.team_max_budget,
        "user_api_key_team_spend": user.team_spend,
        "user_api_key_spend": user.spend,
        "user_api_key_max_budget": user.max_budget,
        "user_api_key_budget_reset_at": None,
        "user_api_key_user_spend": user.user_spend,
        "user_api_key_user_max_budget": user.user_max_budget,
        "user_api_key_request_route": user.request_route,
        **carried_budget_metadata(user),
    }


class Event:
    """One request: what each hook receives. `call_id` is replaced per replay."""

    __slots__ = ("ok", "kwargs", "response", "start", "end", "request_data", "user", "exception")


def success_events(n: int = POOL, base: float | None = None) -> list[Event]:
    import litellm

    base = base or 1.7e9
    out = []
    for i in range(n):
        model, team = MODELS[i % len(MODELS)], _team(i)
        key_hash = f"{i % KEYS:064x}"
        call_id = str(uuid.UUID(int=10_000 + i))
        cache_hit = True if i % 10 == 9 else None
        stream = cache_hit is None and i % 10 >= 6
        if stream:
            cache_hit = False
        start = base + i
        end, first_token = start + 0.8 + (i % 13) * 0.1, start + 0.2 + (i % 5) * 0.05
        prompt, completion = 200 + 17 * (i % 50), 30 + 11 * (i % 40)
        cost = 0.0 if cache_hit else (prompt * 2.5e-6 + completion * 1e-5)
        headers = (
            None
            if cache_hit
            else {
                "x_ratelimit_remaining_requests": 9000 - i,
                "x_ratelimit_limit_requests": 10000,
                "x_ratelimit_remaining_tokens": 1_900_000 - 100 * i,
                "x_ratelimit_limit_tokens": 2_000_000,
            }
        )
        slo = _payload(
            i,
            status="success",
            model=model,
            team=team,
            stream=stream,
            cache_hit=cache_hit,
            call_id=call_id,
            start=start,
            end=end,
            first_token=first_token,
            prompt=prompt,
            completion=completion,
            cost=cost,
            key_hash=key_hash,
            headers=headers,
            error=None,
        )
        user = _user(i, team, key_hash)
        data = _with_user(
            _request_data(i, model, team, key_hash, call_id, stream, retries=1 if i % 8 == 0 else 0), user
        )
        e = Event()
        e.ok = True
        e.start = datetime.datetime.fromtimestamp(start)
        e.end = datetime.datetime.fromtimestamp(end)
        e.kwargs = {
            "model": slo["model"],
            "custom_llm_provider": model[1],
            "stream": stream,
            "cache_hit": cache_hit,
            "litellm_call_id": call_id,
            "call_type": "acompletion",
            "response_cost": cost,
            "start_time": e.start,
            "end_time": e.end,
            "api_call_start_time": e.start,
            "completion_start_time": datetime.datetime.fromtimestamp(first_token),
            "litellm_params": {
                "metadata": {**data["metadata"], "hidden_params": {}},
                "litellm_call_id": call_id,
                "custom_llm_provider": model[1],
                "proxy_server_request": data["proxy_server_request"],
                "model_info": {},
            },
            "standard_logging_object": slo,
        }
        e.response = litellm.ModelResponse(
            model=slo["model"], choices=[{"message": {"role": "assistant", "content": "hi"}}]
        )
        e.request_data = data
        e.user = user
        e.exception = None
        out.append(e)
    return out


def failure_events(n: int = POOL, base: float | None = None) -> list[Event]:
    from litellm import exceptions

    base = base or 1.7e9
    out = []
    for i in range(n):
        model, team = MODELS[i % len(MODELS)], _team(i)
        key_hash = f"{i % KEYS:064x}"
        call_id = str(uuid.UUID(int=20_000 + i))
        kind = i % 3
        if kind == 0:
            exc = exceptions.RateLimitError(
                message="Rate limit reached for requests", llm_provider=model[1], model=model[0]
            )
        elif kind == 1:
            exc = exceptions.InternalServerError(message="upstream 500", llm_provider=model[1], model=model[0])
        else:
            exc = exceptions.Timeout(message="Request timed out", model=model[0], llm_provider=model[1])
        code = getattr(exc, "status_code", 500)
        start = base + i
        end = start + 0.5
        error = {
            "error_class": type(exc).__name__,
            "error_code": str(code),
            "error_message": str(exc),
            "llm_provider": model[1],
            "traceback": "Traceback (most recent call last): ...",
        }
        slo = _payload(
            i,
            status="failure",
            model=model,
            team=team,
            stream=False,
            cache_hit=None,
            call_id=call_id,
            start=start,
            end=end,
            first_token=end,
            prompt=0,
            completion=0,
            cost=0.0,
            key_hash=key_hash,
            headers=None,
            error=error,
        )
        user = _user(i, team, key_hash)
        data = _with_user(_request_data(i, model, team, key_hash, call_id, False, retries=2 if kind == 0 else 0), user)
        e = Event()
        e.ok = False
        e.start = datetime.datetime.fromtimestamp(start)
        e.end = datetime.datetime.fromtimestamp(end)
        e.kwargs = {
            "model": slo["model"],
            "custom_llm_provider": model[1],
            "stream": False,
            "litellm_call_id": call_id,
            "call_type": "acompletion",
            "response_cost": 0.0,
            "exception": exc,
            "start_time": e.start,
            "end_time": e.end,
            "api_call_start_time": e.start,
            "litellm_params": {
                "metadata": dict(data["metadata"]),
                "litellm_call_id": call_id,
                "custom_llm_provider": model[1],
                "model_info": {},
            },
            "standard_logging_object": slo,
        }
        data["litellm_logging_obj"] = None
        e.response = None
        e.request_data = data
        e.user = user
        e.exception = exc
        out.append(e)
    return out


_CALL_IDS = itertools.count()
_SPEND_FIELDS = (
    "user_api_key_spend",
    "user_api_key_team_spend",
    "user_api_key_user_spend",
    "user_api_key_end_user_spend",
)
SPEND_STEP = 10.0  # added to every spend at each pass over the pool: more than a pass adds (POOL * 0.01)


def _advance_spend(events: list[Event]) -> None:
    """Move every spend the events carry up by SPEND_STEP. Within one pass over the pool an entity's spend grows
    with the event's index; without this step it would fall back at the next pass, which a logger must take for
    a budget reset (spend dropped): every key and team "reset" every POOL requests. In a proxy a spend only grows
    between resets, which come once a budget period."""
    for e in events:
        for meta in (
            e.kwargs["standard_logging_object"]["metadata"],
            e.kwargs["litellm_params"]["metadata"],
            e.request_data["metadata"],
        ):
            for field in _SPEND_FIELDS:
                if isinstance(meta.get(field), float):
                    meta[field] += SPEND_STEP


async def replay(logger, events: list[Event], count: int, hooks: str = "request") -> None:
    """Send `count` requests, cycling through `events`, each with a fresh call id; every spend moves up at the
    start of each pass (_advance_spend), so it never falls between two requests of an entity.

    hooks="request": every hook the proxy calls for the request (module docstring);
    hooks="success-hook": only async_log_success_event (success events only).
    """
    n = len(events)
    for j in range(count):
        if j % n == 0:
            _advance_spend(events)
        e = events[j % n]
        cid = f"bench-{next(_CALL_IDS)}"  # unique across calls of replay: a repeated id is one request
        e.kwargs["litellm_call_id"] = cid
        e.request_data["litellm_call_id"] = cid
        if e.ok:
            if hooks == "success-hook":
                await logger.async_log_success_event(e.kwargs, e.response, e.start, e.end)
                continue
            await logger.async_pre_call_hook(e.user, None, e.request_data, "acompletion")
            await logger.async_log_success_event(e.kwargs, e.response, e.start, e.end)
            await logger.async_post_call_success_hook(e.request_data, e.user, e.response)
        else:
            await logger.async_pre_call_hook(e.user, None, e.request_data, "acompletion")
            await logger.async_log_failure_event(e.kwargs, None, e.start, e.end)
            await logger.async_post_call_failure_deployment_hook(e.request_data, e.exception, "acompletion")
            await logger.async_post_call_failure_hook(e.request_data, e.exception, e.user)
