"""LiteLLM's hook payloads turned into small typed observations: what the logger records, and nothing else.

Pure: no I/O, no clock, no state; every function takes a hook's arguments and returns one observation,
or raises nothing (a field that is missing or of another type becomes None). Two pure functions of text
that every request repeats (a deployment's name, a budget's reset time) remember their last answers
(functools.lru_cache, bounded): the same answer, found instead of worked out. Field by field, what is
read and from where is the payload contract (tests/support/contract.py); the functions here are tested
against payloads captured from real proxies of each LiteLLM version of the matrix
(tests/fixtures/payloads/, tests/worker/test_observations.py).

Values stay raw (a model group, a team, a provider as LiteLLM gave them): turning them into label
values (cleaning, caps, the proxy's model list) is labels.py's job. Amounts that may go into a counter
are checked here: a negative, NaN, infinite or non-numeric one is left out and named in `problems`,
for the logger to count as an internal error; it is never added.

Observations are dataclasses with named fields, built with keywords and read by name. The ones built on
every event (Success and what it carries, FailedAttempt) are built as `o = _blank(Cls)` then
`Cls.__init__(o, name=value, ...)`: in CPython 3.11 `Cls(name=value, ...)` hands the keywords to __init__
through a dict (type.__call__), which costs about twice the positional call it replaced; calling __init__
itself does not, and is checked by type checkers the same way.

Over 300 lines for a reason: this file is the payload contract, every field read from LiteLLM's hook
arguments in one place (budget resets' fields too, worker/budgets.py); splitting it would split the
contract. Two readers it calls keep their own tables: endpoints.py (the route and call type -> endpoint) and
callers.py (the request metadata's caller fields, only for the dimensions a proxy turned on).
"""

from __future__ import annotations

import datetime
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from . import callers as callers_mod
from . import endpoints, error_types
from .callers import Callers

_T = TypeVar("_T")

RATELIMIT_HEADERS = (
    "x_ratelimit_remaining_requests",
    "x_ratelimit_limit_requests",
    "x_ratelimit_remaining_tokens",
    "x_ratelimit_limit_tokens",
)
_EMPTY: Mapping[str, Any] = {}


def _blank(cls: type[_T]) -> _T:
    """An instance whose __init__ the caller runs itself, with keywords (module docstring)."""
    return object.__new__(cls)


def mapping(value: object) -> Mapping[str, Any]:
    """A mapping, or an empty one (LiteLLM hands some hooks a MappingProxyType, not a dict)."""
    if type(value) is dict:  # the common case; then None, without the ABC's isinstance machinery
        return value
    return _EMPTY if value is None or not isinstance(value, Mapping) else value


