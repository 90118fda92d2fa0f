"""logger: each hook records exactly the expected series."""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from types import MappingProxyType

import pytest
from fastapi import HTTPException  # noqa: E402
from litellm.proxy._types import ProxyException  # noqa: E402

from litellm_observe.catalogue import BY_NAME, Kind  # noqa: E402
from litellm_observe.worker.labels import OVERFLOW, UNKNOWN, UNLISTED  # noqa: E402
from tests.support import events as ev
from tests.support import exceptions, rundirs

run = asyncio.run
OK = ("ok", "openai")
CHAT = "chat_completions"  # the endpoint of the captured requests (route /v1/chat/completions)
OKE = (*OK, CHAT)
STATUS = BY_NAME["requests"].labels.index("status_code")  # where status_code is in a requests series
ERROR_STATUS = BY_NAME["errors"].labels.index("status_code")


def _deployment() -> str:
    """The deployment label of the captured success event: its model without the provider prefix,
    `@`, its api_base's host (the deployment was configured without a readable id)."""
    slo = ev.success_kwargs()["standard_logging_object"]
    return slo["model"].split("/", 1)[1] + "@" + slo["api_base"].split("://", 1)[1].split("/", 1)[0]


DEP = _deployment()
OKD = ("openai", "ok", DEP)


def keys(data):
    """Series recorded, less in-flight, the internal-error series every store reserves at 0, and the
    worker's health (recorded when its store opens: test_health.py)."""
    return {
        k
        for k, v in data.items()
        if not (BY_NAME[k[0]].kind is Kind.GAUGE and k[0] == "current_load")
        and not (k[0] == "observe_internal_errors" and v == [0.0])
        and BY_NAME[k[0]].level != "worker"
    }


def load(data) -> float:
    """In flight, over every endpoint; the series must exist (a request was counted in, then out)."""
    assert rundirs.metric_series(data, "current_load"), "no request was ever counted in flight"
    return rundirs.total(data, "current_load")


def hist_count(data, metric, *labels):
    v = data.get((metric, tuple(labels)))
    return 0 if v is None else sum(v[:-1])


def pre(lg, call_id, model="ok"):
    run(lg.async_pre_call_hook(ev.user(), None, {"litellm_call_id": call_id, "model": model}, "completion"))


def success(lg, **kw):
    run(lg.async_log_success_event(ev.success_kwargs(**kw), None, None, None))


def fail(lg, exc=None, model="bad500", call_id="c2", user=None, **kw):
    exc = exc if exc is not None else exceptions.EXCEPTIONS["InternalServerError"][0]()
    run(lg.async_post_call_failure_hook(ev.failure_request(model, call_id, **kw), exc, user or ev.user()))


async def _consume(lg, call_id, n=3):
    async def upstream():
        for i in range(n):
            yield i

    return [
        x async for x in lg.async_post_call_streaming_iterator_hook(ev.user(), upstream(), {"litellm_call_id": call_id})
    ]


@pytest.fixture
def lg(tmp_path):
    return ev.make_logger(tmp_path)


