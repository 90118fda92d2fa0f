import os
from collections import Counter
from dataclasses import dataclass, field

import pytest

# Every server a test starts listens on loopback and nothing may leave the machine: a host's
# HTTP(S)_PROXY must not route loopback calls (the clients' or LiteLLM's own to the fake upstream),
# and LiteLLM must not fetch its cost map or a tokenizer. Set before anything imports litellm;
# proxies and workers inherit it.
from litellm_observe.demo.stack import direct_loopback  # noqa: E402 - imports no litellm

direct_loopback(os.environ)
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from litellm_observe.demo.upstream import FakeUpstream  # noqa: E402
from tests.support import load  # noqa: E402
from tests.support.metrics import total  # noqa: E402
from tests.support.proxy import Proxy  # noqa: E402
from tests.support.waiting import wait_until  # noqa: E402,F401  (fixtures below wait)


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
        wait_until(
            lambda: total(proxy.scrape(), "requests") == expected,
            timeout=60,
            what=f"requests_total to reach {expected}",
        )
        yield LoadedProxy(proxy, counts)