def number(value: object) -> float | None:
    """A finite float from an int or float (not bool); None for anything else. The one number parser of the
    worker: observations, budget resets and cooldown readings all read numbers through it."""
    # mypy cannot narrow through `kind` (one type() call instead of several isinstance() calls: this runs a dozen
    # times per event); the tests on `kind` are the narrowing, hence the ignores
    kind = type(value)
    if kind is float:  # the common cases first: a float, or nothing
        return value if value - value == 0.0 else None  # type: ignore[operator,return-value]  # nan, inf: nan
    if value is None:
        return None
    if kind is int:  # token counts: an int's float is finite, or it overflows
        try:
            return float(value)  # type: ignore[arg-type]
        except OverflowError:
            return None
    if kind is bool or not isinstance(value, (int, float)):  # bool cannot be subclassed: kind is enough
        return None
    try:
        result = float(value)  # an int subclass past 1e308 raises OverflowError
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


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
    Never a key: nothing here reads one. Text arguments are answered from a small cache (the same few
    deployments answer every request); anything else is worked out each time."""
    if (
        (model_id is None or type(model_id) is str)
        and (model is None or type(model) is str)
        and (api_base is None or type(api_base) is str)
    ):
        return _deployment_name(model_id, model, api_base)
    return _deployment_name.__wrapped__(model_id, model, api_base)


@functools.lru_cache(maxsize=1024)
def _deployment_name(model_id: object, model: object, api_base: object) -> object:
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
# guardrail_information statuses (LiteLLM's StandardLoggingGuardrailInformation; legacy names too)
GUARDRAIL_OUTCOMES: dict[object, str] = {
    "success": "passed",
    "guardrail_flagged": "passed",
    "guardrail_intervened": "blocked",
    "blocked": "blocked",
    "guardrail_failed_to_respond": "error",
    "failure": "error",
}


@dataclass(slots=True)
class GuardrailRun:
    name: object
    hook: str | None  # pre_call, during_call, post_call, ...
    outcome: str  # passed, blocked, error
    duration: float | None
    started: float | None  # identifies the run, with name and hook: one run is counted once


def guardrail_runs(slo: Mapping[str, Any]) -> list[GuardrailRun]:
    """The guardrail runs an event carries (LiteLLM records them for its built-in guardrails and for
    custom ones decorated with @log_guardrail_information); `not_run` and unknown statuses are left out."""
    info = slo.get("guardrail_information")
    if isinstance(info, Mapping):
        info = [info]
    if not isinstance(info, list):
        return []
    out = []
    for raw in info[:32]:
        entry = mapping(raw)
        outcome = GUARDRAIL_OUTCOMES.get(entry.get("guardrail_status"))
        if outcome is None:
            continue
        mode = entry.get("guardrail_mode")
        mode = getattr(mode, "value", mode)
        if isinstance(mode, list):
            mode = ",".join(str(getattr(m, "value", m)) for m in mode[:4])
        duration = number(entry.get("duration"))
        run = _blank(GuardrailRun)
        GuardrailRun.__init__(
            run,
            name=entry.get("guardrail_name"),
            hook=mode if isinstance(mode, str) else None,
            outcome=outcome,
            duration=duration if duration is not None and duration >= 0 else None,
            started=number(entry.get("start_time")),
        )
        out.append(run)
    return out


@dataclass(slots=True)
class BudgetReading:
    """A budget's gauges, where metadata carries a maximum."""

    entity_type: str  # team, key, user, end_user
    entity: str  # its alias or id (text: observations never read another type)
    max_usd: float
    remaining_usd: float | None  # max minus (spend carried + this request's cost); None when spend is unknown
    reset_at: float | None  # epoch seconds of the next reset


# entity type -> (entity fields, first present wins; max; spend; reset time). SLO.metadata first, then the
# request's litellm_params.metadata (team and user reset times and the end user's max are only there).
_BUDGETS = (
    (
        "team",
        ("user_api_key_team_alias", "user_api_key_team_id"),
        "user_api_key_team_max_budget",
        "user_api_key_team_spend",
        "user_api_key_team_budget_reset_at",
    ),
    ("key", ("user_api_key_alias",), "user_api_key_max_budget", "user_api_key_spend", "user_api_key_budget_reset_at"),
    (
        "user",
        ("user_api_key_user_id",),
        "user_api_key_user_max_budget",
        "user_api_key_user_spend",
        "user_api_key_user_budget_reset_at",
    ),
    ("end_user", ("user_api_key_end_user_id",), "user_api_end_user_max_budget", None, None),
)


def moment(value: object) -> float | None:
    """Epoch seconds of an ISO 8601 string or a datetime (a budget's reset time)."""
    if isinstance(value, str):
        return _iso_moment(str(value)) if 0 < len(value) <= 64 else None
    return _moment(value)


@functools.lru_cache(maxsize=1024)
def _iso_moment(value: str) -> float | None:
    """moment() of a string, cached: every request of a key carries the same reset time."""
    try:
        return _moment(datetime.datetime.fromisoformat(value))
    except ValueError:
        return None


def _moment(value: object) -> float | None:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return epoch(value)
    return None


def budget_readings(
    slo_meta: Mapping[str, Any], params_meta: Mapping[str, Any], cost: float | None
) -> list[BudgetReading]:
    """Budgets of the request's team, key (by alias only), user and end user, where metadata carries a maximum.
    A field is read from SLO.metadata, else (missing or None there) from the request's metadata."""
    out = []
    for entity_type, entity_fields, max_field, spend_field, reset_field in _BUDGETS:
        entity = None
        for field in entity_fields:
            value = slo_meta.get(field)
            if value is None:
                value = params_meta.get(field)
            if isinstance(value, str) and value:
                entity = value
                break
        if entity is None:
            continue
        value = slo_meta.get(max_field)
        maximum = number(params_meta.get(max_field) if value is None else value)
        if maximum is None or maximum < 0:
            continue
        spend = None
        if spend_field:
            value = slo_meta.get(spend_field)
            spend = number(params_meta.get(spend_field) if value is None else value)
        reset_at = None
        if reset_field:
            value = slo_meta.get(reset_field)
            reset_at = moment(params_meta.get(reset_field) if value is None else value)
        reading = _blank(BudgetReading)
        BudgetReading.__init__(
            reading,
            entity_type=entity_type,
            entity=entity,
            max_usd=maximum,
            remaining_usd=None if spend is None else maximum - spend - (cost or 0.0),
            reset_at=reset_at,
        )
        out.append(reading)
    return out