def test_success_records_exactly(lg, tmp_path):
    pre(lg, "c1")
    success(lg, call_id="c1")
    data = rundirs.series(tmp_path)
    assert keys(data) == {
        ("requests", ("ok", "openai", UNKNOWN, CHAT, "200")),
        ("request_duration_seconds", OKE),
        ("overhead_latency_seconds", OK),
        ("provider_requests", (*OKD, "200")),
        ("provider_latency_seconds", OKD),
        ("deployment_state", OKD),
        ("tokens_used", ("openai", "ok", UNKNOWN, "input")),
        ("tokens_used", ("openai", "ok", UNKNOWN, "output")),
        ("spend_usd", ("openai", "ok", UNKNOWN)),
        ("cache_misses", ("ok",)),
        ("requests_remaining", ("openai", "ok")),
        ("requests_limit", ("openai", "ok")),
        ("tokens_remaining", ("openai", "ok")),
        ("tokens_limit", ("openai", "ok")),
    }
    assert rundirs.value(data, "requests", "ok", "openai", UNKNOWN, CHAT, "200") == 1
    assert rundirs.value(data, "tokens_used", "openai", "ok", UNKNOWN, "input") == 11
    assert rundirs.value(data, "tokens_used", "openai", "ok", UNKNOWN, "output") == 7
    assert rundirs.value(data, "spend_usd", "openai", "ok", UNKNOWN) == pytest.approx(0.0001)
    assert rundirs.value(data, "requests_remaining", "openai", "ok") == 990
    assert rundirs.value(data, "tokens_limit", "openai", "ok") == 100000
    assert hist_count(data, "request_duration_seconds", *OKE) == 1
    assert hist_count(data, "provider_latency_seconds", *OKD) == 1
    assert data[("provider_latency_seconds", OKD)][-1] == pytest.approx(0.5, abs=1e-3)
    assert rundirs.value(data, "deployment_state", *OKD) == 0  # answered: healthy
    assert hist_count(data, "overhead_latency_seconds", *OK) == 1
    assert load(data) == 0 and lg.inflight() == 0


def test_stream_adds_ttft_and_tpot(lg, tmp_path):
    pre(lg, "s1")
    assert run(_consume(lg, "s1")) == [0, 1, 2]
    assert load(rundirs.series(tmp_path)) == 0  # released at the end of the stream
    success(lg, call_id="s1", stream=True, cache_hit=False, completion=5)
    data = rundirs.series(tmp_path)
    assert hist_count(data, "time_to_first_token_seconds", "openai", "ok") == 1
    assert data[("time_to_first_token_seconds", ("openai", "ok"))][-1] == pytest.approx(0.1, abs=1e-3)
    assert hist_count(data, "time_per_output_token_seconds", "openai", "ok") == 1
    assert data[("time_per_output_token_seconds", ("openai", "ok"))][-1] == pytest.approx(0.4 / 4, abs=1e-3)
    assert rundirs.value(data, "requests", "ok", "openai", UNKNOWN, CHAT, "200") == 1
    assert load(data) == 0  # not decremented twice


def test_non_stream_has_no_ttft(lg, tmp_path):
    success(lg)
    assert not rundirs.metric_series(rundirs.series(tmp_path), "time_to_first_token_seconds")


def test_cache_hit_records_no_attempt(lg, tmp_path):
    pre(lg, "h1")
    success(lg, call_id="h1", cache_hit=True)
    data = rundirs.series(tmp_path)
    assert keys(data) == {
        ("requests", ("ok", "openai", UNKNOWN, CHAT, "200")),
        ("request_duration_seconds", OKE),
        ("overhead_latency_seconds", OK),
        ("cache_hits", ("ok",)),
    }
    assert load(data) == 0


def test_no_cache_configured_no_misses(tmp_path):
    lg = ev.make_logger(tmp_path, caching=False)
    success(lg)
    data = rundirs.series(tmp_path)
    assert not rundirs.metric_series(data, "cache_misses") and not rundirs.metric_series(data, "cache_hits")


def test_failure_records_exactly(lg, tmp_path):
    pre(lg, "c2", "bad500")
    assert load(rundirs.series(tmp_path)) == 1
    fail(lg, call_id="c2", user=ev.user("team-id", "team-alias"))
    data = rundirs.series(tmp_path)
    labels = ("bad500", "openai", "team-alias", CHAT, "500")
    assert keys(data) == {
        ("requests", labels),
        ("errors", ("bad500", "openai", "team-alias", CHAT, "internal_server_error", "500")),
        ("request_duration_seconds", ("bad500", "openai", CHAT)),
    }
    assert rundirs.value(data, "requests", *labels) == 1
    assert load(data) == 0


def test_failure_retries_counted(lg, tmp_path):
    fail(lg, retries=2)
    assert rundirs.value(rundirs.series(tmp_path), "retries", "openai", "bad500") == 2


