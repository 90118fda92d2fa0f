"""End to end: a real proxy with 4 workers, the fake upstream, the exporter."""

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from litellm_observe.catalogue import CATALOGUE, Kind
from tests.support.metrics import by_label, samples, total
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.smoke]
COUNTER_SERIES = {m.sample_names()[0] for m in CATALOGUE if m.kind is Kind.COUNTER} | {
    n for m in CATALOGUE if m.kind is Kind.HISTOGRAM for n in m.sample_names()
}


def test_requests_total_equals_what_the_client_saw_by_status(loaded_proxy):
    text = loaded_proxy.proxy.scrape()
    got = {int(code): v for code, v in by_label(text, "requests", "status_code").items()}
    assert got == {code: float(n) for code, n in loaded_proxy.counts.items()}
    assert {200, 400, 429, 500} <= set(got)  # the load produced each kind of outcome


def test_errors_identity_holds_exactly(loaded_proxy):
    text = loaded_proxy.proxy.scrape()
    failed = total(text, "requests", status_code="[45]..")
    assert failed > 0
    assert total(text, "errors") == failed


def test_twenty_scrapes_monotonic_valid_and_free_of_none(loaded_proxy):
    proxy = loaded_proxy.proxy
    previous: dict = {}
    for i in range(20):
        if i % 5 == 0:
            proxy.chat("ok", content=f"between scrapes {i}")  # keep the counters moving
        text = proxy.scrape()
        current = samples(text)
        for key, value in current.items():
            if key[0] in COUNTER_SERIES and key in previous:
                assert value >= previous[key], f"{key} went down: {previous[key]} -> {value}"
        for key in previous:
            if key[0] in COUNTER_SERIES:
                assert key in current, f"{key} disappeared"
        previous = current
        for _, labels in current:
            for name, value in labels:
                assert value not in ("", "None", "none", "null"), f"{name}={value!r}"
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_each_outcome_lands_in_its_metric(loaded_proxy):
    text = loaded_proxy.proxy.scrape()
    assert total(text, "errors", error_type="rate_limit", model="bad429") == 5
    assert total(text, "errors", error_type="not_found", model="unlisted") == 3  # unknown names collapse
    assert total(text, "cache_hits", model="ok") >= 1
    assert total(text, "fallbacks", from_model="primary", to_model="ok", success="true") == 2
    assert total(text, "retries", model="flaky") >= 1
    assert total(text, "spend_usd") > 0
    assert total(text, "tokens_used", token_type="input") > 0
    assert total(text, "provider_errors", model="bad500", error_type="internal_server_error") == 5
    s = samples(text)
    assert any(n.endswith("time_to_first_token_seconds_count") and v >= 10 for (n, _), v in s.items())
    assert any(n.endswith("requests_remaining") for (n, _), _ in s.items())
    # attempt level counts every upstream call: at least one per request that reached one
    assert total(text, "provider_requests") >= total(
        text, "requests", model="ok|slow|bad429|bad500|flaky|primary", status_code="200|429|500"
    ) - total(text, "cache_hits")
    assert not re.search(r'model="no-such-model', text)


def test_current_load_counts_a_stream_in_flight_and_returns_to_zero_after_disconnects(loaded_proxy):
    proxy = loaded_proxy.proxy
    with ThreadPoolExecutor(1) as pool:
        streaming = pool.submit(proxy.chat, "slowstream", "held open", True)
        wait_until(lambda: total(proxy.scrape(), "current_load") >= 1, timeout=20, what="current_load >= 1")
        assert streaming.result(timeout=30) == 200
    for i in range(4):
        assert proxy.disconnect_stream(content=f"gone {i}") == 200
    wait_until(lambda: total(proxy.scrape(), "current_load") == 0, timeout=30, what="current_load == 0")


def test_the_proxy_log_names_both_versions(loaded_proxy):
    from litellm_observe import __version__, compat

    assert (
        f"litellm_observe {__version__} with litellm {compat.litellm_version()}"
        in loaded_proxy.proxy.log_path.read_text(errors="replace")
    )
