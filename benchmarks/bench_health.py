"""What worker health costs each worker: CPU per loop-lag tick (one histogram observation, every second)
and per memory read (/proc/self/statm and two gauge writes, every MEMORY_EVERY ticks), in this process
with a real SampleWriter, as the probe runs them on a worker's event loop.

    python benchmarks/bench_health.py            # 200,000 ticks, 20,000 memory reads
    python benchmarks/bench_health.py --quick

Prints a table and exits 0; it asserts nothing about timings.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE)]

from litellm_observe.rundir import layout  # noqa: E402
from litellm_observe.rundir.record import Recorder  # noqa: E402
from litellm_observe.rundir.writer import SampleWriter  # noqa: E402
from litellm_observe.worker import health  # noqa: E402


class _Loop:
    """The two loop methods the probe calls; the tick is driven by hand."""

    def __init__(self):
        self.now = 0.0

    def time(self) -> float:
        return self.now

    def call_at(self, when, callback):
        return None

    def is_closed(self) -> bool:
        return False


def _cpu_us(fn, n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - start) / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    ticks, reads = (2_000, 200) if args.quick else (200_000, 20_000)
    with tempfile.TemporaryDirectory() as tmp:
        directory = layout.prepare(os.path.join(tmp, "run"))
        h = health.WorkerHealth(Recorder(SampleWriter(directory)), lambda hook, e: None)
        h.started()
        loop = _Loop()
        h.start_probe(loop)
        every = health.MEMORY_EVERY
        health.MEMORY_EVERY = 10**12  # ticks only: memory reads are timed on their own

        def tick():
            loop.now += health.INTERVAL
            h._tick()

        tick_us = _cpu_us(tick, ticks)
        read_us = _cpu_us(h.read_memory, reads)
        h.exited()
    per_second = tick_us / health.INTERVAL + read_us / (health.INTERVAL * every)
    print(f"worker health, CPU per worker (mean over {ticks:,} ticks and {reads:,} memory reads)")
    print(f"{f'loop-lag tick (every {health.INTERVAL:g} s)':34} {tick_us:8.2f} µs")
    print(f"{f'memory read (every {every * health.INTERVAL:g} s)':34} {read_us:8.2f} µs")
    print(f"{'per second of a worker':34} {per_second:8.2f} µs  ({per_second / 1e4:.4f} % of one core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
