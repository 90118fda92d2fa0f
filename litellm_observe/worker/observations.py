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

Observations are dataclasses with named fields, read by name, but for a request's budget readings and sightings:
plain tuples, several per request, unpacked in the order their FIELDS constants give (BudgetReading). The ones
built on every event are built with positional arguments, one per line in field order, each line ending in a
comment that names its field (tests/worker/test_observations.py checks the names against the fields, and a
BudgetReading's against BUDGET_READING_FIELDS; a BudgetSighting's four fields fit on one line, in order too): in
CPython 3.11 a call with 31 keywords matches each name against the parameters one by one, 1.6 µs for Success
against 0.3 µs positionally. FailureEvent too (every failed request has one); Fallback (an event most requests never
have) is built with keywords.

What an observation holds is tuples, not lists (its problems, guardrail runs, budget readings and sightings; an
empty one is the shared `()`): in batches an observation waits up to a second (logger.py), and a batch's lists,
hundreds alive at once, set off Python's cyclic collector: young collections, which moved them to older
generations, and full ones, which walk all of LiteLLM's objects. A tuple of text and numbers the collector stops
tracking, and CPython reuses small tuples from free lists its allocation count does not see. Over 200,000 requests
of bench_events.py's replay: 1,430 young, 130 middle and 2 full collections, 3.0 µs a request, with lists; 10, 1
and none with tuples (2026-12-07, benchmarks/README.md).

