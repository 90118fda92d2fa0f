"""LiteLLM's hook payloads turned into small typed observations: what the logger records, and nothing else.

Pure: no I/O, no clock, no state; every function takes a hook's arguments and returns one observation,
or raises nothing (a field that is missing or of another type becomes None). Field by field, what is
read and from where is the payload contract (tests/support/contract.py); the functions here are tested
against payloads captured from real proxies of each LiteLLM version of the matrix
(tests/fixtures/payloads/, tests/worker/test_observations.py).

Values stay raw (a model group, a team, a provider as LiteLLM gave them): turning them into label
values (cleaning, caps, the proxy's model list) is the logger's job. Amounts that may go into a counter
are checked here: a negative, NaN, infinite or non-numeric one is left out and named in `problems`,
for the logger to count as an internal error; it is never added.
"""
from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from . import error_types

RATELIMIT_HEADERS = ("x_ratelimit_remaining_requests", "x_ratelimit_limit_requests",
                     "x_ratelimit_remaining_tokens", "x_ratelimit_limit_tokens")
_EMPTY: Mapping = {}


def mapping(value: object) -> Mapping:
    """A mapping, or an empty one (LiteLLM hands some hooks a MappingProxyType, not a dict)."""
    return value if type(value) is dict or isinstance(value, Mapping) else _EMPTY


def number(value: object) -> float | None:
    """A finite float from an int or float (not bool); None for anything else."""
    kind = type(value)
    if kind is float:  # the common cases first: this runs a dozen times per event
        return value if value - value == 0.0 else None  # inf - inf and nan - nan are nan
    if kind is not int and (kind is bool or not isinstance(value, (int, float)) or isinstance(value, bool)):
        return None
    try:
        value = float(value)  # an int past 1e308 raises OverflowError
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def epoch(value: object) -> float | None:
    """Seconds since the epoch from a float or a datetime."""
    if isinstance(value, datetime.datetime):
        try:
            return value.timestamp()
        except (OverflowError, ValueError, OSError):
            return None
    return number(value)


def amount(value: object, name: str, problems: list[str]) -> float | None:
    """An amount that may go into a counter as a float, None when absent or bad; a bad one is named in
    `problems`."""
    if value is None:
        return None
    n = number(value)
    if n is None or n < 0:
        problems.append(f"{name}: negative, not finite or not a number: {str(value)[:40]!r}")
        return None
    return n


def header_value(value: object) -> float | None:
    """An x-ratelimit header as LiteLLM passes it on: an int, or digits in a string."""
    if value is None:
        return None
    if isinstance(value, str):
        value = error_types.ascii_int(value)
    return number(value)


_HASH_ID = frozenset("0123456789abcdef")


def deployment_name(model_id: object, model: object, api_base: object) -> object:
    """A deployment's label value: the `model_info.id` the proxy config gave it (operators give readable
    ids), else a short stable name from its model and api_base host (`fake-ok@127.0.0.1:4000`).
    LiteLLM's own ids for deployments configured without one are 64-hex hashes: not readable, not used.
    Never a key: nothing here reads one."""
    if isinstance(model_id, str) and model_id and not (len(model_id) >= 32 and set(model_id) <= _HASH_ID):
        return model_id
    if not isinstance(model, str) or not model:
        return None
    model = model.split("/", 1)[1] if "/" in model else model
    if isinstance(api_base, str) and "://" in api_base:
        host = api_base.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]  # never credentials in a URL
        return f"{model}@{host}" if host else model
    return model


# guardrail_information statuses (LiteLLM's StandardLoggingGuardrailInformation; legacy names too)
GUARDRAIL_OUTCOMES = {"success": "passed", "guardrail_flagged": "passed", "guardrail_intervened": "blocked",
                      "blocked": "blocked", "guardrail_failed_to_respond": "error", "failure": "error"}


@dataclass(slots=True)
class GuardrailRun:
    name: object
    hook: str | None  # pre_call, during_call, post_call, ...
    outcome: str  # passed, blocked, error
    duration: float | None
    started: float | None  # identifies the run, with name and hook: one run is counted once


