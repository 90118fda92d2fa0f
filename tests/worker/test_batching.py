"""Hook calls recorded in batches (settings.event_batch_seconds; logger.py's _hook, process.py's
record_pending): nothing is recorded before its batch, everything after it, in the order the calls were
made and timed as when they were made; a call from a thread, a full batch, a batch left on another loop and a
clean exit record what waits at once; a call's payload is read when the call is made."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

from litellm_observe.worker import flow
from litellm_observe.worker import logger as logger_mod
from tests.support import events as ev
from tests.support import rundirs


def _logger(tmp_path, seconds: float):
    return ev.make_logger(tmp_path, section={"event_batch_seconds": seconds})


def _pre_call(lg, call_id: str) -> None:
    return lg.async_pre_call_hook(ev.user(), None, {"litellm_call_id": call_id, "model": "ok"}, "completion")


def _requests(tmp_path) -> float:
    return rundirs.total(rundirs.series(tmp_path), "requests")


def _in_flight(tmp_path) -> float:
    return rundirs.total(rundirs.series(tmp_path), "current_load")


def test_calls_are_recorded_by_their_batch_in_order_and_timed_as_made(tmp_path):
    lg = _logger(tmp_path, 1.0)

    async def main():
        await _pre_call(lg, "a")
        assert _in_flight(tmp_path) == 0  # queued: the batch has not run (nothing awaited the loop since)
        await asyncio.sleep(0.3)
        await lg.async_log_success_event(ev.success_kwargs(call_id="a", now=time.time()), None, None, None)
        assert _requests(tmp_path) == 0
        await asyncio.sleep(1.2)  # the batch, scheduled 1 s after the first call, has run
        assert _requests(tmp_path) == 1
        assert _in_flight(tmp_path) == 0  # +1, then -1: in the order made

    asyncio.run(main())
    duration = rundirs.metric_series(rundirs.series(tmp_path), "request_duration_seconds")
    (values,) = duration.values()
    assert sum(values[:-1]) == 1
    # from the pre-call hook to the success event, as made (0.3 s apart), not as recorded (in one batch)
    assert values[-1] >= 0.3


def test_a_payload_changed_after_its_hook_returned_is_recorded_as_it_was_at_the_call(tmp_path):
    """LiteLLM goes on using the dicts it hands the hooks (the logging object's model_call_details is one per
    request, written until its end): a call is read when it is made, and only acted on with its batch."""
    lg = _logger(tmp_path, 1.0)

    async def main():
        data = {"litellm_call_id": "a", "model": "ok"}
        await lg.async_pre_call_hook(ev.user(), None, data, "completion")
        kwargs = ev.success_kwargs(call_id="a", model_group="ok")
        await lg.async_log_success_event(kwargs, None, None, None)
        data["litellm_call_id"] = kwargs["litellm_call_id"] = "changed"
        kwargs["standard_logging_object"]["model_group"] = "bad500"
        kwargs["standard_logging_object"]["completion_tokens"] = 1000
        lg.flush()

    asyncio.run(main())
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "requests", model="ok") == 1
    assert rundirs.total(data, "requests", model="bad500") == 0
    assert rundirs.total(data, "tokens_used", token_type="output") == 7
    assert rundirs.total(data, "current_load") == 0  # the success ended the request its pre-call hook began


def test_timers_and_settle_record_what_waits_first(tmp_path):
    lg = _logger(tmp_path, 1.0)

    async def main():
        await _pre_call(lg, "a")
        await lg.async_log_success_event(ev.success_kwargs(call_id="a"), None, None, None)
        assert _requests(tmp_path) == 0
        lg.settle()
        assert _requests(tmp_path) == 1

    asyncio.run(main())


def test_a_call_from_a_thread_records_the_calls_waiting_and_itself_at_once(tmp_path):
    lg = _logger(tmp_path, 1.0)

    async def main():
        await _pre_call(lg, "a")
        assert _in_flight(tmp_path) == 0
        await asyncio.to_thread(
            lg.log_pre_api_call,
            "fake-ok",
            [],
            {"litellm_call_id": "a", "litellm_params": {"metadata": {"model_group": "ok"}}},
        )
        assert _in_flight(tmp_path) == 1  # the pre-call hook, recorded before the thread's call
        assert lg.calls.get("a").attempts == 1  # and the attempt found its request: the order was kept

    asyncio.run(main())


def _call(coroutine) -> None:
    """A hook's coroutine run to its end in this thread without a loop (our hooks never wait)."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    raise AssertionError("the hook waited")


def test_threads_recording_their_calls_at_once_record_one_at_a_time_and_lose_nothing(tmp_path, monkeypatch):
    """Calls from threads are recorded at once, each thread its own batch: the acts and the writes of what they
    kept (Recording.write_kept) run one at a time under the process's batch lock, so an in-flight change one
    thread's batch kept is never lost to another's write. Each act and write here sleeps a little (releasing the
    GIL), so without the lock the threads' batches would overlap."""
    from litellm_observe.worker.recording import Recording

    running, most = [0], [0]

    def one_at_a_time(f):
        def counted(*args):
            running[0] += 1
            most[0] = max(most[0], running[0])
            try:
                time.sleep(0.0002)
                return f(*args)
            finally:
                running[0] -= 1

        return counted

    monkeypatch.setattr(flow, "request_started", one_at_a_time(flow.request_started))
    monkeypatch.setattr(flow, "succeeded", one_at_a_time(flow.succeeded))
    monkeypatch.setattr(Recording, "write_kept", one_at_a_time(Recording.write_kept))
    lg = _logger(tmp_path, 1.0)
    threads, per_thread = 4, 50

    def requests(t: int) -> None:
        for i in range(per_thread):
            _call(_pre_call(lg, f"{t}-{i}"))
            _call(lg.async_log_success_event(ev.success_kwargs(call_id=f"{t}-{i}"), None, None, None))

    async def main():
        await _pre_call(lg, "main")  # this loop is the worker's: the threads' calls are not made in it
        await asyncio.gather(*(asyncio.to_thread(requests, t) for t in range(threads)))
        await lg.async_log_success_event(ev.success_kwargs(call_id="main"), None, None, None)
        lg.flush()

    asyncio.run(main())
    assert most[0] == 1
    assert _requests(tmp_path) == threads * per_thread + 1
    assert _in_flight(tmp_path) == 0


