"""How each client request ended, decided once per call id, whatever LiteLLM reports.

LiteLLM does not give every request one terminal event (seen on 1.106.2 and 1.109.1,
every endpoint; README "Where each number comes from"):
- a success ends with `async_log_success_event`, a failure with
  `async_post_call_failure_hook`;
- a stream the upstream breaks may end with the failure hook, or (1.106.2,
  `/v1/messages` served through the Responses API) with no terminal event at all: the
  streaming iterator ends normally after an `event: error` frame, and only
  `async_log_failure_event` says why;
- a stream whose upstream sends nothing may end with neither;
- a client that disconnects mid-stream ends the iterator with GeneratorExit or
  CancelledError, and LiteLLM then sends a success event for billing.
So the end of a request is the first of: the failure hook, the success event, the
iterator closed by a disconnect, or GRACE_SECONDS after the iterator ended without
either. Later signals for the same call id change nothing at request level.

Attempts (upstream calls) are counted the same way: `log_pre_api_call` fires once per
attempt; an attempt is reported by `async_post_call_failure_deployment_hook` (at most
once per attempt: `/v1/messages` fires it twice for one upstream call) or by the
success event. A broken stream's attempt is reported by neither, so SETTLE_SECONDS
after the request ended, attempts started and never reported are settled (as failed,
cancelled, or, for an empty stream that ended cleanly, answered).

All hooks of one request run in one worker process (their call ids never crossed
processes in the runs above), so this state is per process; and on the proxy's event
loop thread, so its test-and-set steps need no lock. Pure bookkeeping: no I/O, no clock
of its own (callers pass `now`).
"""

from __future__ import annotations

import heapq
from typing import Any, NamedTuple

from .callers import NONE, Callers

GRACE_SECONDS = 5.0  # after a stream ended, how long a terminal event may still arrive
SETTLE_SECONDS = 10.0  # after a request ended, how long an attempt's report may still arrive
LATE_SECONDS = 600.0  # how long a request that ended without a terminal event remembers it ended
_MAX_GROUPS = 16  # model groups remembered per request (a fallback chain is short)

# How a request ended (Call.ended)
SUCCESS, FAILURE, DISCONNECT, STREAM_FAILED, STREAM_EMPTY = (
    "success",
    "failure",
    "disconnect",
    "stream_failed",
    "stream_empty",
)
# How the streaming iterator ended (Call.stream_end)
EXHAUSTED, RAISED, CLOSED = "exhausted", "raised", "closed"


class GroupRetries(NamedTuple):
    """The retries of one request within one model group (Call.retries)."""

    provider: object  # of the group's latest attempt, raw
    group: object  # raw
    retries: int


class Call:
    """One client request, from its pre-call hook until its late reports are settled. Attributes
    not set in __init__ keep their class defaults until a hook sets them (cheaper per request)."""

    attempts = 0  # log_pre_api_call seen
    failed: set[int] | None = None  # attempt numbers a deployment failure reported
    succeeded = 0  # attempts a success event reported
    attempt_began: float | None = None
    attempt_labels: tuple[object, ...] | None = None  # raw (provider, model group, deployment) of the latest attempt
    groups: dict[object, list[Any]] | None = None  # model group -> [provider, attempts]: the retries within each group
    error: object = None  # the last exception seen (failure event, stream, failure hooks); a hook without one leaves it
    error_frame = False  # the stream carried an in-band error (`event: error`, response.failed)
    stream_end: str | None = None
    stream_ended_at: float | None = None
    ended: str | None = None  # request level, once
    ended_at: float | None = None
    endpoint = "other"  # catalogue.ENDPOINTS: what the client called (endpoints.py), from the pre-call hook
    callers: Callers = NONE  # raw caller values (callers.py); NONE when no dimension is on

    def __init__(self, call_id: str, started: float, model: object = None, user: object = None):
        self.call_id = call_id
        self.started = started  # monotonic seconds at the pre-call hook
        self.model = model  # the model group the client asked for (raw)
        self.user = user  # the key's auth object (team), raw
        self.in_load = True  # still counted in current_load

    def retries(self) -> list[GroupRetries]:
        """The retries per group attempted: its attempts after the first. A fallback's first attempt in
        another group is not a retry; every further one is, as the router counts them
        (x-litellm-attempted-retries)."""
        return [
            GroupRetries(provider=seen[0], group=group, retries=seen[1] - 1)
            for group, seen in (self.groups or {}).items()
            if seen[1] > 1
        ]

    # the latest attempt's raw labels, by name (None when not known)
    @property
    def attempt_provider(self) -> object:
        labels = self.attempt_labels
        return labels[0] if labels else None

    @property
    def attempt_group(self) -> object:
        labels = self.attempt_labels
        return labels[1] if labels and len(labels) > 1 else None

    @property
    def attempt_deployment(self) -> object:
        labels = self.attempt_labels
        return labels[2] if labels and len(labels) > 2 else None

    def unreported(self) -> int:
        """Attempts that started and that neither a deployment failure nor a success reported."""
        return max(0, self.attempts - len(self.failed or ()) - self.succeeded)