@dataclass(slots=True)
class BudgetSighting:
    """What one request's metadata says of an entity's spend: worker/budgets.py sees a reset when, between two
    requests for the same entity, the reset time moved forward or the spend dropped."""

    entity_type: str  # key, user, team, end_user
    ident: str  # at most MAX_BUDGET_ID characters: bounded work on hostile metadata
    spend: float | None
    reset_at: str | None  # the next reset time, as comparable text (reset_stamp)


MAX_BUDGET_ID = 256
# entity type -> id field, spend field, reset-time field (keys only). Keys by hash here: a reset is counted, never
# labelled with the key.
_RESET_FIELDS = (
    ("key", "user_api_key_hash", "user_api_key_spend", "user_api_key_budget_reset_at"),
    ("user", "user_api_key_user_id", "user_api_key_user_spend", None),
    ("team", "user_api_key_team_id", "user_api_key_team_spend", None),
    ("end_user", "user_api_key_end_user_id", "user_api_key_end_user_spend", None),
)


def reset_stamp(value: object) -> str | None:
    """A reset time as comparable text (ISO strings and datetimes sort in time order)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value[:64]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return None if isinstance(value, int) and abs(value) > 10**18 else repr(value)
    isoformat = getattr(value, "isoformat", None)
    try:
        return str(isoformat())[:64] if callable(isoformat) else None
    except Exception:
        return None


def budget_sightings(metadata: Mapping[str, Any]) -> list[BudgetSighting]:
    """The entities a request's metadata names (by id), with their spend and next reset time."""
    out = []
    for entity_type, id_field, spend_field, reset_field in _RESET_FIELDS:
        ident = metadata.get(id_field)
        if not isinstance(ident, str) or not ident:
            continue
        sighting = _blank(BudgetSighting)
        BudgetSighting.__init__(
            sighting,
            entity_type=entity_type,
            ident=ident[:MAX_BUDGET_ID],
            spend=number(metadata.get(spend_field)),
            reset_at=reset_stamp(metadata.get(reset_field)) if reset_field else None,
        )
        out.append(sighting)
    return out


@dataclass(slots=True)
class RequestStart:
    """async_pre_call_hook: a client request entered the proxy."""

    call_id: object
    model: object  # the model group the client asked for
    endpoint: str  # catalogue.ENDPOINTS
    callers: Callers  # raw values of the enabled caller dimensions (callers.py)


@dataclass(slots=True)
class AttemptStart:
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
    endpoint: str  # catalogue.ENDPOINTS: what the client called
    callers: Callers  # raw values of the enabled caller dimensions (callers.py)
    deployment: object
    started: float | None  # the upstream call's start (epoch seconds)
    ended: float | None
    first_token: float | None  # streams only
    overhead: float | None  # seconds LiteLLM added (non-streamed successes carry it)
    stream: bool
    cache_hit: bool
    # amounts (each None when absent or bad, a bad one named in `problems`)
    prompt_tokens: float | None
    completion_tokens: float | None
    cached_tokens: float | None
    reasoning_tokens: float | None
    cache_creation_tokens: float | None
    audio_input_tokens: float | None
    audio_output_tokens: float | None
    cost: float | None
    retries: float | None
    # the upstream's x-ratelimit headers
    requests_remaining: float | None
    requests_limit: float | None
    tokens_remaining: float | None
    tokens_limit: float | None
    problems: list[str]  # amounts left out as bad
    guardrails: list[GuardrailRun]
    budgets: list[BudgetReading]  # not for cache hits
    budget_sightings: list[BudgetSighting]  # not for cache hits

    @property
    def ratelimit(self) -> tuple[float | None, float | None, float | None, float | None]:
        """The x-ratelimit header values, in RATELIMIT_HEADERS' order."""
        return self.requests_remaining, self.requests_limit, self.tokens_remaining, self.tokens_limit


@dataclass(slots=True)
class Failure:
    """async_post_call_failure_hook: the request failed; what the client was answered."""

    call_id: object
    model: object  # the model group the client asked for
    provider: object
    team: object
    endpoint: str  # catalogue.ENDPOINTS
    callers: Callers
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


