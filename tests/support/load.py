"""A mixed, bounded load: every kind of outcome the metrics must account for."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

BAD_JSON = b'{"model": "ok", bad json'


def mixed_jobs(tag: str = "") -> list[tuple]:
    """(kwargs for Proxy.chat) jobs; unique contents except the repeated cache probe."""
    jobs: list[dict] = []
    jobs += [dict(model="ok", content=f"{tag}plain {i}") for i in range(20)]
    jobs += [dict(model="ok", content=f"{tag}stream {i}", stream=True) for i in range(10)]
    jobs += [dict(model="ok", content=f"{tag}same question")] * 12  # local cache per worker: repeats hit
    jobs += [dict(model="slow", content=f"{tag}slow")]
    jobs += [dict(model="bad429", content=f"{tag}429 {i}") for i in range(5)]
    jobs += [dict(model="bad500", content=f"{tag}500 {i}") for i in range(5)]
    jobs += [dict(model="flaky", content=f"{tag}flaky {i}") for i in range(4)]
    jobs += [dict(model="primary", content=f"{tag}fallback {i}") for i in range(2)]
    jobs += [dict(model=f"{tag}no-such-model-{i}") for i in range(3)]
    jobs += [dict(model="ok", key="sk-wrong-key") for _ in range(3)]
    jobs += [dict(model="ok", body=BAD_JSON) for _ in range(3)]
    return jobs


def run(proxy, jobs: list[dict], threads: int = 6) -> Counter:
    """Send every job (cache probes in order, the rest concurrently); Counter of statuses seen."""
    seen: Counter = Counter()
    probes = [j for j in jobs if j.get("content", "").endswith("same question")]
    rest = [j for j in jobs if not j.get("content", "").endswith("same question")]
    with ThreadPoolExecutor(threads) as pool:
        for status in pool.map(lambda j: proxy.chat(**j), rest):
            seen[status] += 1
    for job in probes:  # one at a time, so each worker's cache write lands before its next read
        seen[proxy.chat(**job)] += 1
    return seen


def send(proxy, jobs: list[dict], threads: int, seconds: float) -> tuple[Counter, list[str]]:
    """Send jobs concurrently, bounded in time. Returns the statuses the client saw, and the
    requests that got no answer (why: the exception, or `late` past the deadline)."""
    deadline = time.monotonic() + seconds

    def one(job):
        if time.monotonic() > deadline:
            return "late"
        try:
            return proxy.chat(**job)
        except httpx.HTTPError as e:
            return f"broken: {type(e).__name__}: {e}"

    seen: Counter = Counter()
    unanswered: list[str] = []
    with ThreadPoolExecutor(threads) as pool:
        for status in pool.map(one, jobs):
            if isinstance(status, str):
                unanswered.append(status)
            else:
                seen[status] += 1
    return seen, unanswered