def test_deployment_failure_records_an_attempt(lg, tmp_path):
    exc = exceptions.le.RateLimitError("m", "openai", "fake")
    data_in = MappingProxyType({"model": "openai/fake-bad", "metadata": MappingProxyType({"model_group": "bad500"})})
    assert run(lg.async_post_call_failure_deployment_hook(data_in, exc, "acompletion")) is None
    data = rundirs.series(tmp_path)
    assert keys(data) == {
        ("provider_requests", ("openai", "bad500", "fake-bad", "429")),
        ("provider_errors", ("openai", "bad500", "fake-bad", "rate_limit")),
        ("deployment_state", ("openai", "bad500", "fake-bad")),
    }
    assert rundirs.value(data, "deployment_state", "openai", "bad500", "fake-bad") == 1  # failing, not cooling down


def test_deployment_failure_provider_from_model_prefix(lg, tmp_path):
    data_in = MappingProxyType({"model": "azure/gpt", "metadata": {"model_group": "ok"}})
    run(lg.async_post_call_failure_deployment_hook(data_in, Exception("x"), "acompletion"))
    assert ("provider_errors", ("azure", "ok", "gpt", "internal_server_error")) in rundirs.series(tmp_path)


@pytest.mark.parametrize(
    "hook, outcome", [("log_success_fallback_event", "true"), ("log_failure_fallback_event", "false")]
)
def test_fallback(lg, tmp_path, hook, outcome):
    run(getattr(lg, hook)("bad500", {"model": "ok"}, Exception("x")))
    run(getattr(lg, hook)("bad500", {"metadata": {"model_group": "ok"}}, Exception("x")))
    data = rundirs.series(tmp_path)
    assert keys(data) == {("fallbacks", ("bad500", "ok", outcome))}
    assert rundirs.value(data, "fallbacks", "bad500", "ok", outcome) == 2


def test_fallback_success_keeps_requested_model_on_request_metrics(lg, tmp_path):
    success(lg, model_group="ok", original="bad500")
    data = rundirs.series(tmp_path)
    assert rundirs.value(data, "requests", "bad500", "openai", UNKNOWN, CHAT, "200") == 1  # what the client asked for
    assert rundirs.value(data, "provider_requests", *OKD, "200") == 1  # what served it


def test_errors_identity(lg, tmp_path):
    excs = [exceptions.EXCEPTIONS[n][0]() for n in exceptions.installed_exceptions()] + [
        ProxyException("m", "budget_exceeded", None, "400"),
        HTTPException(status_code=418, detail="x"),
        Exception(),
    ]
    for i, exc in enumerate(excs):
        fail(lg, exc, call_id=f"f{i}")
    for i in range(3):
        success(lg, call_id=f"s{i}")
    data = rundirs.series(tmp_path)
    failed = sum(v[0] for labels, v in rundirs.metric_series(data, "requests").items() if labels[STATUS][0] in "45")
    assert failed == len(excs) == rundirs.total(data, "errors")
    assert rundirs.total(data, "requests") == len(excs) + 3
    by_status = {}
    for labels, v in rundirs.metric_series(data, "errors").items():
        by_status[labels[ERROR_STATUS]] = by_status.get(labels[ERROR_STATUS], 0) + v[0]
    for status, n in by_status.items():
        assert n == sum(v[0] for lab, v in rundirs.metric_series(data, "requests").items() if lab[STATUS] == status)


@pytest.mark.parametrize(
    "exc",
    [
        HTTPException(status_code=302, detail="x"),
        ProxyException("m", "x", None, "99"),
        ProxyException("m", "x", None, "abc"),
        Exception("x"),
        None,
        "a string",
    ],
)
def test_status_code_always_three_digits(lg, tmp_path, exc):
    run(lg.async_post_call_failure_hook(ev.failure_request(), exc, ev.user()))
    for labels in rundirs.metric_series(rundirs.series(tmp_path), "requests"):
        assert re.fullmatch(r"[45][0-9]{2}", labels[STATUS]), labels