def request_start(data: object, call_type: object = None, dimensions: tuple[str, ...] = ()) -> RequestStart:
    fields = mapping(data)
    meta = callers_mod.request_metadata(fields)
    return RequestStart(
        call_id=fields.get("litellm_call_id"),
        model=fields.get("model"),
        endpoint=endpoints.endpoint(meta.get("user_api_key_request_route"), call_type),
        callers=callers_mod.callers(meta, dimensions),
    )


def attempt_start(kwargs: object) -> AttemptStart:
    fields = mapping(kwargs)
    params = mapping(fields.get("litellm_params"))
    # /v1/messages and /v1/responses keep the router's metadata under litellm_metadata
    meta = mapping(params.get("metadata")) or mapping(params.get("litellm_metadata"))
    return AttemptStart(
        call_id=fields.get("litellm_call_id"),
        provider=fields.get("custom_llm_provider") or params.get("custom_llm_provider"),
        model_group=meta.get("model_group"),
        deployment=deployment_name(
            mapping(params.get("model_info")).get("id"),
            meta.get("deployment") or fields.get("model"),
            params.get("api_base"),
        ),
    )


def success(kwargs: object, dimensions: tuple[str, ...] = ()) -> Success:
    fields = mapping(kwargs)
    slo = mapping(fields.get("standard_logging_object"))
    params = mapping(fields.get("litellm_params"))
    meta = mapping(params.get("metadata"))
    slo_meta = mapping(slo.get("metadata"))
    requested = meta.get("original_model_group")
    started, ended = epoch(slo.get("startTime")), epoch(slo.get("endTime"))
    if started is None and "start_time" in fields:
        started = epoch(fields.get("start_time"))
    stream = slo.get("stream") is True or fields.get("stream") is True
    cache_hit = (slo.get("cache_hit") if "cache_hit" in slo else fields.get("cache_hit")) is True
    usage = mapping(slo_meta.get("usage_object"))
    details = mapping(usage.get("prompt_tokens_details"))
    completion_details = mapping(usage.get("completion_tokens_details"))
    hidden = mapping(slo.get("hidden_params"))
    headers = mapping(hidden.get("additional_headers"))
    overhead = number(hidden.get("litellm_overhead_time_ms"))
    cache_creation = usage.get("cache_creation_input_tokens")
    if cache_creation is None:
        cache_creation = details.get("cache_creation_tokens")
    problems: list[str] = []  # filled in this order: the first bad amount is the one logged
    cost = amount(slo.get("response_cost"), "response_cost", problems)
    o = _blank(Success)
    Success.__init__(
        o,
        call_id=fields.get("litellm_call_id"),
        provider=slo.get("custom_llm_provider") or fields.get("custom_llm_provider"),
        model_group=slo.get("model_group") or meta.get("model_group"),
        requested=requested if requested and requested != slo.get("model_group") else None,
        team=slo_meta.get("user_api_key_team_alias") or slo_meta.get("user_api_key_team_id"),
        endpoint=endpoints.endpoint(slo_meta.get("user_api_key_request_route"), slo.get("call_type")),
        callers=callers_mod.callers(callers_mod.request_metadata(params), dimensions)
        if dimensions
        else callers_mod.NONE,
        deployment=deployment_name(slo.get("model_id"), slo.get("model"), slo.get("api_base")),
        started=started,
        ended=ended,
        first_token=epoch(slo.get("completionStartTime")) if stream else None,
        overhead=overhead / 1000.0 if overhead is not None and overhead >= 0 else None,
        stream=stream,
        cache_hit=cache_hit,
        prompt_tokens=amount(slo.get("prompt_tokens"), "prompt_tokens", problems),
        completion_tokens=amount(slo.get("completion_tokens"), "completion_tokens", problems),
        cached_tokens=amount(details.get("cached_tokens"), "cached_tokens", problems),
        retries=amount(meta.get("attempted_retries"), "attempted_retries", problems),
        reasoning_tokens=amount(completion_details.get("reasoning_tokens"), "reasoning_tokens", problems),
        cache_creation_tokens=amount(cache_creation, "cache_creation_input_tokens", problems),
        audio_input_tokens=amount(details.get("audio_tokens"), "audio_input_tokens", problems),
        audio_output_tokens=amount(completion_details.get("audio_tokens"), "audio_output_tokens", problems),
        cost=cost,
        requests_remaining=header_value(headers.get("x_ratelimit_remaining_requests")),
        requests_limit=header_value(headers.get("x_ratelimit_limit_requests")),
        tokens_remaining=header_value(headers.get("x_ratelimit_remaining_tokens")),
        tokens_limit=header_value(headers.get("x_ratelimit_limit_tokens")),
        problems=problems,
        guardrails=guardrail_runs(slo) if slo.get("guardrail_information") else [],
        budgets=budget_readings(slo_meta, meta, cost) if not cache_hit else [],
        budget_sightings=budget_sightings(slo_meta) if not cache_hit else [],
    )
    return o