def guardrail_runs(slo: Mapping) -> list[GuardrailRun]:
    """The guardrail runs an event carries (LiteLLM records them for its built-in guardrails and for
    custom ones decorated with @log_guardrail_information); `not_run` and unknown statuses are left out."""
    info = slo.get("guardrail_information")
    if isinstance(info, Mapping):
        info = [info]
    if not isinstance(info, list):
        return []
    out = []
    for entry in info[:32]:
        entry = mapping(entry)
        outcome = GUARDRAIL_OUTCOMES.get(entry.get("guardrail_status"))
        if outcome is None:
            continue
        mode = entry.get("guardrail_mode")
        mode = getattr(mode, "value", mode)
        if isinstance(mode, list):
            mode = ",".join(str(getattr(m, "value", m)) for m in mode[:4])
        duration = number(entry.get("duration"))
        out.append(GuardrailRun(entry.get("guardrail_name"), mode if isinstance(mode, str) else None, outcome,
                                duration if duration is not None and duration >= 0 else None,
                                number(entry.get("start_time"))))
    return out


@dataclass(slots=True)
class BudgetReading:
    entity_type: str  # team, key, user, end_user
    entity: object
    max_usd: float
    remaining_usd: float | None  # max minus (spend carried + this request's cost); None when spend is unknown
    reset_at: float | None  # epoch seconds of the next reset


# entity type -> (entity fields, first present wins; max; spend; reset time). SLO.metadata first, then the
# request's litellm_params.metadata (team and user reset times and the end user's max are only there).
_BUDGETS = (
    ("team", ("user_api_key_team_alias", "user_api_key_team_id"), "user_api_key_team_max_budget",
     "user_api_key_team_spend", "user_api_key_team_budget_reset_at"),
    ("key", ("user_api_key_alias",), "user_api_key_max_budget", "user_api_key_spend", "user_api_key_budget_reset_at"),
    ("user", ("user_api_key_user_id",), "user_api_key_user_max_budget", "user_api_key_user_spend",
     "user_api_key_user_budget_reset_at"),
    ("end_user", ("user_api_key_end_user_id",), "user_api_end_user_max_budget", None, None),
)


def moment(value: object) -> float | None:
    """Epoch seconds of an ISO 8601 string or a datetime (a budget's reset time)."""
    if isinstance(value, str) and 0 < len(value) <= 64:
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return epoch(value)
    return None


def budget_readings(slo_meta: Mapping, params_meta: Mapping, cost: float | None) -> list[BudgetReading]:
    """Budgets of the request's team, key (by alias only), user and end user, where metadata carries a maximum."""
    def get(name):
        value = slo_meta.get(name)
        return params_meta.get(name) if value is None else value

    out = []
    for entity_type, entity_fields, max_field, spend_field, reset_field in _BUDGETS:
        entity = next((v for v in map(get, entity_fields) if isinstance(v, str) and v), None)
        maximum = number(get(max_field))
        if entity is None or maximum is None or maximum < 0:
            continue
        spend = number(get(spend_field)) if spend_field else None
        remaining = None if spend is None else maximum - spend - (cost or 0.0)
        out.append(BudgetReading(entity_type, entity, maximum, remaining,
                                 moment(get(reset_field)) if reset_field else None))
    return out


class RequestStart(NamedTuple):
    """async_pre_call_hook: a client request entered the proxy."""

    call_id: object
    model: object  # the model group the client asked for


class AttemptStart(NamedTuple):
    """log_pre_api_call: an upstream call (first try, retry or fallback step) begins."""

    call_id: object
    provider: object
    model_group: object
    deployment: object


