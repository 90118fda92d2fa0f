"""calls: a request ends once, however LiteLLM reports it; attempts nobody reported are settled."""

from __future__ import annotations

from litellm_observe.worker import calls
from litellm_observe.worker.calls import CallBook


def book():
    return CallBook(grace=5.0, settle=10.0)


def test_first_end_wins_and_late_ends_are_ignored():
    b = book()
    b.begin("c", 0.0)
    assert b.end("c", calls.FAILURE, 1.0).ended == calls.FAILURE
    assert b.end("c", calls.SUCCESS, 2.0) is None
    assert b.get("c") is None and b.ended_earlier("c")  # forgotten at once, its id kept a while
    b.due(20.0)
    assert not b.ended_earlier("c")


def test_unknown_and_unusable_ids():
    b = book()
    assert b.begin(None, 0.0) is None and b.begin(3, 0.0) is None
    assert b.end("nobody", calls.SUCCESS, 1.0) is None
    assert b.attempt_failed(b.get("nobody"))  # no pre-call seen: every report counts
    b.begin("c", 0.0)
    assert b.begin("c", 1.0) is None  # one call per id


def test_a_disconnect_ends_the_request_at_once():
    b = book()
    b.begin("c", 0.0)
    ended = b.stream_ended("c", calls.CLOSED, 1.0)
    assert ended is not None and ended.ended == calls.DISCONNECT
    assert b.end("c", calls.SUCCESS, 1.1) is None  # the billing success that follows


def test_a_stream_that_ends_alone_is_due_after_the_grace():
    b = book()
    b.begin("c", 0.0)
    assert b.stream_ended("c", calls.EXHAUSTED, 1.0, error_frame=True) is None
    assert b.due(5.9) == []
    ((kind, call),) = b.due(6.0)
    assert kind == "grace" and call.error_frame and call.ended is None


def test_grace_is_not_due_once_a_terminal_event_came():
    b = book()
    b.begin("c", 0.0)
    b.attempt_started("c", 0.5, ("openai", "g"))  # the attempt the broken stream ends: nobody reports it
    b.stream_ended("c", calls.RAISED, 1.0, error=RuntimeError("x"))
    b.end("c", calls.FAILURE, 1.01)
    assert [k for k, _ in b.due(7.0)] == []
    ((kind, call),) = b.due(11.01)
    assert kind == "settle" and call.unreported() == 1 and len(b) == 0


def test_an_attempt_reported_twice_counts_once():
    b = book()
    b.begin("c", 0.0)
    b.attempt_started("c", 0.0, ("openai", "g"))
    assert b.attempt_failed(b.get("c"))  # /v1/messages: aresponses reports it ...
    assert not b.attempt_failed(b.get("c"))  # ... then anthropic_messages, for the same upstream call
    b.attempt_started("c", 1.0, ("openai", "g"))  # a retry: a new attempt, reported once
    assert b.attempt_failed(b.get("c"))
    assert b.get("c").unreported() == 0


def test_attempts_nobody_reported_are_settled():
    b = book()
    b.begin("d", 0.0)
    b.attempt_started("d", 0.0, ("openai", "g"))
    assert b.attempt_failed(b.get("d"))
    b.attempt_started("d", 1.0, ("openai", "g"))  # a broken stream: never reported
    b.end("d", calls.FAILURE, 2.0)
    assert b.due(11.9) == []
    ((kind, call),) = b.due(12.0)
    assert kind == "settle" and call.unreported() == 1 and call.attempt_labels == ("openai", "g")


def test_a_request_whose_every_attempt_was_reported_is_forgotten_at_its_end():
    """A failed attempt, then a retry that succeeded: both reported, so the request's end keeps only its id (late
    signals are still known as late), and nothing waits to be settled."""
    b = book()
    b.begin("e", 0.0)
    b.attempt_started("e", 0.0, ("openai", "g"))
    assert b.attempt_failed(b.get("e"))
    b.attempt_started("e", 1.0, ("openai", "g"))
    b.attempt_succeeded("e")
    assert b.end("e", calls.SUCCESS, 2.0) is not None
    assert b.get("e") is None and b.ended_earlier("e")
    assert b.next_due() is None


def test_stale_calls_are_forgotten():
    b = book()
    b.begin("old", 0.0)
    b.begin("new", 100.0)
    assert [c.call_id for c in b.stale(50.0)] == ["old"]
    assert b.get("old") is None and b.get("new") is not None


def test_remembered_ids_do_not_grow_without_bound():
    b = book()
    for i in range(1000):
        b.begin(f"c{i}", float(i))
        b.end(f"c{i}", calls.SUCCESS, float(i))  # one request a second, every one ended normally
    assert len(b._ended) <= 2 * b.settle + 2 and len(b) == 0


def test_retries_are_the_attempts_beyond_the_first_in_each_model_group():
    b = book()
    b.begin("c", 0.0)
    for labels in [
        ("openai", "gpt", "eu"),
        ("openai", "gpt", "us"),
        ("openai", "gpt", "eu"),  # 2 retries in gpt
        ("anthropic", "claude", "c1"),
    ]:  # a fallback: a first attempt in another group
        b.attempt_started("c", 1.0, labels)
    assert sorted(b.get("c").retries()) == [("openai", "gpt", 2)]
    assert b.get("c").attempt_labels == ("anthropic", "claude", "c1")


def test_model_groups_remembered_per_request_are_bounded():
    b = book()
    b.begin("c", 0.0)
    for i in range(calls._MAX_GROUPS + 10):
        b.attempt_started("c", 1.0, ("p", f"g{i}", "d"))
        b.attempt_started("c", 1.0, ("p", f"g{i}", "d"))
    assert len(b.get("c").groups) == calls._MAX_GROUPS and len(b.get("c").retries()) == calls._MAX_GROUPS
