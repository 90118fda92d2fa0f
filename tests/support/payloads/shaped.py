"""Single events for unit tests, made from the newest captured payload (captured.py) with the fields a test
varies set to what it asks."""

from __future__ import annotations

import time
from types import SimpleNamespace

from . import captured

_HEADERS = {
    "x_ratelimit_limit_requests": 1000,
    "x_ratelimit_remaining_requests": 990,
    "x_ratelimit_limit_tokens": 100000,
    "x_ratelimit_remaining_tokens": 99500,
}


def _plain_ok(args: dict) -> bool:
    """The success of the plain request to `ok` (not the stream, not the fallback that landed on `ok`)."""
    slo = args["kwargs"]["standard_logging_object"]
    original = args["kwargs"]["litellm_params"]["metadata"].get("original_model_group")
    return slo.get("model_group") == "ok" and not slo.get("stream") and original in (None, "ok")


def success_kwargs(
    call_id="c1",
    model_group="ok",
    provider="openai",
    *,
    stream=False,
    cache_hit=None,
    cost=0.0001,
    prompt=11,
    completion=7,
    team=None,
    retries=0,
    now=None,
    headers=True,
    spend=0.0,
    key_hash="h1",
    reset_at=None,
    cached_tokens=None,
    original=None,
) -> dict:
    """The kwargs of async_log_success_event: a captured plain success to `ok`, varied."""
    kwargs = captured.template("async_log_success_event", where=_plain_ok)["kwargs"]
    now = time.time() if now is None else now
    start, end = now - 0.5, now
    slo = kwargs["standard_logging_object"]
    kwargs["litellm_call_id"] = slo["litellm_call_id"] = call_id
    kwargs["stream"] = stream
    slo.update(
        {
            "custom_llm_provider": provider,
            "model": f"{provider}/fake-{model_group}",
            "model_group": model_group,
            "stream": stream,
            "cache_hit": cache_hit,
            "response_cost": cost,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "startTime": start,
            "endTime": end,
            "completionStartTime": now - 0.4 if stream else end,
        }
    )
    meta = slo["metadata"]
    meta.update(
        {
            "user_api_key_hash": key_hash,
            "user_api_key_team_id": team,
            "user_api_key_team_alias": None,
            "user_api_key_spend": spend,
            "user_api_key_budget_reset_at": reset_at,
        }
    )
    usage = meta.setdefault("usage_object", {}) or {}
    meta["usage_object"] = usage
    usage.update(
        {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "prompt_tokens_details": None if cached_tokens is None else {"cached_tokens": cached_tokens},
        }
    )
    slo["hidden_params"]["additional_headers"] = dict(_HEADERS) if headers else {}
    params_meta = kwargs["litellm_params"]["metadata"]
    params_meta.update(
        {
            "model_group": model_group,
            "original_model_group": original or model_group,
            "attempted_retries": retries,
            "attempted_fallbacks": 0,
        }
    )
    return kwargs


def failure_request(model="bad500", call_id="c2", retries=None) -> dict:
    """The request_data of async_post_call_failure_hook: the captured one, varied."""
    data = captured.template("async_post_call_failure_hook")["request_data"]
    data["model"], data["litellm_call_id"] = model, call_id
    meta = data.setdefault("metadata", {})
    meta["model_group"] = model
    meta.pop("attempted_retries", None)
    if retries is not None:
        meta["attempted_retries"] = retries
    return data


def user(team_id=None, team_alias=None):
    """A key's auth object, as the hooks receive it (the attributes the logger reads)."""
    return SimpleNamespace(team_id=team_id, team_alias=team_alias)
