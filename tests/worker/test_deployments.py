"""deployments: cooldowns read from a router's cooldown cache, counted once per (deployment,
timestamp) within a worker and across workers, polled while active, and forgotten after they lapse."""

from __future__ import annotations

import asyncio
import os

import pytest

from litellm_observe.rundir import layout
from litellm_observe.worker import deployments
from litellm_observe.worker.deployments import CooldownWatch, Deployment

run = asyncio.run


class FakeCooldownCache:
    """LiteLLM's CooldownCache interface: async_get_active_cooldowns(model_ids, parent_otel_span)."""

    def __init__(self):
        self.active: dict[str, dict] = {}
        self.reads = 0

    async def async_get_active_cooldowns(self, model_ids, parent_otel_span):
        self.reads += 1
        return [(i, self.active[i]) for i in model_ids if i in self.active]


class FakeRouter:
    def __init__(self, cache: FakeCooldownCache):
        self.cooldown_cache = cache
        self.model_list = [
            {
                "model_name": "gpt",
                "litellm_params": {"model": "openai/gpt-4o", "api_base": "https://eu.example/v1"},
                "model_info": {"id": "gpt-eu"},
            },
            {
                "model_name": "gpt",
                "litellm_params": {"model": "azure/gpt-4o", "api_base": "https://us.example"},
                "model_info": {"id": "a" * 64},
            },  # LiteLLM's own hash id: named from model and host
            {"model_name": "gpt", "litellm_params": {"model": "openai/x"}, "model_info": {}},  # no id: not watched
        ]


EU = Deployment("openai", "gpt", "gpt-eu")
US = Deployment("azure", "gpt", "gpt-4o@us.example")


class Clock:
    def __init__(self, now: float = 1_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup(tmp_path):
    cache, clock = FakeCooldownCache(), Clock()
    directory = layout.prepare(str(tmp_path / "run"))
    return cache, clock, directory, lambda: CooldownWatch(directory, lambda: FakeRouter(cache), clock, clock)


def test_a_failure_schedules_one_read_soon(setup):
    _, clock, _, make = setup
    watch = make()
    assert watch.next_read is None
    assert watch.failed(clock.now) and watch.next_read == clock.now + deployments.READ_AFTER_FAILURE
    assert not watch.failed(clock.now + 0.1)  # already due sooner
    assert watch.next_read == clock.now + deployments.READ_AFTER_FAILURE


def test_a_cooldown_is_counted_once_and_polled_until_it_lapses(setup):
    cache, clock, _, make = setup
    watch = make()
    cache.active["gpt-eu"] = {"timestamp": clock.now - 1, "cooldown_time": 5, "status_code": "429"}
    first = run(watch.read())
    assert [(c.deployment, c.reason) for c in first.started] == [(EU, "429")]
    assert first.active == [EU] and first.lapsed == [] and first.errors == []
    assert watch.next_read == clock.now + deployments.POLL_SECONDS  # active: keep watching
    clock.now += 2
    again = run(watch.read())
    assert again.started == [] and again.active == [EU]  # the same cooldown: not counted twice
    del cache.active["gpt-eu"]
    clock.now += 4
    over = run(watch.read())
    assert over.started == [] and over.active == [] and over.lapsed == [EU]
    assert watch.next_read is None  # nothing active: no more reads until the next failure


def test_a_new_cooldown_of_the_same_deployment_counts_again(setup):
    cache, clock, _, make = setup
    watch = make()
    cache.active["gpt-eu"] = {"timestamp": clock.now, "cooldown_time": 5, "status_code": "500"}
    assert len(run(watch.read()).started) == 1
    cache.active["gpt-eu"] = {"timestamp": clock.now + 6, "cooldown_time": 5, "status_code": "500"}
    clock.now += 7
    assert len(run(watch.read()).started) == 1


def test_deployments_without_a_readable_id_are_named_from_model_and_host(setup):
    cache, clock, _, make = setup
    cache.active["a" * 64] = {"timestamp": clock.now, "cooldown_time": 5, "status_code": "401"}
    assert [c.deployment for c in run(make().read()).started] == [US]


def test_workers_sharing_a_cooldown_cache_count_each_cooldown_once(setup):
    """Four workers of one run read the same shared cooldown: one of them counts it."""
    cache, clock, _, make = setup
    watches = [make() for _ in range(4)]
    cache.active["gpt-eu"] = {"timestamp": clock.now, "cooldown_time": 30, "status_code": "429"}
    started = [len(run(w.read()).started) for w in watches for _ in range(2)]
    assert sum(started) == 1


def test_claims_of_lapsed_cooldowns_are_pruned(setup):
    cache, clock, directory, make = setup
    watch = make()
    cache.active["gpt-eu"] = {"timestamp": clock.now, "cooldown_time": 5, "status_code": "429"}
    run(watch.read())
    assert len(os.listdir(directory.cooldowns_dir)) == 1
    del cache.active["gpt-eu"]
    clock.now += 5 + deployments._PRUNE_SECONDS + deployments._PRUNE_SECONDS + 1
    run(watch.read())
    assert os.listdir(directory.cooldowns_dir) == []


def test_a_claim_that_cannot_be_made_is_an_error_and_retried(setup, monkeypatch):
    cache, clock, _, make = setup
    watch = make()
    cache.active["gpt-eu"] = {"timestamp": clock.now, "cooldown_time": 30, "status_code": "429"}

    def full(path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(deployments, "create_exclusive", full)
    reading = run(watch.read())
    assert reading.started == [] and len(reading.errors) == 1
    monkeypatch.undo()
    assert len(run(watch.read()).started) == 1  # counted at the next read, not lost


def test_no_router_or_no_cache_reads_nothing(tmp_path):
    assert run(CooldownWatch(None, lambda: None).read()) is None

    class NoCache:
        model_list = []

    assert run(CooldownWatch(None, lambda: NoCache()).read()) is None


def test_hostile_cache_entries_are_skipped(setup):
    cache, clock, _, make = setup
    cache.active["gpt-eu"] = {"timestamp": "soon", "cooldown_time": None}
    cache.active["unknown-id"] = {"timestamp": clock.now}
    reading = run(make().read())
    assert reading.started == [] and reading.active == []
