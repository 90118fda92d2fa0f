"""What each hook does in this worker process: per hook, a reader and a function that acts, both given the process
(process.py). The reader runs when LiteLLM calls the hook: it parses the hook's arguments (observations.py) into
what the act needs, a snapshot, since LiteLLM goes on using and changing its payloads afterwards. The act runs
then or with a later batch (logger.py): it keeps the requests in flight and decides how each ended (calls.py),
settles what is due, and has recording.py record the outcome; it touches nothing of LiteLLM's but the exception
and auth objects. No CustomLogger here: logger.py calls these through its guard, which counts and logs whatever
they raise.

Deadlines and what this process timed itself run on the monotonic clock (a wall clock step never moves
them); LiteLLM's timestamps and the gauges' `when` are wall clock. Nothing here reads a clock: the time of a
hook call is `p.mono` and `p.wall`, read when LiteLLM called the hook (logger.py sets them), so a call
recorded with a later batch is timed as when it was made.
"""

from __future__ import annotations

from collections.abc import Iterable

from . import calls
from . import observations as obs
from .deployments import Reading
from .process import WorkerProcess
from .recording import CLIENT_CLOSED, CLIENT_CLOSED_STATUS

SWEEP_SECONDS = 30.0  # how often requests that never ended are looked for


# ---- the hooks ---------------------------------------------------------------------------------------
def read_request_start(
    p: WorkerProcess, data: object, user: object, call_type: object = None
) -> tuple[obs.RequestStart, object]:
    return obs.request_start(data, call_type, p.attribution), user


def request_started(p: WorkerProcess, start: obs.RequestStart, user: object) -> None:
    """async_pre_call_hook: the request counts in flight until its stream or the request ends; what it called
    and who called are kept for its end."""
    now = p.mono
    call = p.calls.begin(start.call_id, now, start.model, user)
    if call is None:
        return
    call.endpoint = start.endpoint
    if start.callers:
        call.callers = start.callers
    p.recording.load(start.endpoint, 1.0, p.wall)
    if now >= p.next_sweep:
        _sweep(p, now)


def read_attempt_start(p: WorkerProcess, kwargs: object) -> tuple[obs.AttemptStart]:
    return (obs.attempt_start(kwargs),)


def attempt_started(p: WorkerProcess, start: obs.AttemptStart) -> None:
    """log_pre_api_call: once per upstream attempt (retries and fallback steps too; not for cache hits)."""
    if p.calls.known(start.call_id):
        p.calls.attempt_started(start.call_id, p.mono, (start.provider, start.model_group, start.deployment))


def read_stream_end(
    p: WorkerProcess, request_data: object, how: str, error: object, error_frame: bool
) -> tuple[object, str, object, bool]:
    return obs.mapping(request_data).get("litellm_call_id"), how, error, error_frame


def stream_ended(p: WorkerProcess, call_id: object, how: str, error: object, error_frame: bool) -> None:
    """async_post_call_streaming_iterator_hook, as the stream ends: a disconnect ends the request here."""
    now = p.mono
    call = p.calls.get(call_id)
    if call is None:
        return
    _unload(p, call)
    ended = p.calls.stream_ended(call_id, how, now, error, error_frame)
    if ended is not None:  # the client disconnected: the request ends here, as 499
        p.recording.request_failed(
            ended.model,
            ended.attempt_provider,
            obs.team_of(ended.user),
            ended.endpoint,
            ended.callers,
            CLIENT_CLOSED_STATUS,
            CLIENT_CLOSED,
            ended.started,
            now,
        )
        p.recording.retries(ended)
    settle(p, now)


def read_success(p: WorkerProcess, kwargs: object) -> tuple[obs.Success]:
    return (obs.success(kwargs, p.attribution),)