def test_a_call_from_another_loop_in_another_thread_is_recorded_at_once(tmp_path):
    lg = _logger(tmp_path, 1.0)

    async def main():
        await _pre_call(lg, "a")  # the worker's loop: waits for its batch
        assert _in_flight(tmp_path) == 0
        # a thread with a loop of its own, while the worker's loop runs: not the worker's loop
        await asyncio.to_thread(asyncio.run, _pre_call(lg, "b"))
        assert _in_flight(tmp_path) == 2

    asyncio.run(main())


def test_a_full_batch_is_recorded_at_once(tmp_path):
    lg = _logger(tmp_path, 1.0)

    async def main():
        for i in range(logger_mod.MAX_PENDING - 1):
            await lg.async_log_success_event(ev.success_kwargs(call_id=f"c{i}"), None, None, None)
        assert _requests(tmp_path) == 0
        await lg.async_log_success_event(ev.success_kwargs(call_id="last"), None, None, None)
        assert _requests(tmp_path) == logger_mod.MAX_PENDING

    asyncio.run(main())


def test_only_the_workers_loop_batches_a_batch_left_on_a_stopped_loop_is_recorded_by_the_next_call(tmp_path):
    lg = _logger(tmp_path, 1.0)
    asyncio.run(lg.async_log_success_event(ev.success_kwargs(call_id="a"), None, None, None))
    assert _requests(tmp_path) == 0  # the first loop a hook ran in is the worker's; it ended before the batch ran
    asyncio.run(lg.async_log_success_event(ev.success_kwargs(call_id="b"), None, None, None))
    assert _requests(tmp_path) == 2  # another loop: what waited and this call, at once
    asyncio.run(lg.async_log_success_event(ev.success_kwargs(call_id="c"), None, None, None))
    assert _requests(tmp_path) == 3  # and every call from another loop, at once
    lg.flush()
    assert _requests(tmp_path) == 3


def test_an_error_in_a_batch_is_counted_under_its_hook_and_the_rest_recorded(tmp_path, monkeypatch):
    lg = _logger(tmp_path, 1.0)
    real = flow.succeeded

    def succeeded(p, o):
        if o.call_id == "bad":
            raise RuntimeError("boom")
        real(p, o)

    monkeypatch.setattr(flow, "succeeded", succeeded)

    async def main():
        for call_id in ("a", "bad", "b"):
            await lg.async_log_success_event(ev.success_kwargs(call_id=call_id), None, None, None)
        lg.flush()

    asyncio.run(main())
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "requests") == 2
    assert rundirs.value(data, "observe_internal_errors", "async_log_success_event") == 1


def test_budgets_are_written_at_the_batchs_end_and_an_error_there_is_counted(tmp_path, monkeypatch):
    """A batch's budgets are written after its calls (Recording.write_kept); what that raises is counted under
    "batch", and the calls stay recorded."""
    from litellm_observe.worker.recording import Recording

    lg = _logger(tmp_path, 1.0)

    def with_budget(call_id: str):
        kwargs = ev.success_kwargs(call_id=call_id)
        meta = kwargs["standard_logging_object"]["metadata"]
        meta.update({"user_api_key_team_alias": "search", "user_api_key_team_max_budget": 100.0})
        return kwargs

    async def main():
        await lg.async_log_success_event(with_budget("a"), None, None, None)
        assert not rundirs.metric_series(rundirs.series(tmp_path), "budget_max_usd")  # waits for the batch
        lg.flush()
        assert rundirs.value(rundirs.series(tmp_path), "budget_max_usd", "team", "search") == 100.0

        def broken(self):
            raise RuntimeError("boom")

        monkeypatch.setattr(Recording, "write_kept", broken)
        await lg.async_log_success_event(with_budget("b"), None, None, None)
        lg.flush()

    asyncio.run(main())
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "requests") == 2
    assert rundirs.value(data, "observe_internal_errors", "batch") == 1
    assert rundirs.value(data, "observe_internal_errors", "async_log_success_event") == 0


EXIT_SCRIPT = """
import asyncio, sys
sys.path.insert(0, {root!r})
from tests.support import events as ev
lg = ev.make_logger({run!r}, section={{"event_batch_seconds": 1.0}})

async def main():
    for i in range(5):
        await lg.async_log_success_event(ev.success_kwargs(call_id=f"c{{i}}"), None, None, None)
    # returns at once: the batch, one second away, never runs in this loop

asyncio.run(main())
"""


def test_a_clean_exit_records_what_waits_before_the_worker_exits(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = EXIT_SCRIPT.format(root=root, run=str(tmp_path))
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120, cwd=root)
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "requests") == 5
    assert rundirs.value(data, "worker_exits", "recycled") == 1