def team_of(user: object) -> object:
    """The team of a key's auth object: its alias, else its id."""
    return getattr(user, "team_alias", None) or getattr(user, "team_id", None)


def failure(request_data: object, exc: object, user: object, dimensions: tuple[str, ...] = ()) -> Failure:
    fields = mapping(request_data)
    code = error_types.status_code(exc)
    meta = callers_mod.request_metadata(fields)
    problems: list[str] = []
    retries = amount(meta.get("attempted_retries"), "attempted_retries", problems)
    return Failure(
        call_id=fields.get("litellm_call_id"),
        model=fields.get("model"),
        provider=getattr(exc, "llm_provider", None) or None,
        team=team_of(user),
        endpoint=endpoints.endpoint(meta.get("user_api_key_request_route"), fields.get("call_type")),
        callers=callers_mod.callers(meta, dimensions),
        status_code=code,
        error_type=error_types.error_type(exc, code),
        retries=retries,
        retries_group=meta.get("model_group") or fields.get("model"),
        problems=problems,
    )


def failed_attempt(request_data: object, exc: object) -> FailedAttempt:
    fields = mapping(request_data)
    meta = mapping(fields.get("metadata")) or mapping(fields.get("litellm_metadata"))
    provider = getattr(exc, "llm_provider", None)
    if not provider:  # "openai/fake-ok": the provider is the deployment's prefix
        deployment = fields.get("model")
        provider = deployment.split("/", 1)[0] if isinstance(deployment, str) and "/" in deployment else None
    code = error_types.status_code(exc)
    details = mapping(getattr(fields.get("litellm_logging_obj"), "model_call_details", None))
    o = _blank(FailedAttempt)
    FailedAttempt.__init__(
        o,
        call_id=fields.get("litellm_call_id"),
        provider=provider,
        model_group=meta.get("model_group"),
        deployment=deployment_name(
            mapping(fields.get("model_info")).get("id"), fields.get("model"), fields.get("api_base")
        ),
        status_code=code,
        error_type=error_types.error_type(exc, code),
        began=epoch(details.get("api_call_start_time")),
    )
    return o


@dataclass(slots=True)
class FailureEvent:
    """async_log_failure_event: not a count (it fires once for several attempts on some paths), but it says why a
    request failed, and carries the guardrail runs of a request a guardrail blocked."""

    call_id: object
    error: object
    guardrails: list[GuardrailRun]


def failure_event(kwargs: object) -> FailureEvent:
    fields = mapping(kwargs)
    slo = mapping(fields.get("standard_logging_object"))
    return FailureEvent(
        call_id=fields.get("litellm_call_id"),
        error=fields.get("exception"),
        guardrails=guardrail_runs(slo) if slo.get("guardrail_information") else [],
    )


# How a stream item carries an error in-band: SSE frames (/v1/messages), Responses API events
_ERROR_FRAMES = (
    b"event: error",
    b"event:error",
    b'"type":"error"',
    b'"type": "error"',
    b"response.failed",
    b'data: {"error"',
)


def stream_error(item: object) -> bool:
    """Whether a stream item carries an error in-band: an SSE frame (bytes or text, /v1/messages) or a
    Responses API event of type `error` or `response.failed`."""
    if isinstance(item, (bytes, str)):
        raw = item.encode(errors="replace") if isinstance(item, str) else item
        return any(marker in raw for marker in _ERROR_FRAMES)
    kind = getattr(item, "type", None)
    return kind == "error" or kind == "response.failed"


def fallback(original_model_group: object, kwargs: object, success: bool) -> Fallback:
    fields = mapping(kwargs)
    return Fallback(
        from_group=original_model_group,
        to_group=fields.get("model") or mapping(fields.get("metadata")).get("model_group"),
        success=success,
    )