def succeeded(p: WorkerProcess, o: obs.Success) -> None:
    """async_log_success_event: ends the request, unless a disconnect or a stream that ended alone ended it
    already (LiteLLM sends a success event for billing after a client disconnect); reports its attempt."""
    mono, now = p.mono, p.wall
    book = p.calls
    if book.next_due() is not None:
        settle(p, mono)
    call = book.get(o.call_id)
    if call is None:
        request_level = not book.ended_earlier(o.call_id)
    else:
        if not o.cache_hit:
            call.succeeded += 1  # this attempt is reported (calls.py)
        request_level = book.end_call(call, calls.SUCCESS, mono) is not None
        _unload(p, call)
    if o.problems:
        _problems(p, "async_log_success_event", o.problems)
    p.recording.success(o, call, request_level, mono, now)


def read_failure_event(p: WorkerProcess, kwargs: object) -> tuple[obs.FailureEvent]:
    return (obs.failure_event(kwargs),)


def failure_reported(p: WorkerProcess, o: obs.FailureEvent) -> None:
    """async_log_failure_event: not counted (it fires once for several failed attempts, or once per attempt,
    depending on the path): only remembered, to say why a stream that ended alone failed."""
    call = p.calls.get(o.call_id)
    if call is not None and o.error is not None:  # Call.error: the last exception seen, never reset to None
        call.error = o.error
    if o.guardrails:  # a request a guardrail blocked: its runs are only here
        p.recording.guardrails(o.call_id, o.guardrails, p.mono)


def read_failure(p: WorkerProcess, request_data: object, exc: object, user: object) -> tuple[obs.Failure, object]:
    return obs.failure(request_data, exc, user, p.attribution), exc


def request_failed(p: WorkerProcess, o: obs.Failure, exc: object) -> None:
    """async_post_call_failure_hook: ends the request as failed, unless it ended already. The call is looked up
    once and handed on (CallBook.end_call), not looked up again by its id at each step."""
    now = p.mono
    book = p.calls
    if book.next_due() is not None:
        settle(p, now)
    call = book.get(o.call_id)
    if call is None and book.ended_earlier(o.call_id):
        return  # a late failure hook for a request that ended without one: counted once
    if call is not None:
        if book.end_call(call, calls.FAILURE, now) is None:
            return  # ended already (a disconnect, or a stream that ended alone): counted once
        if exc is not None:  # the error, for its attempts' settle (a call the book forgot at its end drops it)
            call.error = exc
        _unload(p, call)
    if o.problems:
        _problems(p, "async_post_call_failure_hook", o.problems)
    p.recording.request_failed(
        o.model,
        o.provider,
        o.team,
        call.endpoint if call is not None else o.endpoint,
        call.callers if call is not None else o.callers,
        o.status_code,
        o.error_type,
        call.started if call is not None else None,
        now,
    )
    if call is not None:
        p.recording.retries(call)
    elif o.retries:  # a request this process saw no start of: the router's own count
        p.recording.router_retries(o.provider, o.retries_group, o.retries)


def read_failed_attempt(p: WorkerProcess, request_data: object, exc: object) -> tuple[obs.FailedAttempt, object]:
    return obs.failed_attempt(request_data, exc), exc


def attempt_failed(p: WorkerProcess, o: obs.FailedAttempt, exc: object) -> None:
    """async_post_call_failure_deployment_hook: one upstream call failed; the router's cooldowns are read soon. The
    call is looked up once, its error kept (as failure_reported keeps it) and handed to CallBook.attempt_failed."""
    book = p.calls
    call = book.get(o.call_id)
    if call is not None and exc is not None:
        call.error = exc
    if not book.attempt_failed(call):
        return  # the same attempt reported twice (/v1/messages through the Responses API)
    p.recording.attempt_failed(o, p.wall)
    if p.cooldowns.failed(p.mono) and p.cooldowns.next_read is not None:
        p.timers.read_cooldowns_at(p.cooldowns.next_read)


def read_fallback(p: WorkerProcess, original_model_group: object, kwargs: object, success: bool) -> tuple[obs.Fallback]:
    return (obs.fallback(original_model_group, kwargs, success),)


