"""series: label sets resolved once, cached only while labels.py would resolve them the same way."""

from __future__ import annotations

from litellm_observe.rundir import samplefile
from litellm_observe.rundir.record import Recorder
from litellm_observe.rundir.writer import SampleWriter
from litellm_observe.worker import series as series_mod
from litellm_observe.worker.labels import OVERFLOW, UNLISTED, LabelCaps, Labeller
from litellm_observe.worker.series import REQUESTS, SeriesCache


class ModelList:
    def __init__(self, names):
        self.names, self.reads = list(names), 0

    def __call__(self):
        self.reads += 1
        return self.names


def _cache(tmp_path, model_names=None, cap=100):
    overflows = []
    store = SampleWriter(str(tmp_path))
    rec = Recorder(store)
    labeller = Labeller(LabelCaps(lambda label: cap, None, overflows.append), model_names or (lambda: None))
    return SeriesCache(rec, labeller), labeller, overflows, store


def test_a_label_set_is_resolved_once(tmp_path):
    cache, _, _, _ = _cache(tmp_path)
    first = cache.success("openai", "gpt", None, "team-a", "chat", "dep-1")
    assert cache.success("openai", "gpt", None, "team-a", "chat", "dep-1") is first
    assert (first.model, first.provider, first.served, first.team, first.deployment) == (
        "gpt",
        "openai",
        "gpt",
        "team-a",
        "dep-1",
    )
    fallback = cache.success("openai", "gpt", "claude", "team-a", "chat", "dep-1")
    assert fallback is not first and (fallback.model, fallback.served) == ("claude", "gpt")


def test_an_overflowing_value_is_resolved_and_counted_on_every_event(tmp_path):
    cache, _, overflows, _ = _cache(tmp_path, cap=1)
    cache.success("openai", "gpt", None, "team-a", "chat", "dep-1")  # admits team-a
    a = cache.success("openai", "gpt", None, "team-b", "chat", "dep-1")
    b = cache.success("openai", "gpt", None, "team-b", "chat", "dep-1")
    assert a.team == b.team == OVERFLOW and a is not b
    assert overflows.count("team") == 2  # once per event, as labels.py counts it


def test_an_unlisted_model_is_looked_up_again_and_a_new_list_empties_the_cache(tmp_path, monkeypatch):
    models = ModelList(["gpt"])
    clock = [1000.0]
    monkeypatch.setattr("litellm_observe.worker.labels.time.monotonic", lambda: clock[0])
    cache, labeller, _, _ = _cache(tmp_path, models)
    listed = cache.success("openai", "gpt", None, "t", "chat", "d")
    assert cache.success("openai", "new-model", None, "t", "chat", "d").served == UNLISTED
    models.names.append("new-model")
    clock[0] += 60  # past MODEL_REFRESH_SECONDS: the labeller reads the list again
    assert cache.success("openai", "new-model", None, "t", "chat", "d").served == "new-model"
    assert cache.success("openai", "gpt", None, "t", "chat", "d") is not listed  # resolved anew after the read
    assert labeller.generation == models.reads


def test_values_that_are_not_str_are_never_cache_keys(tmp_path):
    cache, _, _, _ = _cache(tmp_path)
    a = cache.success(["openai"], 3, None, {"x": 1}, "chat", None)  # unhashable: must not raise
    b = cache.success(["openai"], 3, None, {"x": 1}, "chat", None)
    assert a is not b and (a.provider, a.served, a.team) == (b.provider, b.served, b.team)


def test_the_cache_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(series_mod, "MAX_CACHED", 8)
    cache, _, _, _ = _cache(tmp_path, cap=1000)
    for n in range(50):
        cache.success("openai", "gpt", None, f"team-{n}", "chat", "d")
        cache.budget("key", f"key-{n}")
    assert len(cache._success) <= 8 and len(cache._budgets) <= 8


def test_an_overflowing_entity_is_not_cached(tmp_path):
    cache, _, overflows, _ = _cache(tmp_path, cap=1)
    assert cache.budget("key", "k1") is cache.budget("key", "k1")
    assert cache.budget("key", "k2") is not cache.budget("key", "k2")
    assert overflows == ["entity.key", "entity.key"]


def test_writes_land_on_the_resolved_labels(tmp_path):
    cache, _, _, store = _cache(tmp_path)
    s = cache.success("openai", "gpt", None, None, "chat", "dep-1")
    with store.lock:
        s.inc(REQUESTS)
        s.inc(REQUESTS)
    records = {samplefile.decode_key(k)[::2]: v for k, v in samplefile.read(store.path).records}
    assert records == {("requests", ("gpt", "openai", "unknown", "chat", "200")): (2.0,)}
