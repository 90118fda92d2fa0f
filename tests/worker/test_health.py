"""health: a worker's start, clean exit, memory and loop lag; with the exporter's folding, one exit per
started worker (recycled or killed) and no series left behind by recycled workers. Real processes:
forked children that exit by themselves or are SIGKILLed."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time

import pytest

from litellm_observe.exporter.aggregate import Aggregator
from litellm_observe.rundir import layout
from litellm_observe.rundir.record import Recorder
from litellm_observe.rundir.writer import SampleWriter
from litellm_observe.worker import health
from litellm_observe.worker.health import WorkerHealth, resident_bytes

WORKER_SERIES = {
    "worker_starts",
    "worker_exits",
    "workers_live",
    "worker_resident_memory_max_bytes",
    "workers_resident_memory_bytes",
    "worker_event_loop_lag_seconds",
}


def _errors():
    seen = []
    return seen, lambda hook, e: seen.append((hook, e))


def _health(directory) -> tuple[WorkerHealth, list]:
    errors, on_error = _errors()
    return WorkerHealth(Recorder(SampleWriter(directory)), on_error), errors


def _worker_series(directory) -> dict:
    return {k: v for k, v in Aggregator(str(directory)).collect().items() if k[0] in WORKER_SERIES}


def test_resident_bytes_of_this_process_and_of_a_missing_proc(tmp_path):
    assert resident_bytes() > 1 << 20  # a Python process holds more than a MiB
    (tmp_path / "statm").write_text("1000 250 30 4 0 80 0\n")
    assert resident_bytes(str(tmp_path / "statm")) == 250 * health.PAGE
    assert resident_bytes(str(tmp_path / "missing")) is None
    (tmp_path / "bad").write_text("x")
    assert resident_bytes(str(tmp_path / "bad")) is None


def test_start_then_clean_exit_counts_once(tmp_path):
    directory = layout.prepare(str(tmp_path / "run"))
    h, errors = _health(directory)
    h.started()
    data = _worker_series(directory.path)
    assert data[("worker_starts", ())] == [1.0] and data[("workers_live", ())] == [1.0]
    assert data[("worker_resident_memory_max_bytes", ())][0] == data[("workers_resident_memory_bytes", ())][0] > 0
    h.exited()
    h.exited()  # atexit and multiprocessing's finalizer both call it: counted once
    data = _worker_series(directory.path)
    assert data[("worker_exits", ("recycled",))] == [1.0]
    assert data[("workers_live", ())] == [0.0] and data[("workers_resident_memory_bytes", ())] == [0.0]
    assert errors == []


def test_memory_sum_follows_each_read_and_max_is_the_largest_worker(tmp_path, monkeypatch):
    directory = layout.prepare(str(tmp_path / "run"))
    readings = iter([100 * 4096, 300 * 4096, 200 * 4096])
    monkeypatch.setattr(health, "resident_bytes", lambda path=None: next(readings))
    a, _ = _health(directory)
    b, _ = _health(directory)  # a second live worker (another store)
    a.started()  # 100 pages
    b.started()  # 300 pages
    a.read_memory()  # 200 pages
    data = _worker_series(directory.path)
    assert data[("workers_resident_memory_bytes", ())] == [500 * 4096.0]
    assert data[("worker_resident_memory_max_bytes", ())] == [300 * 4096.0]
    assert data[("workers_live", ())] == [2.0]


def test_a_blocked_loop_shows_as_lag(tmp_path, monkeypatch):
    monkeypatch.setattr(health, "INTERVAL", 0.2)
    directory = layout.prepare(str(tmp_path / "run"))
    h, errors = _health(directory)
    h.started()

    async def main():
        h.start_probe(asyncio.get_running_loop())
        await asyncio.sleep(0.5)
        time.sleep(1.0)  # block the loop: the tick due meanwhile runs at least 0.8 s late
        await asyncio.sleep(0.5)

    asyncio.run(main())
    lag = _worker_series(directory.path)[("worker_event_loop_lag_seconds", ())]
    buckets = dict(zip(health_buckets(), lag))
    assert sum(lag[:-1]) >= 3  # ticks before and after the block were recorded
    assert sum(lag[:-1]) - sum(v for le, v in buckets.items() if le <= 0.5) >= 1  # one tick over 0.5 s late
    assert errors == []


def health_buckets():
    from litellm_observe.catalogue import LOOP_LAG

    return LOOP_LAG.buckets + (float("inf"),)


_KEPT = []  # a worker's logger (and its health) lives as long as the worker, as in LiteLLM's callbacks


def _child(directory: str, how: str) -> None:
    h = WorkerHealth(Recorder(SampleWriter(directory)), lambda hook, e: None)
    _KEPT.append(h)
    h.started()
    if how == "killed":
        os.kill(os.getpid(), signal.SIGKILL)
    # "recycled": return; multiprocessing ends a forked child with os._exit, after its finalizers


def _run(directory: str, how: str) -> int:
    p = multiprocessing.get_context("fork").Process(target=_child, args=(directory, how))
    p.start()
    p.join(30)
    return p.exitcode


def test_one_exit_per_started_worker_recycled_or_killed(tmp_path):
    directory = layout.prepare(str(tmp_path / "run"))
    assert _run(directory.path, "recycled") == 0
    assert _run(directory.path, "killed") == -signal.SIGKILL
    Aggregator(directory.path).compact()
    data = _worker_series(directory.path)
    assert data[("worker_starts", ())] == [2.0]
    assert data[("worker_exits", ("recycled",))] == [1.0] and data[("worker_exits", ("killed",))] == [1.0]
    assert ("workers_live", ()) not in data  # no live worker: the gauges dropped out


def test_the_exporter_file_is_not_a_worker(tmp_path):
    """A writer that never counted a start (the exporter's own file) folds without an exit."""
    directory = layout.prepare(str(tmp_path / "run"))

    def plain():
        Recorder(SampleWriter(directory.path)).observe_internal_errors(hook="exporter_read")
        os.kill(os.getpid(), signal.SIGKILL)

    p = multiprocessing.get_context("fork").Process(target=plain)
    p.start()
    p.join(30)
    Aggregator(directory.path).compact()
    assert not any(k[0] == "worker_exits" for k in Aggregator(directory.path).collect())


@pytest.mark.parametrize("recycles", [100])
def test_a_hundred_recycles_add_no_series(tmp_path, recycles):
    directory = layout.prepare(str(tmp_path / "run"))
    for how in ("recycled", "killed"):
        _run(directory.path, how)
    agg = Aggregator(directory.path)
    agg.compact()
    before = set(agg.collect())
    for i in range(recycles):
        _run(directory.path, "killed" if i % 10 == 0 else "recycled")
    agg.compact()
    data = agg.collect()
    assert set(data) == before
    assert data[("worker_starts", ())] == [recycles + 2.0]
    assert data[("worker_exits", ("killed",))][0] + data[("worker_exits", ("recycled",))][0] == recycles + 2
    assert data[("worker_exits", ("killed",))] == [recycles / 10 + 1]
