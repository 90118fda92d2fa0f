import time
from dataclasses import dataclass, field
from collections import Counter

import pytest

from tests.support import load
from tests.support.fake_upstream import FakeUpstream
from tests.support.metrics import total
from tests.support.proxy import Proxy


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.25, what: str = "condition"):
    """Poll a predicate, bounded in time; returns its last truthy value or fails."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@pytest.fixture(scope="session")
def upstream():
    with FakeUpstream() as up:
        yield up


@dataclass
class LoadedProxy:
    proxy: Proxy
    counts: Counter = field(default_factory=Counter)

    @property
    def metrics_target(self) -> str:
        return self.proxy.metrics_target

    @property
    def metrics_url(self) -> str:
        return self.proxy.metrics_url


@pytest.fixture(scope="session")
def loaded_proxy(upstream, tmp_path_factory):
    """A real proxy, 4 workers, after a mixed load whose every response the exporter reflects."""
    proxy = Proxy(tmp_path_factory.mktemp("proxy"), upstream.base_url, workers=4)
    with proxy:
        counts = load.run(proxy, load.mixed_jobs())
        expected = sum(counts.values())
        wait_until(lambda: total(proxy.scrape(), "requests") == expected, timeout=60,
                   what=f"requests_total to reach {expected}")
        yield LoadedProxy(proxy, counts)
