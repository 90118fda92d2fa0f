"""What a replayed request writes: 8-byte stores into the sample file by metric, reads, writer-lock takes and
batch-lock takes, for ours (with the settings' batches, as bench_events.py runs it, or `--batch 0`: every write
at once) or for the floor (`--floor`, benchmarks/floor.py). The floor is a fair floor while its stores by metric
are ours with `--batch 0` (tests/test_benchmarks.py compares them):

    PYTHONPATH=. python benchmarks/count_writes.py [--batch 0]
    PYTHONPATH=. python benchmarks/count_writes.py --floor
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


class CountingView:
    """Stands for the writer's memoryview: counts stores (and reads) by series-relative index."""

    def __init__(self, view, counts):
        self.view, self.counts = view, counts

    def __getitem__(self, i):
        self.counts["reads"] += 1
        return self.view[i]

    def __setitem__(self, i, v):
        self.counts["stores"] += 1
        self.counts[("store", i)] += 1
        self.view[i] = v


class CountingLock:
    def __init__(self, lock, counts, name):
        self.lock, self.counts, self.name = lock, counts, name

    def __enter__(self):
        self.counts[self.name] += 1
        return self.lock.__enter__()

    def __exit__(self, *a):
        return self.lock.__exit__(*a)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=float, default=None, help="event_batch_seconds (default: the settings')")
    p.add_argument("--requests", type=int, default=2400)
    p.add_argument("--quick", action="store_true", help="240 requests of each kind (the tests)")
    p.add_argument("--floor", action="store_true", help="count the floor's (benchmarks/floor.py), not ours")
    args = p.parse_args()
    if args.quick:
        args.requests = 240
    from bench_events import _make_logger

    from tests.support.payloads import synthetic as events

    run_dir = tempfile.mkdtemp(prefix="count-writes-")
    logger = _make_logger("floor", run_dir) if args.floor else _make_logger("ours", run_dir, batch_seconds=args.batch)
    successes, failures = events.success_events(), events.failure_events()

    async def counted(evts, owner, view: str, index: dict) -> dict:
        """`args.requests` requests of one kind replayed with `owner`'s view (its attribute `view`) and lock counting;
        the stores by metric (the series whose first double is the nearest at or below each store's index)."""
        counts: collections.Counter = collections.Counter()
        setattr(owner, view, CountingView(getattr(owner, view), counts))
        owner.lock = CountingLock(owner.lock, counts, "writer lock takes")
        batch = None if args.floor else logger.process
        if batch is not None:
            batch.batch_lock = CountingLock(batch.batch_lock, counts, "batch lock takes")
        await events.replay(logger, evts, args.requests)
        if batch is not None:
            logger.flush()
            batch.batch_lock = batch.batch_lock.lock
        setattr(owner, view, getattr(owner, view).view)
        owner.lock = owner.lock.lock
        starts = sorted((i, key[0]) for key, i in index.items())
        for k in [k for k in counts if isinstance(k, tuple)]:
            metric = max((s for s in starts if s[0] <= k[1]), default=(0, "?"))[1]
            counts["  stores: " + metric] += counts.pop(k)
        return {k: v / args.requests for k, v in counts.items()}

    async def run():
        await events.replay(logger, successes, 2000)
        await events.replay(logger, failures, 500)
        if args.floor:
            owner, view, index = logger, "v", logger._slots
        else:
            logger.flush()
            owner, view, index = logger.process.writer, "values", logger.process.writer._index
        return {
            kind: await counted(evts, owner, view, index)
            for kind, evts in (("success", successes), ("failure", failures))
        }

    for kind, counts in asyncio.run(run()).items():
        print(kind)
        for k, v in sorted(counts.items()):
            print(f"  {k:<40} {v:8.3f}")


if __name__ == "__main__":
    main()
