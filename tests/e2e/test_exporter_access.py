"""Issue 5 §5 and the sidecar: exporter credentials, and `litellm_observe serve-metrics`."""

import base64
import subprocess
import sys
import time

import httpx
import pytest

from tests.support.metrics import samples, total
from tests.support.proxy import Proxy, default_config, free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def test_exporter_requires_credentials_and_scrapes_are_not_proxy_requests(upstream, tmp_path):
    config = default_config(upstream.base_url, free_port())
    config["litellm_observe"].update(bearer_token="scrape-token", basic_auth_username="prom", basic_auth_password="pw")
    with Proxy(tmp_path, upstream.base_url, workers=2, config=config, expect_exporter=False) as proxy:
        bearer = {"Authorization": "Bearer scrape-token"}
        basic = {"Authorization": "Basic " + base64.b64encode(b"prom:pw").decode()}
        wait_until(lambda: _status(proxy, bearer) == 200, timeout=60, what="exporter up")
        assert proxy.chat("ok", content="one real request") == 200
        wait_until(lambda: total(proxy.scrape(bearer), "requests") == 1, timeout=30, what="one request")
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic bm9wZTpub3Bl"}):
            r = proxy.client.get(proxy.metrics_url, headers=headers)
            assert r.status_code == 401 and b"litellm_" not in r.content
        for _ in range(10):
            assert _status(proxy, bearer) == 200 and _status(proxy, basic) == 200
        text = proxy.scrape(bearer)
        assert total(text, "requests") == 1 and total(text, "errors") == 0  # scrapes are not requests


def _status(proxy: Proxy, headers: dict) -> int:
    try:
        return proxy.client.get(proxy.metrics_url, headers=headers).status_code
    except httpx.HTTPError:
        return 0


def test_serve_metrics_sidecar_serves_the_same_aggregate(loaded_proxy):
    proxy = loaded_proxy.proxy
    base = proxy.base_dir
    port = free_port()
    side = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "litellm_observe",
            "serve-metrics",
            "--dir",
            str(base),
            "--address",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        text = wait_until(lambda: _get(url), timeout=30, what="sidecar up")
        ours = samples(proxy.scrape())
        theirs = samples(text)
        counters = {k: v for k, v in ours.items() if k[0].endswith("_total") and "observe" not in k[0]}
        assert counters and all(theirs.get(k) == v for k, v in counters.items())
    finally:
        side.terminate()
        side.wait(timeout=10)


def _get(url: str) -> str | None:
    try:
        r = httpx.get(url, timeout=5)
        return r.text if r.status_code == 200 else None
    except httpx.HTTPError:
        time.sleep(0.2)
        return None
