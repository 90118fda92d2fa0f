"""series: each label set's series made once, written by index, in a bounded cache."""

from __future__ import annotations

from litellm_observe.rundir import samplefile
from litellm_observe.rundir.record import Recorder
from litellm_observe.rundir.writer import SampleWriter
from litellm_observe.worker import series as series_mod
from litellm_observe.worker.series import (
    ATTEMPT_ERRORS,
    ATTEMPT_REQUESTS,
    BUDGET_MAX,
    FAILED_ERRORS,
    FAILED_REQUESTS,
    REQUESTS,
    SeriesCache,
)


def _records(store):
    return {samplefile.decode_key(k)[::2]: v for k, v in samplefile.read(store.path).records}


def test_a_label_set_is_made_once(tmp_path):
    cache = SeriesCache(Recorder(SampleWriter(str(tmp_path))))
    first = cache.success("gpt", "openai", "gpt", "team-a", "chat", "dep-1")
    assert cache.success("gpt", "openai", "gpt", "team-a", "chat", "dep-1") is first
    assert cache.success("claude", "openai", "gpt", "team-a", "chat", "dep-1") is not first  # a fallback
    assert cache.budget("key", "k") is cache.budget("key", "k") is not cache.budget("team", "k")
    assert cache.attempt_failure("p", "m", "d", "429", "rate_limit") is cache.attempt_failure(
        "p", "m", "d", "429", "rate_limit"
    )


def test_writes_land_on_their_label_sets(tmp_path):
    store = SampleWriter(str(tmp_path))
    cache = SeriesCache(Recorder(store))
    ok = cache.success("gpt", "openai", "gpt", "unknown", "chat", "dep-1")
    attempt = cache.attempt_failure("openai", "gpt", "dep-1", "429", "rate_limit")
    failed = cache.request_failure("gpt", "openai", "unknown", "chat", "rate_limit", "429")
    with store.lock:
        ok.inc(REQUESTS)
        ok.inc(REQUESTS)
        attempt.inc(ATTEMPT_REQUESTS)
        attempt.inc(ATTEMPT_ERRORS)
        failed.inc(FAILED_REQUESTS)
        failed.inc(FAILED_ERRORS)
        cache.budget("key", "k").set(BUDGET_MAX, 10.0, 5.0)
    assert _records(store) == {
        ("requests", ("gpt", "openai", "unknown", "chat", "200")): (2.0,),
        ("provider_requests", ("openai", "gpt", "dep-1", "429")): (1.0,),
        ("provider_errors", ("openai", "gpt", "dep-1", "rate_limit")): (1.0,),
        ("requests", ("gpt", "openai", "unknown", "chat", "429")): (1.0,),
        ("errors", ("gpt", "openai", "unknown", "chat", "rate_limit", "429")): (1.0,),
        ("budget_max_usd", ("key", "k")): (10.0, 5.0),
    }


def test_the_caches_are_bounded_and_a_remade_series_writes_on(tmp_path, monkeypatch):
    monkeypatch.setattr(series_mod, "MAX_CACHED", 8)
    store = SampleWriter(str(tmp_path))
    cache = SeriesCache(Recorder(store))
    for n in range(50):
        for team in (f"team-{n}", "team-0"):
            with store.lock:
                cache.success("gpt", "openai", "gpt", team, "chat", "d").inc(REQUESTS)
    assert all(len(c) <= 8 for c in (cache._success, cache._budgets))
    assert _records(store)[("requests", ("gpt", "openai", "team-0", "chat", "200"))] == (51.0,)