def test_unknown_model_is_unlisted(lg, tmp_path):
    success(lg, model_group="mystery-model")
    fail(lg, model="another-mystery")
    data = rundirs.series(tmp_path)
    models = {labels[0] for labels in rundirs.metric_series(data, "requests")}
    assert models == {UNLISTED}


def test_missing_model_is_unknown(lg, tmp_path):
    fail(lg, model=None)
    assert {labels[0] for labels in rundirs.metric_series(rundirs.series(tmp_path), "requests")} == {UNKNOWN}


def test_wildcard_model_group(tmp_path):
    lg = ev.make_logger(tmp_path, models=["ok", "openai/*"])
    success(lg, model_group="openai/gpt-x")
    assert rundirs.value(rundirs.series(tmp_path), "requests", "openai/*", "openai", UNKNOWN, CHAT, "200") == 1


def test_outside_a_proxy_every_model_is_a_model(tmp_path):
    from litellm_observe import settings as settings_mod
    from litellm_observe.worker.logger import ObserveLogger

    lg = ObserveLogger(
        settings_mod.load(environ={}, section={"event_batch_seconds": 0}),
        run_directory=str(tmp_path),
        model_names=lambda: None,
        caching_on=lambda: False,
        start_exporter=False,
    )
    success(lg, model_group="anything")
    success(lg, model_group="another")  # within the refresh interval: still its own model group
    data = rundirs.series(tmp_path)
    assert rundirs.value(data, "requests", "anything", "openai", UNKNOWN, CHAT, "200") == 1
    assert rundirs.value(data, "requests", "another", "openai", UNKNOWN, CHAT, "200") == 1


def test_team_cap_overflow_counted(tmp_path):
    lg = ev.make_logger(tmp_path, section={"label_caps": {"team": 1}})
    success(lg, team="t1")
    success(lg, team="t2")
    success(lg, team="t3")
    data = rundirs.series(tmp_path)
    assert {labels[2] for labels in rundirs.metric_series(data, "requests")} == {"t1", OVERFLOW}
    assert rundirs.value(data, "observe_label_overflow", "team") == 2


def test_budget_reset_seen(lg, tmp_path):
    success(lg, spend=5.0, reset_at="2026-11-01 00:00:00")
    success(lg, spend=0.0, reset_at="2026-12-01 00:00:00")
    assert rundirs.value(rundirs.series(tmp_path), "budget_resets", "key") == 1


def test_ratelimit_headers_as_strings(lg, tmp_path):
    kw = ev.success_kwargs()
    kw["standard_logging_object"]["hidden_params"]["additional_headers"] = {"x_ratelimit_remaining_requests": "42"}
    run(lg.async_log_success_event(kw, None, None, None))
    data = rundirs.series(tmp_path)
    assert rundirs.value(data, "requests_remaining", "openai", "ok") == 42
    assert not rundirs.metric_series(data, "tokens_limit")


def test_inflight_goes_back_to_zero(lg, tmp_path):
    for i in range(5):
        pre(lg, f"r{i}")
    pre(lg, "r0")  # the same call id twice counts once
    assert load(rundirs.series(tmp_path)) == 5 == lg.inflight()
    success(lg, call_id="r0")
    fail(lg, call_id="r1")
    run(_consume(lg, "r2"))
    run(lg.async_post_call_failure_hook({"litellm_call_id": "r3"}, Exception(), None))
    success(lg, call_id="r4", cache_hit=True)
    success(lg, call_id="never-started")
    data = rundirs.series(tmp_path)
    assert load(data) == 0 == lg.inflight()


def test_stream_abandoned_midway_releases(lg, tmp_path):
    pre(lg, "s9")

    async def partial():
        async def upstream():
            for i in range(10):
                yield i

        it = lg.async_post_call_streaming_iterator_hook(ev.user(), upstream(), {"litellm_call_id": "s9"})
        assert await it.__anext__() == 0
        await it.aclose()  # the client went away

    run(partial())
    assert load(rundirs.series(tmp_path)) == 0


