"""Issue 5 §3: killed and recycled workers never lower a counter, and every response is counted."""

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from litellm_observe.rundir import layout
from tests.support import load
from tests.support.metrics import samples, total
from tests.support.proxy import Proxy
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
LOAD_SECONDS = 120  # upper bound on the load phase; it normally ends far sooner


class MonotonicWatch(threading.Thread):
    """Scrapes continuously; records every counter that ever went down."""

    def __init__(self, proxy: Proxy):
        super().__init__(daemon=True)
        self.proxy, self.stop, self.violations, self.scrapes = proxy, threading.Event(), [], 0
        self._last: dict = {}

    def run(self):
        with httpx.Client(timeout=10) as c:
            while not self.stop.is_set():
                try:
                    text = c.get(self.proxy.metrics_url).text
                except httpx.HTTPError as e:
                    self.violations.append(f"scrape failed: {e!r}")
                    time.sleep(0.2)
                    continue
                now = {k: v for k, v in samples(text).items() if k[0].endswith(("_total", "_bucket", "_count", "_sum"))}
                for key, value in now.items():
                    if value < self._last.get(key, 0.0):
                        self.violations.append(f"{key}: {self._last[key]} -> {value}")
                for key in self._last:
                    if key not in now:
                        self.violations.append(f"{key} disappeared")
                self._last = now
                self.scrapes += 1
                time.sleep(0.1)


def test_recycled_and_killed_workers_never_lower_a_counter(upstream, tmp_path):
    with Proxy(tmp_path, upstream.base_url, workers=4, args=("--max_requests_before_restart", "15")) as proxy:
        watch = MonotonicWatch(proxy)
        watch.start()
        jobs = [dict(model="ok" if i % 5 else "bad500", content=f"recycle {i}", stream=i % 3 == 0) for i in range(400)]
        seen, broken = load.send(proxy, jobs, threads=6, seconds=LOAD_SECONDS)
        # uvicorn closes connections a recycling worker accepted but never read, and a loaded
        # machine may not send every job in time: those requests got no answer, were never
        # processed, and must never be counted. How many there are is not ours to assert; a
        # loose floor only says the run exercised something.
        expected = sum(seen.values())
        assert expected + len(broken) == len(jobs)
        assert expected >= 40, f"only {expected} of {len(jobs)} answered: {broken[:5]}"
        wait_until(
            lambda: total(proxy.scrape(), "requests") == expected,
            timeout=60,
            what=f"requests_total == {expected} answered after recycling ({len(broken)} unanswered)",
        )
        time.sleep(2.0)
        assert total(proxy.scrape(), "requests") == expected, "an unanswered request was counted"
        print(f"recycling: {expected} answered, {len(broken)} unanswered: {sorted(set(b[:60] for b in broken))}")
        recycled = len(os.listdir(proxy.base_dir))
        assert recycled == 1

        # Now SIGKILL a worker while it holds requests in flight. Quiet first, so no
        # finished request of the victim is still waiting for its success event.
        time.sleep(1.0)
        before = total(proxy.scrape(), "requests")
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(lambda i=i: _one_or_broken(proxy, i)) for i in range(8)]
            wait_until(lambda: total(proxy.scrape(), "current_load") >= 4, timeout=20, what="requests in flight")
            victim = proxy.worker_pids()[0]
            os.kill(victim, signal.SIGKILL)
            results = [f.result(timeout=60) for f in futures]
        broken = results.count("broken")  # in flight in the killed worker: no answer, never counted
        answered = len(results) - broken
        wait_until(
            lambda: total(proxy.scrape(), "requests") == before + answered,
            timeout=60,
            what=f"requests_total == {before} + {answered} answered (killed in flight: {broken})",
        )
        watch.stop.set()
        watch.join(timeout=15)
        assert watch.scrapes > 20
        assert watch.violations == []
        wait_until(lambda: total(proxy.scrape(), "current_load") == 0, timeout=30, what="current_load back to 0")


def _one_or_broken(proxy: Proxy, i: int):
    try:
        return proxy.chat("slow", content=f"held {i}")
    except httpx.HTTPError:
        return "broken"


def test_zero_byte_and_truncated_sample_files_do_not_fail_the_scrape(loaded_proxy, caplog):
    proxy = loaded_proxy.proxy
    run = [d for d in proxy.base_dir.iterdir() if d.name.startswith(layout.RUN_PREFIX)][0]
    before = total(proxy.scrape(), "requests")
    (run / "w-999999-zero.lob").write_bytes(b"")
    (run / "w-999998-torn.lob").write_bytes(b"LOB1\0\0\0\0" + (4096).to_bytes(8, "little") + b"\x05\0\0\0")
    text = proxy.scrape()
    assert total(text, "requests") == before
    assert total(text, "observe_internal_errors", hook="exporter_read") == 2
    text = proxy.scrape()  # set aside after the first read: counted once, not again
    assert total(text, "observe_internal_errors", hook="exporter_read") == 2
    assert proxy.log_tail(400).count("skipped unreadable sample file") == 2