@dataclass(slots=True)
class Success:
    """async_log_success_event: the upstream call that answered (or a cache hit), and the request."""

    call_id: object
    provider: object
    model_group: object  # the group that served
    requested: object  # the group the client asked for, when a fallback served another; else None
    team: object
    started: float | None  # the upstream call's start (epoch seconds)
    ended: float | None
    first_token: float | None  # streams only
    stream: bool
    cache_hit: bool
    prompt_tokens: float | None
    completion_tokens: float | None
    cached_tokens: float | None
    cost: float | None
    retries: float | None
    ratelimit: tuple[float | None, ...]  # RATELIMIT_HEADERS, in order
    budget_metadata: Mapping  # what worker/budgets.py reads
    problems: list[str]  # amounts left out as bad
    deployment: object
    overhead: float | None  # seconds LiteLLM added (non-streamed successes carry it)
    token_details: tuple[float | None, ...]  # reasoning, cache_creation_input, audio_input, audio_output
    guardrails: list  # GuardrailRun
    budgets: list  # BudgetReading


@dataclass(slots=True)
class Failure:
    """async_post_call_failure_hook: the request failed; what the client was answered."""

    call_id: object
    model: object  # the model group the client asked for
    provider: object
    team: object
    status_code: int  # always 400..599 (error_types.status_code)
    error_type: str
    retries: float | None
    retries_group: object
    problems: list[str]  # amounts left out as bad


@dataclass(slots=True)
class FailedAttempt:
    """async_post_call_failure_deployment_hook: one upstream call failed."""

    call_id: object
    provider: object
    model_group: object
    deployment: object
    status_code: int
    error_type: str
    began: float | None  # LiteLLM's api_call_start_time


@dataclass(slots=True)
class Fallback:
    """log_success_fallback_event / log_failure_fallback_event."""

    from_group: object
    to_group: object
    success: bool


def request_start(data: object) -> RequestStart:
    data = mapping(data)
    return RequestStart(data.get("litellm_call_id"), data.get("model"))


def attempt_start(kwargs: object) -> AttemptStart:
    kwargs = mapping(kwargs)
    params = mapping(kwargs.get("litellm_params"))
    # /v1/messages and /v1/responses keep the router's metadata under litellm_metadata
    meta = mapping(params.get("metadata")) or mapping(params.get("litellm_metadata"))
    return AttemptStart(kwargs.get("litellm_call_id"), kwargs.get("custom_llm_provider")
                        or params.get("custom_llm_provider"), meta.get("model_group"),
                        deployment_name(mapping(params.get("model_info")).get("id"),
                                        meta.get("deployment") or kwargs.get("model"), params.get("api_base")))


def success(kwargs: object) -> Success:
    kwargs = mapping(kwargs)
    slo = mapping(kwargs.get("standard_logging_object"))
    meta = mapping(mapping(kwargs.get("litellm_params")).get("metadata"))
    slo_meta = mapping(slo.get("metadata"))
    served = slo.get("model_group") or meta.get("model_group")
    requested = meta.get("original_model_group")
    started, ended = epoch(slo.get("startTime")), epoch(slo.get("endTime"))
    if started is None and "start_time" in kwargs:
        started = epoch(kwargs.get("start_time"))
    stream = slo.get("stream") is True or kwargs.get("stream") is True
    cache_hit = (slo.get("cache_hit") if "cache_hit" in slo else kwargs.get("cache_hit")) is True
    details = mapping(mapping(slo_meta.get("usage_object")).get("prompt_tokens_details"))
    problems: list[str] = []
    hidden = mapping(slo.get("hidden_params"))
    headers = mapping(hidden.get("additional_headers"))
    usage = mapping(slo_meta.get("usage_object"))
    completion_details = mapping(usage.get("completion_tokens_details"))
    overhead = number(hidden.get("litellm_overhead_time_ms"))
    cost = amount(slo.get("response_cost"), "response_cost", problems)
    cache_creation = usage.get("cache_creation_input_tokens")
    if cache_creation is None:
        cache_creation = details.get("cache_creation_tokens")
    return Success(  # positional: this runs once per event
        kwargs.get("litellm_call_id"),
        slo.get("custom_llm_provider") or kwargs.get("custom_llm_provider"),
        served,
        requested if requested and requested != slo.get("model_group") else None,
        slo_meta.get("user_api_key_team_alias") or slo_meta.get("user_api_key_team_id"),
        started, ended,
        epoch(slo.get("completionStartTime")) if stream else None,
        stream, cache_hit,
        amount(slo.get("prompt_tokens"), "prompt_tokens", problems),
        amount(slo.get("completion_tokens"), "completion_tokens", problems),
        amount(details.get("cached_tokens"), "cached_tokens", problems),
        cost,
        amount(meta.get("attempted_retries"), "attempted_retries", problems),
        (header_value(headers.get(RATELIMIT_HEADERS[0])), header_value(headers.get(RATELIMIT_HEADERS[1])),
         header_value(headers.get(RATELIMIT_HEADERS[2])), header_value(headers.get(RATELIMIT_HEADERS[3]))),
        slo_meta, problems,
        deployment_name(slo.get("model_id"), slo.get("model"), slo.get("api_base")),
        overhead / 1000.0 if overhead is not None and overhead >= 0 else None,
        (amount(completion_details.get("reasoning_tokens"), "reasoning_tokens", problems),
         amount(cache_creation, "cache_creation_input_tokens", problems),
         amount(details.get("audio_tokens"), "audio_input_tokens", problems),
         amount(completion_details.get("audio_tokens"), "audio_output_tokens", problems)),
        guardrail_runs(slo) if slo.get("guardrail_information") else [],
        budget_readings(slo_meta, meta, cost) if not cache_hit else [])