def test_stale_inflight_is_swept(lg, tmp_path):
    pre(lg, "old")
    lg.calls.get("old").started -= lg.settings.inflight_timeout_seconds + 1  # started long ago
    lg.process.next_sweep = 0.0
    pre(lg, "new")
    assert load(rundirs.series(tmp_path)) == 1 == lg.inflight()


def test_internal_error_counted_and_logged_at_a_bounded_rate(lg, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="litellm_observe"):
        for _ in range(5):
            success(lg, cost=-1.0)
    data = rundirs.series(tmp_path)
    assert rundirs.value(data, "observe_internal_errors", "async_log_success_event") == 5
    assert len([r for r in caplog.records if "could not record" in r.getMessage()]) == 1
    assert rundirs.total(data, "spend_usd") == 0 and rundirs.total(data, "requests") == 5


def _unwritable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    return str(blocker / "metrics")


def test_unwritable_run_directory_disables_and_hooks_do_not_raise(tmp_path, caplog):
    with caplog.at_level(logging.ERROR, logger="litellm_observe"):
        lg = ev.make_logger(_unwritable(tmp_path))
    assert lg.disabled_reason and "a-file" in lg.disabled_reason
    assert lg.store is None
    assert any("metrics are OFF" in r.getMessage() for r in caplog.records)
    pre(lg, "x")
    success(lg, call_id="x")
    fail(lg, call_id="x")
    run(lg.async_post_call_failure_deployment_hook({}, Exception(), "acompletion"))
    run(lg.log_success_fallback_event("a", {}, Exception()))
    run(lg.log_failure_fallback_event("a", {}, Exception()))
    assert run(_consume(lg, "x")) == [0, 1, 2]
    assert lg.inflight() == 0


def test_unwritable_metrics_dir_setting(tmp_path):
    from litellm_observe import settings as settings_mod
    from litellm_observe.worker.logger import ObserveLogger

    lg = ObserveLogger(
        settings_mod.load(environ={}, section={"metrics_dir": _unwritable(tmp_path), "event_batch_seconds": 0}),
        model_names=lambda: ["ok"],
        caching_on=lambda: False,
        start_exporter=False,
    )
    assert lg.disabled_reason is not None and lg.store is None
    success(lg)


def test_metrics_dir_setting_makes_a_run_directory(tmp_path):
    from litellm_observe import settings as settings_mod
    from litellm_observe.rundir import runs
    from litellm_observe.worker.logger import ObserveLogger

    lg = ObserveLogger(
        settings_mod.load(environ={}, section={"metrics_dir": str(tmp_path), "event_batch_seconds": 0}),
        model_names=lambda: ["ok"],
        caching_on=lambda: False,
        start_exporter=False,
    )
    assert lg.disabled_reason is None
    assert lg.run_directory == str(tmp_path / runs.current_root().name)
    assert runs.claim_ended(lg.run_directory) is None  # this process holds its run
    success(lg)
    assert rundirs.total(rundirs.series(lg.run_directory), "requests") == 1


def test_finite_amounts_only(lg, tmp_path):
    success(lg, prompt=math.nan, completion=-3, cost=math.inf)
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "tokens_used") == 0 and rundirs.total(data, "spend_usd") == 0
    assert rundirs.value(data, "observe_internal_errors", "async_log_success_event") == 3


def test_huge_int_start_time_still_counts_the_request(lg, tmp_path):
    kw = ev.success_kwargs()
    kw["standard_logging_object"]["startTime"] = 10**400
    run(lg.async_log_success_event(kw, None, None, None))
    assert rundirs.total(rundirs.series(tmp_path), "requests") == 1


def test_huge_int_token_count_rejects_only_that_amount(lg, tmp_path):
    kw = ev.success_kwargs()
    kw["standard_logging_object"]["prompt_tokens"] = 10**400
    run(lg.async_log_success_event(kw, None, None, None))
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "tokens_used", token_type="output") == 7
    assert rundirs.total(data, "spend_usd") > 0