Over 300 lines for a reason: this file is the payload contract, every field read from LiteLLM's hook
arguments in one place (budget resets' fields too, worker/budgets.py); splitting it would split the
contract. Two readers it calls keep their own tables: endpoints.py (the route and call type -> endpoint) and
callers.py (the request metadata's caller fields, only for the dimensions a proxy turned on).
"""

from __future__ import annotations

import datetime
import functools
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import callers as callers_mod
from . import endpoints, error_types
from .callers import Callers

RATELIMIT_HEADERS = (
    "x_ratelimit_remaining_requests",
    "x_ratelimit_limit_requests",
    "x_ratelimit_remaining_tokens",
    "x_ratelimit_limit_tokens",
)
_EMPTY: Mapping[str, Any] = {}
_FLOAT_INT = 10**308  # an int up to this has a float (float() overflows past about 1.8e308)
_FLOAT_INT_MIN = -_FLOAT_INT  # a constant: `-_FLOAT_INT` in a test builds a 309-digit int each time


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
    if type(value) is float and value - value == 0.0:  # number()'s first answer, inline (a start, an end: each event)
        return value
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
    # the common cases inline (a token count, a cost: 2 % of a success request's instructions); the same answer as
    # number() below gives, property-tested (tests/worker/test_observations.py)
    kind = type(value)
    if kind is int:
        if 0 <= value <= _FLOAT_INT:  # type: ignore[operator]
            return float(value)  # type: ignore[arg-type]
    elif kind is float and value >= 0.0 and value - value == 0.0:  # type: ignore[operator]  # finite, not negative
        return value  # type: ignore[return-value]
    n = number(value)
    if n is None or n < 0:
        problems.append(f"{name}: negative, not finite or not a number: {str(value)[:40]!r}")
        return None
    return n


def header_value(value: object) -> float | None:
    """An x-ratelimit header as LiteLLM passes it on: an int, or digits in a string."""
    if value is None:
        return None
    if type(value) is int and _FLOAT_INT_MIN <= value <= _FLOAT_INT:  # number()'s answer for an int, inline
        return float(value)
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


def guardrail_runs(slo: Mapping[str, Any]) -> tuple[GuardrailRun, ...]:
    """The guardrail runs an event carries (LiteLLM records them for its built-in guardrails and for
    custom ones decorated with @log_guardrail_information); `not_run` and unknown statuses are left out."""
    info = slo.get("guardrail_information")
    if isinstance(info, Mapping):
        info = [info]
    if not isinstance(info, list):
        return ()
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
        run = GuardrailRun(  # positional, in field order (module docstring)
            entry.get("guardrail_name"),  # name
            mode if isinstance(mode, str) else None,  # hook
            outcome,  # outcome
            duration if duration is not None and duration >= 0 else None,  # duration
            number(entry.get("start_time")),  # started
        )
        out.append(run)
    return tuple(out)


# A budget's gauges, where metadata carries a maximum: a plain tuple, its fields in BUDGET_READING_FIELDS' order,
#   entity_type    team, key, user, end_user
#   entity         its alias or id (text: observations never read another type)
#   max_usd
#   remaining_usd  max minus (spend carried + this request's cost); None when spend is unknown
#   reset_at       epoch seconds of the next reset
# Budget readings and sightings are tuples, not dataclasses, and are read by unpacking in that order: a request
# carries several, and a tuple is built without a Python call (three budgets a request: about 9,000 instructions
# fewer, 4 % of a success request; bench_events.py --instructions, benchmarks/README.md).
BUDGET_READING_FIELDS = ("entity_type", "entity", "max_usd", "remaining_usd", "reset_at")
BudgetReading = tuple[str, str, float, float | None, float | None]


# The budget fields of SLO.metadata, read in one step (_slo_budget_fields). LiteLLM's get_standard_logging_metadata
# writes every one of them (None when unset) on every version of the matrix; a payload that lacks one is read field
# by field, with the same result (tests/worker/test_observations.py).
_SLO_BUDGET_FIELDS = (
    "user_api_key_team_alias",
    "user_api_key_team_id",
    "user_api_key_team_max_budget",
    "user_api_key_team_spend",
    "user_api_key_alias",
    "user_api_key_hash",
    "user_api_key_max_budget",
    "user_api_key_spend",
    "user_api_key_budget_reset_at",
    "user_api_key_user_id",
    "user_api_key_user_max_budget",
    "user_api_key_user_spend",
    "user_api_key_end_user_id",
)
_slo_budget_getter = operator.itemgetter(*_SLO_BUDGET_FIELDS)


def _slo_budget_fields(meta: Mapping[str, Any]) -> tuple[Any, ...]:
    """The values of _SLO_BUDGET_FIELDS in `meta`, in that order (None for a missing one). One C call on a plain
    dict that has them all; field by field otherwise (never item access on another mapping: a defaultdict would
    grow keys in LiteLLM's payload)."""
    if type(meta) is dict:
        try:
            return _slo_budget_getter(meta)  # type: ignore[no-any-return]
        except KeyError:
            pass
    get = meta.get
    return tuple(get(field) for field in _SLO_BUDGET_FIELDS)


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


# What one request's metadata says of an entity's spend (worker/budgets.py sees a reset when, between two requests
# for the same entity, the reset time moved forward or the spend dropped): a plain tuple, as BudgetReading,
#   entity_type  key, user, team, end_user
#   ident        at most MAX_BUDGET_ID characters: bounded work on hostile metadata
#   spend
#   reset_at     the next reset time, as comparable text (reset_stamp)
BUDGET_SIGHTING_FIELDS = ("entity_type", "ident", "spend", "reset_at")
BudgetSighting = tuple[str, str, float | None, str | None]


MAX_BUDGET_ID = 256
# Keys by hash here: a reset is counted, never labelled with the key. Only keys carry a reset time.


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


def budgets(
    slo_meta: Mapping[str, Any],
    params_meta: Mapping[str, Any],
    cost: float | None,
) -> tuple[tuple[BudgetReading, ...], tuple[BudgetSighting, ...]]:
    """A request's budget readings and sightings, read together (one unpacking of the fields both read).

    The readings: budgets of the request's team, key (by alias only), user and end user, where metadata carries a
    maximum, in that order. A field is read from SLO.metadata, else (missing or None there) from the request's
    metadata (where LiteLLM puts team and user reset times and the end user's maximum). An entity's alias or id is
    text that is not empty; a maximum is a number (number()) that is not negative; remaining is maximum minus
    (spend carried + `cost`), None when the spend is not a number; the reset time is moment()'s.

    The sightings: the entities SLO.metadata (only it) names by id, with their spend (number()) and, for keys, the
    next reset time (reset_stamp()): key, user, team, end user, in that order; an id cut to MAX_BUDGET_ID.

    SLO.metadata's fields read in one step (_slo_budget_fields). Written out per entity, not as a loop over a table
    of fields: a table-driven version measured 2.9 µs a call against 1.9 for the readings alone
    (2026-12-06); the name checks, number()'s and moment()'s first answers inline (a finite float; reset text),
    not in calls: these run on every success event that is not a cache hit (benchmarks/README.md, 2026-12-08).
    tests/worker/test_observations.py holds both to the tables this docstring gives."""
    (
        team_alias,
        team_id,
        team_max,
        team_spend,
        key_alias,
        key_hash,
        key_max,
        key_spend,
        key_reset,
        user_id,
        user_max,
        user_spend,
        end_user_id,
    ) = _slo_budget_fields(slo_meta)
    get, slo_get = params_meta.get, slo_meta.get
    spent = cost or 0.0
    readings: list[BudgetReading] = []
    team = team_alias if team_alias is not None else get("user_api_key_team_alias")
    if not (isinstance(team, str) and team):
        team = team_id if team_id is not None else get("user_api_key_team_id")
    if isinstance(team, str) and team:
        raw = team_max if team_max is not None else get("user_api_key_team_max_budget")
        maximum = raw if type(raw) is float and raw - raw == 0.0 else number(raw)
        if maximum is not None and maximum >= 0:
            raw = team_spend if team_spend is not None else get("user_api_key_team_spend")
            spend = raw if type(raw) is float and raw - raw == 0.0 else number(raw)
            reset = slo_get("user_api_key_team_budget_reset_at")
            if reset is None:
                reset = get("user_api_key_team_budget_reset_at")
            readings.append(
                (  # a BudgetReading, in BUDGET_READING_FIELDS' order
                    "team",  # entity_type
                    team,  # entity
                    maximum,  # max_usd
                    None if spend is None else maximum - spend - spent,  # remaining_usd
                    None  # reset_at
                    if reset is None
                    else _iso_moment(reset)
                    if type(reset) is str and 0 < len(reset) <= 64
                    else moment(reset),
                )
            )
    key = key_alias if key_alias is not None else get("user_api_key_alias")
    if isinstance(key, str) and key:
        raw = key_max if key_max is not None else get("user_api_key_max_budget")
        maximum = raw if type(raw) is float and raw - raw == 0.0 else number(raw)
        if maximum is not None and maximum >= 0:
            raw = key_spend if key_spend is not None else get("user_api_key_spend")
            spend = raw if type(raw) is float and raw - raw == 0.0 else number(raw)
            reset = key_reset if key_reset is not None else get("user_api_key_budget_reset_at")
            readings.append(
                (
                    "key",
                    key,
                    maximum,
                    None if spend is None else maximum - spend - spent,
                    None
                    if reset is None
                    else _iso_moment(reset)
                    if type(reset) is str and 0 < len(reset) <= 64
                    else moment(reset),
                )
            )
    user = user_id if user_id is not None else get("user_api_key_user_id")
    if isinstance(user, str) and user:
        raw = user_max if user_max is not None else get("user_api_key_user_max_budget")
        maximum = raw if type(raw) is float and raw - raw == 0.0 else number(raw)
        if maximum is not None and maximum >= 0:
            raw = user_spend if user_spend is not None else get("user_api_key_user_spend")
            spend = raw if type(raw) is float and raw - raw == 0.0 else number(raw)
            reset = slo_get("user_api_key_user_budget_reset_at")
            if reset is None:
                reset = get("user_api_key_user_budget_reset_at")
            readings.append(
                (
                    "user",
                    user,
                    maximum,
                    None if spend is None else maximum - spend - spent,
                    None
                    if reset is None
                    else _iso_moment(reset)
                    if type(reset) is str and 0 < len(reset) <= 64
                    else moment(reset),
                )
            )
    end_user = end_user_id if end_user_id is not None else get("user_api_key_end_user_id")
    if isinstance(end_user, str) and end_user:
        raw = slo_get("user_api_end_user_max_budget")
        if raw is None:
            raw = get("user_api_end_user_max_budget")
        maximum = raw if type(raw) is float and raw - raw == 0.0 else number(raw)
        if maximum is not None and maximum >= 0:
            readings.append(("end_user", end_user, maximum, None, None))
    sightings: list[BudgetSighting] = []  # each in BUDGET_SIGHTING_FIELDS' order
    if isinstance(key_hash, str) and key_hash:
        spend = key_spend if type(key_spend) is float and key_spend - key_spend == 0.0 else number(key_spend)
        reset = key_reset[:64] if type(key_reset) is str and key_reset else reset_stamp(key_reset)
        sightings.append(("key", key_hash[:MAX_BUDGET_ID], spend, reset))
    if isinstance(user_id, str) and user_id:
        spend = user_spend if type(user_spend) is float and user_spend - user_spend == 0.0 else number(user_spend)
        sightings.append(("user", user_id[:MAX_BUDGET_ID], spend, None))
    if isinstance(team_id, str) and team_id:
        spend = team_spend if type(team_spend) is float and team_spend - team_spend == 0.0 else number(team_spend)
        sightings.append(("team", team_id[:MAX_BUDGET_ID], spend, None))
    if isinstance(end_user_id, str) and end_user_id:
        sightings.append(
            ("end_user", end_user_id[:MAX_BUDGET_ID], number(slo_get("user_api_key_end_user_spend")), None)
        )
    return tuple(readings), tuple(sightings)


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
    route: object  # the route the client called and LiteLLM's call type: `endpoint`'s raw values
    call_type: object
    callers: Callers  # raw values of the enabled caller dimensions (callers.py)
    model_id: object  # the deployment's model_info id, model and api_base: `deployment`'s raw values
    model: object
    api_base: object
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
    retries: float | None  # the router's retries of the request (metadata's attempted_retries)
    reasoning_tokens: float | None
    cache_creation_tokens: float | None
    audio_input_tokens: float | None
    audio_output_tokens: float | None
    cost: float | None
    # the upstream's x-ratelimit headers
    requests_remaining: float | None
    requests_limit: float | None
    tokens_remaining: float | None
    tokens_limit: float | None
    problems: Sequence[str]  # amounts left out as bad
    guardrails: tuple[GuardrailRun, ...]
    budgets: tuple[BudgetReading, ...]  # not for cache hits
    budget_sightings: tuple[BudgetSighting, ...]  # not for cache hits

    @property
    def ratelimit(self) -> tuple[float | None, float | None, float | None, float | None]:
        """The x-ratelimit header values, in RATELIMIT_HEADERS' order."""
        return self.requests_remaining, self.requests_limit, self.tokens_remaining, self.tokens_limit

    @property
    def endpoint(self) -> str:
        """catalogue.ENDPOINTS: what the client called. Worked out when asked: a request whose start this process
        saw has its endpoint already (recording.py asks only for the others)."""
        return endpoints.endpoint(self.route, self.call_type)

    @property
    def deployment(self) -> object:
        """The deployment's label value (deployment_name); worked out when asked, as `endpoint`: recording.py finds
        a success's series by the raw values and names the deployment only when it labels them."""
        return deployment_name(self.model_id, self.model, self.api_base)


@dataclass(slots=True)
class Failure:
    """async_post_call_failure_hook: the request failed; what the client was answered."""

    call_id: object
    model: object  # the model group the client asked for
    provider: object
    team: object
    route: object  # the route the client called and LiteLLM's call type: `endpoint`'s raw values
    call_type: object
    callers: Callers
    status_code: int  # always 400..599 (error_types.status_code)
    error_type: str
    retries: float | None
    retries_group: object
    problems: Sequence[str]  # amounts left out as bad

    @property
    def endpoint(self) -> str:
        """catalogue.ENDPOINTS: what the client called. Worked out when asked, as Success's: a request whose start
        this process saw has its endpoint already (flow.py asks only for the others)."""
        return endpoints.endpoint(self.route, self.call_type)


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
    fields = data if type(data) is dict else mapping(data)  # mapping()'s first answer inline, as in success()
    # callers.request_metadata()'s first answer inline (the request data's metadata, a dict)
    meta = v if type(v := fields.get("metadata")) is dict and v else callers_mod.request_metadata(fields)
    return RequestStart(  # positional, in field order (module docstring)
        fields.get("litellm_call_id"),  # call_id
        fields.get("model"),  # model
        endpoints.endpoint(meta.get("user_api_key_request_route"), call_type),  # endpoint
        callers_mod.callers(meta, dimensions) if dimensions else callers_mod.NONE,  # callers
    )


def attempt_start(kwargs: object) -> AttemptStart:
    fields = mapping(kwargs)
    params = mapping(fields.get("litellm_params"))
    # /v1/messages and /v1/responses keep the router's metadata under litellm_metadata
    meta = mapping(params.get("metadata")) or mapping(params.get("litellm_metadata"))
    return AttemptStart(  # positional, in field order (module docstring)
        fields.get("litellm_call_id"),  # call_id
        fields.get("custom_llm_provider") or params.get("custom_llm_provider"),  # provider
        meta.get("model_group"),  # model_group
        deployment_name(  # deployment
            mapping(params.get("model_info")).get("id"),
            meta.get("deployment") or fields.get("model"),
            params.get("api_base"),
        ),
    )


def success(kwargs: object, dimensions: tuple[str, ...] = ()) -> Success:
    fields = mapping(kwargs)
    # mapping()'s first answer inline for the plain dicts LiteLLM hands us: nine calls a request fewer, 1 % of its
    # instructions (bench_events.py --instructions)
    slo = v if type(v := fields.get("standard_logging_object")) is dict else mapping(v)
    params = v if type(v := fields.get("litellm_params")) is dict else mapping(v)
    meta = v if type(v := params.get("metadata")) is dict else mapping(v)
    slo_meta = v if type(v := slo.get("metadata")) is dict else mapping(v)
    requested = meta.get("original_model_group")
    # epoch()'s first answer inline (LiteLLM's start and end are floats): two calls a request
    started = v if type(v := slo.get("startTime")) is float and v - v == 0.0 else epoch(v)
    ended = v if type(v := slo.get("endTime")) is float and v - v == 0.0 else epoch(v)
    if started is None and "start_time" in fields:
        started = epoch(fields.get("start_time"))
    stream = slo.get("stream") is True or fields.get("stream") is True
    cache_hit = (slo.get("cache_hit") if "cache_hit" in slo else fields.get("cache_hit")) is True
    usage = v if type(v := slo_meta.get("usage_object")) is dict else mapping(v)
    details = v if type(v := usage.get("prompt_tokens_details")) is dict else mapping(v)
    completion_details = v if type(v := usage.get("completion_tokens_details")) is dict else mapping(v)
    hidden = v if type(v := slo.get("hidden_params")) is dict else mapping(v)
    headers = v if type(v := hidden.get("additional_headers")) is dict else mapping(v)
    overhead = number(hidden.get("litellm_overhead_time_ms"))
    cache_creation = usage.get("cache_creation_input_tokens")
    if cache_creation is None:
        cache_creation = details.get("cache_creation_tokens")
    # amounts most requests lack: amount()'s first answer (None) without the call
    reasoning, audio_in = completion_details.get("reasoning_tokens"), details.get("audio_tokens")
    audio_out = completion_details.get("audio_tokens")
    problems: list[str] = []  # filled in this order: the first bad amount is the one logged
    # amount()'s answer for a finite float that is not negative inline (a cost), as for the counts below
    cost = (
        v
        if type(v := slo.get("response_cost")) is float and v >= 0.0 and v - v == 0.0
        else amount(v, "response_cost", problems)
    )
    budget_readings, budget_sightings = ((), ()) if cache_hit else budgets(slo_meta, meta, cost)
    return Success(  # positional, in field order (module docstring): each line names its field
        fields.get("litellm_call_id"),  # call_id
        slo.get("custom_llm_provider") or fields.get("custom_llm_provider"),  # provider
        slo.get("model_group") or meta.get("model_group"),  # model_group
        requested if requested and requested != slo.get("model_group") else None,  # requested
        slo_meta.get("user_api_key_team_alias") or slo_meta.get("user_api_key_team_id"),  # team
        slo_meta.get("user_api_key_request_route"),  # route
        slo.get("call_type"),  # call_type
        callers_mod.callers(callers_mod.request_metadata(params), dimensions)  # callers
        if dimensions
        else callers_mod.NONE,
        slo.get("model_id"),  # model_id
        slo.get("model"),  # model
        slo.get("api_base"),  # api_base
        started,  # started
        ended,  # ended
        epoch(slo.get("completionStartTime")) if stream else None,  # first_token
        overhead / 1000.0 if overhead is not None and overhead >= 0 else None,  # overhead
        stream,  # stream
        cache_hit,  # cache_hit
        # amount()'s answer for a whole number inline (a token count, the router's retries), for the four counts
        float(v)  # prompt_tokens
        if type(v := slo.get("prompt_tokens")) is int and 0 <= v <= _FLOAT_INT
        else amount(v, "prompt_tokens", problems),
        float(v)  # completion_tokens
        if type(v := slo.get("completion_tokens")) is int and 0 <= v <= _FLOAT_INT
        else amount(v, "completion_tokens", problems),
        float(v)  # cached_tokens
        if type(v := details.get("cached_tokens")) is int and 0 <= v <= _FLOAT_INT
        else amount(v, "cached_tokens", problems),
        float(v)  # retries
        if type(v := meta.get("attempted_retries")) is int and 0 <= v <= _FLOAT_INT
        else amount(v, "attempted_retries", problems),
        None if reasoning is None else amount(reasoning, "reasoning_tokens", problems),  # reasoning_tokens
        None  # cache_creation_tokens
        if cache_creation is None
        else amount(cache_creation, "cache_creation_input_tokens", problems),
        None if audio_in is None else amount(audio_in, "audio_input_tokens", problems),  # audio_input_tokens
        None if audio_out is None else amount(audio_out, "audio_output_tokens", problems),  # audio_output_tokens
        cost,  # cost
        # header_value()'s answer for an int inline (what LiteLLM passes on), for each header
        float(v)  # requests_remaining
        if type(v := headers.get("x_ratelimit_remaining_requests")) is int and _FLOAT_INT_MIN <= v <= _FLOAT_INT
        else header_value(v),
        float(v)  # requests_limit
        if type(v := headers.get("x_ratelimit_limit_requests")) is int and _FLOAT_INT_MIN <= v <= _FLOAT_INT
        else header_value(v),
        float(v)  # tokens_remaining
        if type(v := headers.get("x_ratelimit_remaining_tokens")) is int and _FLOAT_INT_MIN <= v <= _FLOAT_INT
        else header_value(v),
        float(v)  # tokens_limit
        if type(v := headers.get("x_ratelimit_limit_tokens")) is int and _FLOAT_INT_MIN <= v <= _FLOAT_INT
        else header_value(v),
        # (every amount() above has run by now, each adding its problem, if any)
        problems or (),  # problems
        guardrail_runs(slo) if slo.get("guardrail_information") else (),  # guardrails
        budget_readings,  # budgets
        budget_sightings,  # budget_sightings
    )


def team_of(user: object) -> object:
    """The team of a key's auth object: its alias, else its id."""
    return getattr(user, "team_alias", None) or getattr(user, "team_id", None)


# The failure readers below answer what LiteLLM's payloads and exceptions carry without a call, each the first answer
# of the general function it stands for (tests/worker/test_observations.py holds them to those functions):
# - mapping(x): x when a dict; callers.request_metadata(fields): fields["metadata"] when a non-empty dict;
# - error_types.status_code(exc): exc.status_code when an int (not a bool, not a subclass) in 400..599, as LiteLLM's
#   exceptions carry it (a miss reads it again there: an attribute, read twice);
# - error_types.error_type(exc, code): BY_CLASS of exc's own class, the first of its MRO (for every class whose
#   metaclass does not reorder mro()), when named there;
# - amount(v, ...): float(v) for an int 0..10**308 (a count of retries), as in success();
# - team_of(user), epoch(None), mapping(None).get(key): written out (None without the logging object's details or
#   the deployment's model_info).


def failure(request_data: object, exc: object, user: object, dimensions: tuple[str, ...] = ()) -> Failure:
    fields = request_data if type(request_data) is dict else mapping(request_data)
    raw = getattr(exc, "status_code", None)
    code = raw if type(raw) is int and 400 <= raw <= 599 else error_types.status_code(exc)
    meta = v if type(v := fields.get("metadata")) is dict and v else callers_mod.request_metadata(fields)
    problems: list[str] = []
    retries = (
        float(v)
        if type(v := meta.get("attempted_retries")) is int and 0 <= v <= _FLOAT_INT
        else amount(v, "attempted_retries", problems)
    )
    return Failure(  # positional, in field order (module docstring)
        fields.get("litellm_call_id"),  # call_id
        fields.get("model"),  # model
        getattr(exc, "llm_provider", None) or None,  # provider
        getattr(user, "team_alias", None) or getattr(user, "team_id", None),  # team
        meta.get("user_api_key_request_route"),  # route
        fields.get("call_type"),  # call_type
        callers_mod.callers(meta, dimensions) if dimensions else callers_mod.NONE,  # callers
        code,  # status_code
        v if (v := error_types.BY_CLASS.get(type(exc).__name__)) else error_types.error_type(exc, code),  # error_type
        retries,  # retries
        meta.get("model_group") or fields.get("model"),  # retries_group
        problems or (),  # problems
    )


def failed_attempt(request_data: object, exc: object) -> FailedAttempt:
    fields = request_data if type(request_data) is dict else mapping(request_data)
    meta = (
        v if type(v := fields.get("metadata")) is dict and v else mapping(v) or mapping(fields.get("litellm_metadata"))
    )
    provider = getattr(exc, "llm_provider", None)
    if not provider:  # "openai/fake-ok": the provider is the deployment's prefix
        deployment = fields.get("model")
        provider = deployment.split("/", 1)[0] if isinstance(deployment, str) and "/" in deployment else None
    raw = getattr(exc, "status_code", None)
    code = raw if type(raw) is int and 400 <= raw <= 599 else error_types.status_code(exc)
    details = getattr(fields.get("litellm_logging_obj"), "model_call_details", None)  # None: no start time
    if details is not None and type(details) is not dict:
        details = mapping(details)
    return FailedAttempt(  # positional, in field order (module docstring)
        fields.get("litellm_call_id"),  # call_id
        provider,  # provider
        meta.get("model_group"),  # model_group
        deployment_name(  # deployment
            None if (v := fields.get("model_info")) is None else (v if type(v) is dict else mapping(v)).get("id"),
            fields.get("model"),
            fields.get("api_base"),
        ),
        code,  # status_code
        v if (v := error_types.BY_CLASS.get(type(exc).__name__)) else error_types.error_type(exc, code),  # error_type
        None if details is None else epoch(details.get("api_call_start_time")),  # began
    )


@dataclass(slots=True)
class FailureEvent:
    """async_log_failure_event: not a count (it fires once for several attempts on some paths), but it says why a
    request failed, and carries the guardrail runs of a request a guardrail blocked."""

    call_id: object
    error: object
    guardrails: tuple[GuardrailRun, ...]


def failure_event(kwargs: object) -> FailureEvent:
    fields = kwargs if type(kwargs) is dict else mapping(kwargs)  # mapping()'s first answer inline, as in success()
    slo = v if type(v := fields.get("standard_logging_object")) is dict else mapping(v)
    return FailureEvent(  # positional, in field order (module docstring)
        fields.get("litellm_call_id"),  # call_id
        fields.get("exception"),  # error
        guardrail_runs(slo) if slo.get("guardrail_information") else (),  # guardrails
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