def team_of(user: object) -> object:
    """The team of a key's auth object: its alias, else its id."""
    return getattr(user, "team_alias", None) or getattr(user, "team_id", None)


def failure(request_data: object, exc: object, user: object) -> Failure:
    request_data = mapping(request_data)
    code = error_types.status_code(exc)
    meta = mapping(request_data.get("metadata"))
    problems: list[str] = []
    retries = amount(meta.get("attempted_retries"), "attempted_retries", problems)
    return Failure(
        call_id=request_data.get("litellm_call_id"), model=request_data.get("model"),
        provider=getattr(exc, "llm_provider", None) or None, team=team_of(user),
        status_code=code, error_type=error_types.error_type(exc, code),
        retries=retries, retries_group=meta.get("model_group") or request_data.get("model"), problems=problems)


def failed_attempt(request_data: object, exc: object) -> FailedAttempt:
    request_data = mapping(request_data)
    meta = mapping(request_data.get("metadata")) or mapping(request_data.get("litellm_metadata"))
    provider = getattr(exc, "llm_provider", None)
    if not provider:  # "openai/fake-ok": the provider is the deployment's prefix
        deployment = request_data.get("model")
        provider = deployment.split("/", 1)[0] if isinstance(deployment, str) and "/" in deployment else None
    code = error_types.status_code(exc)
    details = mapping(getattr(request_data.get("litellm_logging_obj"), "model_call_details", None))
    deployment = deployment_name(mapping(request_data.get("model_info")).get("id"), request_data.get("model"),
                                 request_data.get("api_base"))
    return FailedAttempt(request_data.get("litellm_call_id"), provider, meta.get("model_group"), deployment, code,
                         error_types.error_type(exc, code), epoch(details.get("api_call_start_time")))


@dataclass(slots=True)
class FailureEvent:
    """async_log_failure_event: not a count (it fires once for several attempts on some paths), but it says why a
    request failed, and carries the guardrail runs of a request a guardrail blocked."""

    call_id: object
    error: object
    guardrails: list  # GuardrailRun


def failure_event(kwargs: object) -> FailureEvent:
    kwargs = mapping(kwargs)
    slo = mapping(kwargs.get("standard_logging_object"))
    return FailureEvent(kwargs.get("litellm_call_id"), kwargs.get("exception"),
                        guardrail_runs(slo) if slo.get("guardrail_information") else [])


def fallback(original_model_group: object, kwargs: object, success: bool) -> Fallback:
    kwargs = mapping(kwargs)
    return Fallback(original_model_group, kwargs.get("model") or mapping(kwargs.get("metadata")).get("model_group"),
                    success)