def test_unicode_digit_header_does_not_stop_the_event(lg, tmp_path):
    success(lg, spend=5.0, reset_at="2026-11-01 00:00:00")
    kw = ev.success_kwargs(spend=0.0, reset_at="2026-12-01 00:00:00")
    kw["standard_logging_object"]["hidden_params"]["additional_headers"]["x_ratelimit_limit_requests"] = "²"
    run(lg.async_log_success_event(kw, None, None, None))
    assert rundirs.value(rundirs.series(tmp_path), "budget_resets", "key") == 1


# ---- how requests end: the hook sequences LiteLLM 1.106.2 and 1.109.1 were seen to send (issue 15) ----------
def attempt(lg, call_id, provider="openai", group="ok"):
    lg.log_pre_api_call(
        f"fake-{group}",
        [],
        {
            "litellm_call_id": call_id,
            "custom_llm_provider": provider,
            "litellm_params": {"metadata": {"model_group": group}},
        },
    )


def stream(lg, call_id, items=(b"data: 1\n\n",), raises=None, close_after=None):
    """Drive the streaming iterator hook: yield `items`, then raise, or close it like a client that left."""

    async def upstream():
        for item in items:
            yield item
        if raises is not None:
            raise raises

    async def consume():
        it = lg.async_post_call_streaming_iterator_hook(ev.user(), upstream(), {"litellm_call_id": call_id})
        got = 0
        try:
            async for _ in it:
                got += 1
                if close_after is not None and got >= close_after:
                    await it.aclose()
                    return
        except (Exception, asyncio.CancelledError):
            pass  # the proxy's problem, not the hook's: it re-raises what the stream raised

    run(consume())


def failure_event(lg, call_id, exc):
    run(lg.async_log_failure_event({"litellm_call_id": call_id, "exception": exc}, None, None, None))


def deployment_failure(lg, call_id, exc, group="ok"):
    run(
        lg.async_post_call_failure_deployment_hook(
            {"litellm_call_id": call_id, "model": "openai/fake", "metadata": {"model_group": group}}, exc, "acompletion"
        )
    )


def later(lg, seconds=60.0):
    lg.settle(time.monotonic() + seconds)


def connection_error():
    return exceptions.le.APIConnectionError("stream closed", "openai", "fake-ok")


def test_a_chat_stream_broken_mid_way_is_one_failed_request_and_one_failed_attempt(lg, tmp_path):
    pre(lg, "b1")
    attempt(lg, "b1")
    stream(lg, "b1", raises=connection_error())
    failure_event(lg, "b1", connection_error())
    fail(lg, connection_error(), model="ok", call_id="b1")
    later(lg)
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "requests") == 1 and rundirs.total(data, "requests", status_code="500") == 1
    assert rundirs.total(data, "errors", error_type="connection") == 1
    assert rundirs.total(data, "provider_requests", status_code="500") == 1
    assert rundirs.total(data, "provider_errors", error_type="connection", model="ok") == 1
    assert load(data) == 0


def test_a_messages_stream_that_ends_alone_after_an_error_frame_is_counted_as_failed(lg, tmp_path):
    """1.106.2, /v1/messages served through the Responses API: no success event, no failure hook."""
    pre(lg, "m1")
    attempt(lg, "m1")
    failure_event(lg, "m1", connection_error())
    stream(lg, "m1", items=(b"event: message_start\ndata: {}\n\n", b'event: error\ndata: {"type":"error"}\n\n'))
    assert rundirs.total(rundirs.series(tmp_path), "requests") == 0  # a terminal event may still come
    later(lg, 6.0)  # past the grace, before the settle
    data = rundirs.series(tmp_path)
    assert (
        rundirs.total(data, "requests", status_code="500") == 1
        and rundirs.total(data, "errors", error_type="connection") == 1
    )
    assert rundirs.total(data, "provider_requests") == 0
    later(lg)
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "provider_errors", error_type="connection") == 1
    # 1.109.1 then sends the failure hook too: still one request
    fail(lg, connection_error(), model="ok", call_id="m1")
    assert rundirs.total(rundirs.series(tmp_path), "requests") == 1


