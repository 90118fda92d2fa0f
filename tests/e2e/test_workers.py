"""Issue 13: worker health through a real 4-worker proxy that recycles its workers.

`--max_requests_before_restart 10` makes workers exit by themselves under load; one worker is SIGKILLed;
a test-only callback (tests/support/blocking.py) blocks a worker's event loop for 2.5 s on BLOCKLOOP.
The oracle for starts is the proxy's log: every worker LiteLLM starts prints "Proxy initialized with
Config" once, when it loads the config.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from litellm_observe.catalogue import CATALOGUE, LOOP_LAG, GaugeMode
from litellm_observe.rundir import runs
from tests.support.metrics import samples
from tests.support.proxy import Proxy, default_config, free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
SUPPORT = Path(__file__).parent.parent / "support"
WORKERS, RECYCLE_AFTER, REQUESTS, BLOCKS = 4, 10, 80, 2


def _value(text: str, name: str, **labels: str) -> float:
    return sum(
        v
        for (n, ls), v in samples(text).items()
        if n == f"litellm_{name}" and all(dict(ls).get(k) == x for k, x in labels.items())
    )


def _started(proxy: Proxy) -> int:
    return proxy.log_path.read_text(errors="replace").count("Proxy initialized with Config")


@pytest.fixture(scope="module")
def proxy(upstream, tmp_path_factory):
    config = default_config(upstream.base_url, free_port())
    config["litellm_settings"]["callbacks"].append("blocking.blocker")
    with Proxy(
        tmp_path_factory.mktemp("workers"),
        upstream.base_url,
        workers=WORKERS,
        config=config,
        args=("--max_requests_before_restart", str(RECYCLE_AFTER)),
        files={"blocking.py": (SUPPORT / "blocking.py").read_text()},
    ) as p:
        yield p


def _lasting(text: str) -> set:
    """The series that do not depend on which live worker served what: all but the most-recent gauges and
    the labelled live-sum gauges (in flight per endpoint): a live worker that served nothing yet holds none,
    so they come and go with the workers, by design."""
    recent = {
        m.family()
        for m in CATALOGUE
        if m.gauge_mode is GaugeMode.MOSTRECENT or (m.gauge_mode is GaugeMode.LIVESUM and m.labels)
    }
    return {k for k in samples(text) if k[0] not in recent}


def _settled(proxy: Proxy) -> str | None:
    """A scrape once every started worker is accounted for and all are live again."""
    text = proxy.scrape()
    starts = _value(text, "worker_starts_total")
    exits = _value(text, "worker_exits_total")
    live = _value(text, "workers_live")
    ok = starts == _started(proxy) and starts == exits + live and live == WORKERS == len(proxy.worker_pids())
    return text if ok else None


def _load(proxy: Proxy, tag: str) -> None:
    for i in range(REQUESTS // 2):
        try:
            proxy.chat("ok", content=f"recycle {tag} {i}")
        except httpx.TransportError:
            pass  # uvicorn may reset a connection while it recycles a worker: not ours to count


def test_recycled_workers_are_counted_exactly_and_leave_no_series(proxy):
    wait_until(lambda: _settled(proxy), timeout=120, what="workers settled after start-up")
    _load(proxy, "a")
    text = wait_until(lambda: _settled(proxy), timeout=240, what="recycled workers replaced and counted")
    series = _lasting(text)
    _load(proxy, "b")  # as many recycles again
    text = wait_until(lambda: _settled(proxy), timeout=240, what="recycled workers replaced and counted")
    starts = _value(text, "worker_starts_total")
    assert starts >= WORKERS + REQUESTS // RECYCLE_AFTER - WORKERS  # workers were recycled
    assert _value(text, "worker_exits_total", reason="recycled") == starts - WORKERS
    assert _value(text, "worker_exits_total", reason="killed") == 0
    # recycled workers' gauges dropped out: the second round of recycling added no series
    assert _lasting(text) == series, sorted(_lasting(text) ^ series)[:10]


def test_a_killed_worker_is_counted_as_killed(proxy):
    text = wait_until(lambda: _settled(proxy), timeout=240, what="workers settled")
    killed_before = _value(text, "worker_exits_total", reason="killed")
    # the newest worker: an older one may be a recycled worker that already wrote its exit and lingers in
    # LiteLLM's last garbage collection until uvicorn kills it (README, --timeout_worker_healthcheck)
    victim = max(proxy.worker_pids(), key=lambda pid: runs.start_time(pid) or 0)
    os.kill(victim, signal.SIGKILL)
    text = wait_until(
        lambda: (t := _settled(proxy)) and victim not in proxy.worker_pids() and t,
        timeout=240,
        what="the killed worker replaced and counted",
    )
    assert _value(text, "worker_exits_total", reason="killed") == killed_before + 1


def test_a_blocked_event_loop_shows_in_the_lag_histogram(proxy):
    slow = [le for le in LOOP_LAG.buckets if le >= 1.0][0]  # a 2.5 s block makes one tick over 1.5 s late

    def over(text: str) -> float:
        return _value(text, "worker_event_loop_lag_seconds_count") - _value(
            text, "worker_event_loop_lag_seconds_bucket", le=repr(slow)
        )

    before = over(proxy.scrape())
    for i in range(BLOCKS):
        assert proxy.chat("ok", content=f"BLOCKLOOP {i} {os.getpid()}") == 200
    wait_until(lambda: over(proxy.scrape()) >= before + BLOCKS, timeout=60, what="the blocks in the lag histogram")


def test_memory_gauges_match_the_live_workers(proxy):
    wait_until(lambda: _settled(proxy), timeout=240, what="workers settled")
    for _ in range(3):  # RSS moves a little between two reads: compare reads taken close together
        text = proxy.scrape()
        rss = [proxy.rss_kib(pid) * 1024 for pid in proxy.worker_pids()]
        biggest, together = (
            _value(text, "worker_resident_memory_max_bytes"),
            _value(text, "workers_resident_memory_bytes"),
        )
        if 0.8 * max(rss) <= biggest <= 1.25 * max(rss) and 0.8 * sum(rss) <= together <= 1.25 * sum(rss):
            return
    pytest.fail(f"memory gauges {biggest:.0f} (max) {together:.0f} (sum) far from the workers' RSS {rss}")
