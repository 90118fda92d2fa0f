"""Every server LiteLLM runs its workers under, with 4 workers (issue 19).

uvicorn, the default, is tests/e2e/test_proxy.py's. Here: gunicorn (`--run_gunicorn`: workers forked from a
preloaded master) and granian (`--run_granian`, a Rust server that spawns its Python workers; in the proxy
extra of every release of the matrix). Each gets the mixed load of tests/support/load.py, then: exact counts
by status code, the errors identity, no counter decrease over scrapes, and worker health (starts, exits, live
workers) right before and after a worker is SIGKILLed. `--run_hypercorn` always runs one worker (LiteLLM
ignores --num_workers there) and is not in LiteLLM's proxy extra: README, Supported LiteLLM versions.
"""

from __future__ import annotations

import os
import signal

import pytest

from tests.support import load
from tests.support.metrics import by_label, samples, total
from tests.support.proxy import Proxy, supports_flag
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.smoke]
WORKERS = 4
SERVERS = {"gunicorn": "--run_gunicorn", "granian": "--run_granian"}


def _health(text: str) -> dict[str, float]:
    return {
        "starts": total(text, "worker_starts"),
        "killed": total(text, "worker_exits", reason="killed"),
        "recycled": total(text, "worker_exits", reason="recycled"),
        "live": total(text, "workers_live"),
    }


@pytest.fixture(scope="module", params=sorted(SERVERS))
def served(request, upstream, tmp_path_factory):
    flag = SERVERS[request.param]
    if not supports_flag(flag):
        pytest.skip(f"this LiteLLM has no {flag}")
    proxy = Proxy(tmp_path_factory.mktemp(request.param), upstream.base_url, workers=WORKERS, args=(flag,))
    with proxy:
        counts = load.run(proxy, load.mixed_jobs(f"{request.param} "))
        expected = sum(counts.values())
        wait_until(
            lambda: total(proxy.scrape(), "requests") == expected,
            timeout=60,
            what=f"requests_total to reach {expected}",
        )
        yield request.param, proxy, counts


def test_counts_by_status_are_exact_and_the_errors_identity_holds(served):
    _, proxy, counts = served
    text = proxy.scrape()
    got = {int(code): v for code, v in by_label(text, "requests", "status_code").items()}
    assert got == {code: float(n) for code, n in counts.items()}
    assert {200, 400, 429, 500} <= set(got)
    failed = total(text, "requests", status_code="[45]..")
    assert failed > 0 and total(text, "errors") == failed


def test_no_counter_goes_down_across_scrapes(served):
    _, proxy, _ = served
    previous: dict = {}
    for i in range(10):
        if i % 3 == 0:
            assert proxy.chat("ok", content=f"between scrapes {i}") == 200
        current = {k: v for k, v in samples(proxy.scrape()).items() if k[0].endswith(("_total", "_count", "_sum"))}
        for key, value in previous.items():
            assert current.get(key, -1) >= value, f"{key}: {value} -> {current.get(key)}"
        previous = current


def test_worker_health_before_and_after_a_worker_is_killed(served):
    server, proxy, _ = served
    pids = proxy.worker_pids()
    assert len(pids) == WORKERS
    health = _health(proxy.scrape())
    assert health == {"starts": WORKERS, "killed": 0, "recycled": 0, "live": WORKERS}, health
    os.kill(pids[-1], signal.SIGKILL)
    health = wait_until(
        lambda: (h := _health(proxy.scrape()))["killed"] == 1 and h,
        timeout=60,
        what="the killed worker counted as killed",
    )
    assert health["starts"] - health["killed"] - health["recycled"] == health["live"]
    if server == "gunicorn":  # gunicorn replaces it; granian (respawn_failed_workers off) stops the server
        health = wait_until(
            lambda: (h := _health(proxy.scrape()))["live"] == WORKERS and h,
            timeout=120,
            what="gunicorn's replacement worker live",
        )
        assert health == {"starts": WORKERS + 1, "killed": 1, "recycled": 0, "live": WORKERS}, health
        assert proxy.chat("ok", content="after the kill") == 200