def test_the_failure_hook_after_the_stream_ended_counts_once_not_twice(lg, tmp_path):
    pre(lg, "m2")
    attempt(lg, "m2")
    stream(lg, "m2", items=(b'event: error\ndata: {"type":"error"}\n\n',))
    fail(lg, connection_error(), model="ok", call_id="m2")  # 1.109.1: within milliseconds
    later(lg)
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "requests") == 1 and rundirs.total(data, "provider_errors") == 1


def test_a_client_that_disconnects_mid_stream_is_a_499_and_the_billing_success_is_not_a_second_request(lg, tmp_path):
    pre(lg, "d1")
    attempt(lg, "d1")
    stream(lg, "d1", items=(b"a", b"b", b"c"), close_after=1)
    success(lg, call_id="d1")  # LiteLLM bills what was streamed
    later(lg)
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "requests") == 1 and rundirs.total(data, "requests", status_code="499") == 1
    assert rundirs.total(data, "errors", error_type="client_disconnected", status_code="499") == 1
    assert rundirs.total(data, "provider_requests", status_code="200") == 1  # the upstream call did answer
    assert rundirs.total(data, "tokens_used", token_type="input") == 11  # and its tokens are billed
    assert rundirs.total(data, "provider_errors") == 0
    assert load(data) == 0


def test_a_client_gone_before_anything_was_relayed_cancels_the_attempt(lg, tmp_path):
    pre(lg, "d2")
    attempt(lg, "d2")
    stream(lg, "d2", items=(), raises=asyncio.CancelledError())
    later(lg)
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "requests", status_code="499") == 1
    assert rundirs.total(data, "provider_requests", status_code="499") == 1
    assert rundirs.total(data, "provider_errors", error_type="client_disconnected") == 1


def test_an_empty_stream_with_no_event_is_one_answered_request(lg, tmp_path):
    pre(lg, "e1")
    attempt(lg, "e1")
    stream(lg, "e1", items=())
    later(lg)
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "requests", status_code="200") == 1 and rundirs.total(data, "errors") == 0
    assert rundirs.total(data, "provider_requests", status_code="200") == 1


def test_one_upstream_call_reported_twice_is_one_failed_attempt(lg, tmp_path):
    """/v1/messages through the Responses API fires the deployment failure hook for aresponses, then
    for anthropic_messages, for one upstream request."""
    exc = exceptions.EXCEPTIONS["InternalServerError"][0]()
    pre(lg, "x1")
    attempt(lg, "x1")
    deployment_failure(lg, "x1", exc)
    deployment_failure(lg, "x1", exc)
    fail(lg, exc, model="ok", call_id="x1")
    later(lg)
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "provider_errors") == 1 and rundirs.total(data, "provider_requests") == 1


def test_retried_attempts_each_count_once(lg, tmp_path):
    exc = exceptions.EXCEPTIONS["InternalServerError"][0]()
    pre(lg, "r1")
    for _ in range(3):
        attempt(lg, "r1")
        deployment_failure(lg, "r1", exc)
    fail(lg, exc, model="ok", call_id="r1")
    later(lg)
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "provider_errors") == 3 and rundirs.total(data, "requests") == 1


def test_a_successful_stream_is_counted_once_with_nothing_left_to_settle(lg, tmp_path):
    pre(lg, "s1")
    attempt(lg, "s1")
    stream(lg, "s1", items=(b"x", b"y"))
    success(lg, call_id="s1", stream=True)
    assert len(lg.calls) == 0  # every attempt reported: forgotten at once, nothing left to settle
    later(lg)
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "requests") == 1 and rundirs.total(data, "provider_requests") == 1


def test_error_items_in_every_stream_format():
    from types import SimpleNamespace

    from litellm_observe.worker.observations import stream_error as _error_item

    assert _error_item(b'event: error\ndata: {"type":"error","error":{}}\n\n')  # /v1/messages
    assert _error_item('data: {"error": {"message": "x"}}\n\n')  # chat, as text
    assert _error_item(SimpleNamespace(type="response.failed")) and _error_item(SimpleNamespace(type="error"))
    assert not _error_item(b"event: content_block_delta\ndata: {}\n\n")
    assert not _error_item(SimpleNamespace(type="response.output_text.delta"))
    assert not _error_item(object())