def fell_back(p: WorkerProcess, o: obs.Fallback) -> None:
    """log_success_fallback_event, log_failure_fallback_event."""
    p.recording.fallback(o)


def cooldowns_read(p: WorkerProcess, reading: Reading) -> None:
    """A read of the router's cooldowns (the logger's read_cooldowns): recorded, and the next one scheduled."""
    now = p.wall
    for e in reading.errors:
        p.internal_error("cooldowns", e)
    p.recording.cooldowns(reading, now)
    if p.cooldowns.next_read is not None:
        p.timers.read_cooldowns_at(p.cooldowns.next_read)


# ---- in flight -----------------------------------------------------------------------------------------
def inflight(p: WorkerProcess) -> int:
    return sum(1 for call in p.calls.calls() if call.in_load)


def _unload(p: WorkerProcess, call: calls.Call) -> None:
    """The request stops counting in flight (end of stream, or its end, whichever is first)."""
    if call.in_load:
        call.in_load = False
        p.recording.load(call.endpoint, -1.0, p.wall)


def _sweep(p: WorkerProcess, now: float) -> None:
    """Requests that never ended (no event at all) stop counting in flight after the timeout."""
    p.next_sweep = now + SWEEP_SECONDS
    for call in p.calls.stale(now - p.inflight_timeout):
        _unload(p, call)


def _problems(p: WorkerProcess, hook: str, problems: Iterable[str]) -> None:
    for problem in problems:
        p.internal_error(hook, detail=problem)


# ---- what is due ---------------------------------------------------------------------------------------
def settle(p: WorkerProcess, now: float) -> None:
    """Settle what is due by `now`: at every hook, and from the settle timer when idle."""
    due = p.calls.next_due()
    if due is None:
        return  # the common case: nothing waits
    while due is not None and due <= now:  # a grace's end can make a settle due by `now` too
        for kind, call in p.calls.due(now):
            try:
                if kind == "grace":
                    _stream_ended_alone(p, call)
                else:
                    _settle_attempts(p, call)
            except Exception as e:
                p.internal_error(kind, e)
        due = p.calls.next_due()
    if due is not None:
        p.timers.settle_by(due)


def settle_now(p: WorkerProcess) -> None:
    """The settle timer fired."""
    settle(p, p.mono)


def _stream_ended_alone(p: WorkerProcess, call: calls.Call) -> None:
    """GRACE seconds after its stream ended, no terminal event came: end it from what was seen."""
    failed = call.stream_end == calls.RAISED or call.error_frame
    end = call.stream_ended_at
    assert end is not None  # only a call whose stream ended is due for its grace
    if p.calls.end(call.call_id, calls.STREAM_FAILED if failed else calls.STREAM_EMPTY, end + p.calls.grace) is None:
        return
    p.recording.retries(call)
    if failed:
        o = obs.failure({"model": call.model}, call.error, call.user)
        p.recording.request_failed(
            call.model,
            o.provider or call.attempt_provider,
            o.team,
            call.endpoint,
            call.callers,
            o.status_code,
            o.error_type,
            call.started,
            end,
        )
        return
    p.recording.stream_answered(call, end)


def _settle_attempts(p: WorkerProcess, call: calls.Call) -> None:
    """SETTLE seconds after a request ended: attempts nobody reported (a stream broken mid-way, cancelled by a
    disconnect, or ended empty) are counted now, as what ended them."""
    n = call.unreported()
    if not n:
        return
    if call.ended == calls.DISCONNECT:
        code, error_type = CLIENT_CLOSED_STATUS, CLIENT_CLOSED
    elif call.ended == calls.STREAM_EMPTY or (call.ended == calls.SUCCESS and call.error is None):
        code, error_type = 200, None
    else:
        o = obs.failure({}, call.error, None)
        code, error_type = o.status_code, o.error_type
    p.recording.unreported_attempts(call, n, code, error_type)