class CallBook:
    """The calls of one worker process in flight or awaiting their late reports."""

    def __init__(self, grace: float = GRACE_SECONDS, settle: float = SETTLE_SECONDS):
        self.grace, self.settle = grace, settle
        self._calls: dict[str, Call] = {}
        self._due: list[tuple[float, int, str, str]] = []  # heap of (when, seq, kind, call id)
        self._seq = 0
        # call id -> until when a late signal for it is ignored: ids of requests that ended and
        # were forgotten. A plain dict of str -> float: the garbage collector never scans it.
        self._ended: dict[str, float] = {}
        # guardrail runs counted: (call id, guardrail, hook, start) -> until when it is remembered.
        # One run can be carried by the failure event of a failed attempt and the success event of
        # the retry that answered; it is counted once.
        self._guardrail_runs: dict[tuple[object, ...], float] = {}
        self._next_prune = 0.0

    def __len__(self) -> int:
        return len(self._calls)

    def calls(self) -> list[Call]:
        return list(self._calls.values())

    def get(self, call_id: object) -> Call | None:
        return self._calls.get(call_id) if isinstance(call_id, str) else None

    def begin(self, call_id: object, now: float, model: object = None, user: object = None) -> Call | None:
        """A request entered the proxy (pre-call hook); None for a call id seen already or unusable."""
        if not isinstance(call_id, str) or call_id in self._calls:
            return None
        call = self._calls[call_id] = Call(call_id, now, model, user)
        return call

    # ---- attempts --------------------------------------------------------------------------------
    def attempt_started(self, call_id: object, now: float, labels: tuple[object, ...]) -> None:
        call = self.get(call_id)
        if call is not None:
            call.attempts += 1
            call.attempt_began = now
            call.attempt_labels = labels
            group = labels[1]
            if call.groups is None:
                call.groups = {}
            seen = call.groups.get(group)
            if seen is None:
                if len(call.groups) < _MAX_GROUPS:
                    call.groups[group] = [labels[0], 1]
            else:
                seen[0], seen[1] = labels[0], seen[1] + 1

    def attempt_failed(self, call: Call | None) -> bool:
        """Whether this deployment failure is the first report of its attempt (count it then), given the call the
        failure hook looked up (None: a request this process saw no start of)."""
        if call is None:
            return True
        if call.failed is None:
            call.failed = set()
        elif call.attempts in call.failed:
            return False
        call.failed.add(call.attempts)
        return True

    def attempt_succeeded(self, call_id: object) -> None:
        call = self.get(call_id)
        if call is not None:
            call.succeeded += 1

    # ---- the request's end -----------------------------------------------------------------------
    def stream_ended(
        self, call_id: object, how: str, now: float, error: object = None, error_frame: bool = False
    ) -> Call | None:
        """The streaming iterator ended. Returns the call when the request ended here (the client
        disconnected); otherwise a terminal event has GRACE seconds to arrive."""
        call = self.get(call_id)
        if call is None or call.stream_end is not None:
            return None
        call.stream_end, call.stream_ended_at = how, now
        if error_frame:
            call.error_frame = True
        if error is not None:
            call.error = error
        if how == CLOSED:
            return self.end(call_id, DISCONNECT, now)
        if call.ended is None:
            self._schedule(now + self.grace, "grace", call.call_id)
        return None

    def end(self, call_id: object, how: str, now: float) -> Call | None:
        """The request ended `how`. Returns the call if this is its first end (record it then), None
        when it had ended already or is unknown (a late signal: record nothing at request level)."""
        return self.end_call(self.get(call_id), how, now)

    def end_call(self, call: Call | None, how: str, now: float) -> Call | None:
        """`end`, given the call itself."""
        if call is None or call.ended is not None:
            return None
        call_id = call.call_id
        call.ended, call.ended_at = how, now
        # call.unreported() == 0, inline (every request ends here: a method call and max() fewer)
        if how in (SUCCESS, FAILURE) and call.attempts - len(call.failed or ()) - call.succeeded <= 0:
            # the common case: a terminal event, every attempt reported. Only the id is kept
            # (keeping every Call for SETTLE seconds made the interpreter's full garbage
            # collections, over all of LiteLLM's objects, frequent: ~250 ms each)
            del self._calls[call_id]
            self._ended[call_id] = now + self.settle
            if now >= self._next_prune:
                self._prune(now)
            return call
        self._schedule(now + self.settle, "settle", call_id)
        return call

    def first_guardrail_report(self, key: tuple[object, ...], now: float) -> bool:
        """Whether this guardrail run (call id, guardrail, hook, start) is reported for the first time."""
        if key in self._guardrail_runs:
            return False
        self._guardrail_runs[key] = now + LATE_SECONDS
        if now >= self._next_prune:
            self._prune(now)
        return True

    def known(self, call_id: object) -> bool:
        return self.get(call_id) is not None

    def ended_earlier(self, call_id: object) -> bool:
        """Whether a request no longer in the book ended recently (so a terminal event for it now is
        late and must not count it again): SETTLE seconds after a terminal event, LATE seconds after
        a request that ended without one."""
        return isinstance(call_id, str) and call_id in self._ended

    # ---- what is due -----------------------------------------------------------------------------
    def _schedule(self, when: float, kind: str, call_id: str) -> None:
        self._seq += 1
        heapq.heappush(self._due, (when, self._seq, kind, call_id))

    def next_due(self) -> float | None:
        return self._due[0][0] if self._due else None

    def due(self, now: float) -> list[tuple[str, Call]]:
        """("grace", call): a stream ended GRACE seconds ago with no terminal event since;
        ("settle", call): a request ended SETTLE seconds ago; the call is forgotten after this."""
        out = []
        while self._due and self._due[0][0] <= now:
            _, _, kind, call_id = heapq.heappop(self._due)
            call = self._calls.get(call_id)
            if call is None:
                continue
            if kind == "grace":
                if call.ended is None:
                    out.append((kind, call))
            else:
                del self._calls[call_id]
                alone = call.ended in (DISCONNECT, STREAM_FAILED, STREAM_EMPTY)
                self._ended[call_id] = now + (LATE_SECONDS if alone else self.settle)
                out.append((kind, call))
        if now >= self._next_prune:
            self._prune(now)
        return out

    def _prune(self, now: float) -> None:
        self._next_prune = now + self.settle
        for call_id in [c for c, until in self._ended.items() if until < now]:
            del self._ended[call_id]
        if self._guardrail_runs:
            for key in [k for k, until in self._guardrail_runs.items() if until < now]:
                del self._guardrail_runs[key]

    def stale(self, cutoff: float) -> list[Call]:
        """Calls that began before `cutoff` and never ended: forgotten (a request with no end at all)."""
        old = [c for c in self._calls.values() if c.ended is None and c.started < cutoff]
        for call in old:
            del self._calls[call.call_id]
        return old

    def clear(self) -> None:
        self._calls.clear()
        self._due.clear()
        self._ended.clear()
        self._guardrail_runs.clear()