def test_a_run_directory_removed_under_the_logger_is_made_again_with_every_count(tmp_path, caplog):
    """A cleaner that ignores locks removes the whole base: the supervisor's keep_run makes the run again and
    republishes this process's file; nothing it counted is lost; one error, counted once."""
    import shutil

    from litellm_observe import settings as settings_mod
    from litellm_observe.worker.logger import ObserveLogger

    base = tmp_path / "base"
    lg = ObserveLogger(
        settings_mod.load(environ={}, section={"metrics_dir": str(base), "event_batch_seconds": 0}),
        model_names=lambda: ["ok"],
        caching_on=lambda: False,
        start_exporter=False,
    )
    success(lg, call_id="a")
    assert lg.keep_run() is False  # nothing happened
    shutil.rmtree(base)
    with caplog.at_level("ERROR", logger="litellm_observe"):
        assert lg.keep_run() is True
        assert lg.keep_run() is False
    success(lg, call_id="b")
    data = rundirs.series(lg.run_directory)
    assert rundirs.total(data, "requests") == 2
    assert rundirs.total(data, "observe_internal_errors", hook="run_directory") == 1
    assert [r.getMessage() for r in caplog.records if "was removed while the proxy ran" in r.getMessage()] != []
    assert len([r for r in caplog.records if "was removed" in r.getMessage()]) == 1


# ---- deadlines on the monotonic clock (issue 21) -----------------------------------------------------------------
class SteppingClock:
    """Wall and monotonic clocks that tests move by hand: a wall clock step leaves the monotonic one alone."""

    def __init__(self, monkeypatch):
        self.wall, self.mono = time.time(), time.monotonic()
        monkeypatch.setattr(time, "time", lambda: self.wall)
        monkeypatch.setattr(time, "monotonic", lambda: self.mono)

    def elapse(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def test_a_backward_clock_step_never_delays_a_stream_that_ended_alone(lg, tmp_path, monkeypatch):
    clock = SteppingClock(monkeypatch)
    pre(lg, "s1")
    run(_consume(lg, "s1"))  # the stream ends, no terminal event follows
    clock.wall -= 3600  # NTP steps the clock back an hour
    clock.elapse(6)  # the grace (5 s) passes
    lg.settle()
    assert rundirs.total(rundirs.series(tmp_path), "requests") == 1  # counted after 5 s, not after an hour


def test_a_forward_clock_step_never_sweeps_requests_in_flight(lg, tmp_path, monkeypatch):
    clock = SteppingClock(monkeypatch)
    pre(lg, "a")
    pre(lg, "b")
    clock.wall += 1000  # past inflight_timeout_seconds (900) on the wall clock only
    clock.elapse(31)  # past the sweep interval
    pre(lg, "c")
    assert lg.inflight() == 3
    assert load(rundirs.series(tmp_path)) == 3


def test_every_hook_keeps_the_base_class_parameter_names_and_kind():
    """LiteLLM calls hooks with keyword arguments, inspects some signatures (fallback_depth) and looks for
    overrides in the class's own __dict__; the streaming hook must stay an async generator."""
    import inspect

    from litellm.integrations.custom_logger import CustomLogger

    from litellm_observe.worker.errors import HOOKS
    from litellm_observe.worker.logger import ObserveLogger

    hooks = [h for h in HOOKS if hasattr(CustomLogger, h)]
    assert len(hooks) == 9
    for name in hooks:
        ours, base = ObserveLogger.__dict__[name], getattr(CustomLogger, name)
        assert list(inspect.signature(ours).parameters) == list(inspect.signature(base).parameters), name
        assert (inspect.iscoroutinefunction(ours), inspect.isasyncgenfunction(ours)) == (
            inspect.iscoroutinefunction(base),
            inspect.isasyncgenfunction(base),
        ), name
