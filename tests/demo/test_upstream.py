"""The demo's side of the fake upstream: varied answers, rate-limit headers, failures, outages."""

from __future__ import annotations

from collections import Counter

import httpx

from litellm_observe.demo import upstream
from litellm_observe.demo.upstream import FakeUpstream


def _post(up: FakeUpstream, model: str, stream: bool = False) -> httpx.Response:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": stream,
        "stream_options": {"include_usage": True},
    }
    return httpx.post(f"{up.base_url}/chat/completions", json=body, timeout=30)


def test_demo_answers_vary_and_carry_rate_limit_headers(monkeypatch):
    monkeypatch.setattr(upstream, "DEMO_MEDIAN_SECONDS", 0.001)
    with FakeUpstream(seed=7) as up:
        replies = [_post(up, "demo-a") for _ in range(30)]
        ok = [r for r in replies if r.status_code == 200]
        assert len({r.json()["usage"]["prompt_tokens"] for r in ok}) > 5
        remaining = [int(r.headers["x-ratelimit-remaining-requests"]) for r in ok]
        assert remaining == sorted(remaining, reverse=True) and remaining[0] < upstream.DEMO_LIMIT_REQUESTS
        assert all(r.headers["x-ratelimit-limit-requests"] == str(upstream.DEMO_LIMIT_REQUESTS) for r in ok)
        reasoner = _post(up, "demo-o3-reasoner")
        while reasoner.status_code != 200:
            reasoner = _post(up, "demo-o3-reasoner")
        details = reasoner.json()["usage"]["completion_tokens_details"]
        assert details["reasoning_tokens"] == reasoner.json()["usage"]["completion_tokens"] // 2


def test_demo_streams_end_with_usage(monkeypatch):
    monkeypatch.setattr(upstream, "DEMO_MEDIAN_SECONDS", 0.001)
    with FakeUpstream(seed=1) as up:
        r = _post(up, "demo-a", stream=True)
        while r.status_code != 200:
            r = _post(up, "demo-a", stream=True)
        frames = [line for line in r.text.splitlines() if line.startswith("data: ")]
        assert frames[-1] == "data: [DONE]" and '"usage"' in frames[-2] and len(frames) >= 4


def test_failures_come_now_and_then_and_an_outage_fails_every_call(monkeypatch):
    monkeypatch.setattr(upstream, "DEMO_MEDIAN_SECONDS", 0.0001)
    monkeypatch.setattr(upstream, "DEMO_429_RATIO", 0.2)
    monkeypatch.setattr(upstream, "DEMO_500_RATIO", 0.1)
    with FakeUpstream(seed=3) as up:
        seen = Counter(_post(up, "demo-a").status_code for _ in range(200))
        assert set(seen) == {200, 429, 500} and seen[200] > seen[429] > seen[500] > 0
        up.outage.add("demo-b")
        assert {_post(up, "demo-b").status_code for _ in range(20)} == {500}
        assert 200 in {_post(up, "demo-a").status_code for _ in range(20)}
