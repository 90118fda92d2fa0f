"""Exactness attacked: writers at full speed, appending series, recycling and SIGKILLed at random points,
while the real exporter process is scraped back to back and folds dead writers.

Asserted: no scrape's sum of counter and histogram samples is ever lower than the previous one (nor any
single series), no file is set aside, and at the end every increment any writer made is counted exactly:
for a writer that exited, its count; for a killed one, between what it had finished and what it had
started (the two differ by at most the one increment it was killed in). Each writer keeps those two
numbers in a shared page, outside the files under test.

Bounded: TEST_TORTURE_SECONDS (default 20) of load, then a bounded drain.
"""

from __future__ import annotations

import mmap
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time

import httpx
import pytest
import yaml

from litellm_observe.catalogue import BY_NAME, CATALOGUE, Kind
from litellm_observe.exporter.aggregate import Aggregator
from litellm_observe.rundir import handshakes, layout
from litellm_observe.rundir.runs import Membership, current_root
from tests.support.metrics import samples
from tests.support.proxy import free_port

pytestmark = pytest.mark.e2e
SECONDS = float(os.environ.get("TEST_TORTURE_SECONDS", "20"))
CONCURRENT = 4
MAX_WRITERS = 512
MONOTONIC = {n for m in CATALOGUE if m.kind is not Kind.GAUGE for n in m.sample_names()}

WRITER = textwrap.dedent("""
    import mmap, os, random, sys
    from litellm_observe.rundir.layout import Directory
    from litellm_observe.rundir.writer import SampleWriter

    run, counters, slot, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    fd = os.open(counters, os.O_RDWR)
    done = memoryview(mmap.mmap(fd, 0)).cast("q")
    store = SampleWriter(Directory(run))
    rnd = random.Random(seed)
    team = f"w{slot}"
    for i in range(n):
        model = f"m{(i // 1500) % 8}"  # a new series now and then: records append while readers read
        done[2 * slot] = i + 1  # started increment i+1
        store.inc("requests", (model, "p", team, "chat_completions", "200"))  # the catalogue's label order
        done[2 * slot + 1] = i + 1  # finished it
        store.observe("request_duration_seconds", (model, "p", "chat_completions"), rnd.randrange(18), 0.25)
""")


class Scraper(threading.Thread):
    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.stop = url, threading.Event()
        self.scrapes, self.violations, self.errors = 0, [], []
        self.last_total, self.last = 0.0, {}

    def run(self):
        with httpx.Client(timeout=30) as client:
            while not self.stop.is_set():
                try:
                    text = client.get(self.url).text
                except httpx.HTTPError as e:
                    self.errors.append(repr(e))
                    time.sleep(0.05)
                    continue
                now = {k: v for k, v in samples(text).items() if k[0] in MONOTONIC}
                total = sum(now.values())
                if total < self.last_total:
                    self.violations.append(f"sum {self.last_total!r} -> {total!r}")
                for key, value in self.last.items():
                    if now.get(key, -1.0) < value:
                        self.violations.append(f"{key}: {value!r} -> {now.get(key)!r}")
                self.last_total, self.last = total, now
                self.scrapes += 1


class DirectReader(threading.Thread):
    """A second reader of the run directory, as fast as it can (a sidecar's view): many more reads
    than HTTP scrapes, so a torn value has many more chances to be seen."""

    def __init__(self, run: layout.Directory):
        super().__init__(daemon=True)
        self.aggregator, self.stop = Aggregator(run), threading.Event()
        self.reads, self.violations = 0, []
        self.last: dict = {}

    def run(self):
        while not self.stop.is_set():
            now = {k: v for k, v in self.aggregator.collect().items() if BY_NAME[k[0]].kind is not Kind.GAUGE}
            for key, values in self.last.items():
                new = now.get(key)
                if new is None or any(b < a for a, b in zip(values, new)):
                    self.violations.append(f"{key}: {values} -> {new}")
            self.last = now
            self.reads += 1


def test_writers_killed_and_recycled_at_full_speed_never_lower_or_lose_a_count(tmp_path):
    base = tmp_path / "base"
    me = current_root()  # this test is the run's root
    run = Membership(str(base), me.name).directory
    counters = tmp_path / "counters"
    counters.write_bytes(bytes(16 * MAX_WRITERS))
    done = memoryview(mmap.mmap(os.open(counters, os.O_RDWR), 0)).cast("q")
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"litellm_observe": {"port": port, "bind_address": "127.0.0.1"}}))
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    exporter_log = tmp_path / "exporter.log"
    exporter = subprocess.Popen(
        [
            sys.executable,
            "-m",
            handshakes.EXPORTER_MODULE,
            "--run-dir",
            run.path,
            "--root",
            me.arg(),
            "--config",
            str(config),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(exporter_log, "wb"),
    )
    url = f"http://127.0.0.1:{port}/metrics"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    scraper, reader = Scraper(url), DirectReader(run)
    rnd = random.Random(int(os.environ.get("TEST_TORTURE_SEED", "8")))
    writers: dict[int, subprocess.Popen] = {}
    planned: dict[int, int] = {}
    killed: set[int] = set()
    slot = 0
    try:
        scraper.start()
        reader.start()
        end = time.monotonic() + SECONDS
        while time.monotonic() < end and slot < MAX_WRITERS:
            live = [s for s, p in writers.items() if p.poll() is None]
            while len(live) < CONCURRENT and slot < MAX_WRITERS:  # recycling: a new process per exit
                planned[slot] = rnd.randrange(2_000, 60_000)
                writers[slot] = subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        WRITER,
                        run.path,
                        str(counters),
                        str(slot),
                        str(planned[slot]),
                        str(rnd.randrange(1 << 30)),
                    ],
                    env=env,
                )
                live.append(slot)
                slot += 1
            time.sleep(rnd.uniform(0.0, 0.3))
            if live and rnd.random() < 0.5:
                victim = rnd.choice(live)
                writers[victim].send_signal(signal.SIGKILL)  # anywhere: mid-append, mid-store, at start
                killed.add(victim)
        for p in writers.values():
            p.wait(timeout=300)
        time.sleep(2.5)  # the exporter folds every second: let it fold the last ones under scrapes
    finally:
        scraper.stop.set()
        reader.stop.set()
        scraper.join(60)
        reader.join(60)
        for p in writers.values():
            if p.poll() is None:
                p.kill()
    try:
        assert exporter.poll() is None, exporter_log.read_text()[-3000:]
        final = samples(httpx.get(url, timeout=30).text)
    finally:
        exporter.terminate()
        exporter.wait(timeout=30)
        stderr = exporter_log.read_text(errors="replace")
    print(
        f"torture: {slot} writers ({len(killed)} SIGKILLed), {scraper.scrapes} scrapes and {reader.reads} "
        f"direct reads in {SECONDS:.0f} s"
    )
    assert scraper.scrapes > 20 and reader.reads > 20 and slot > CONCURRENT
    assert scraper.violations == [], scraper.violations[:5]
    assert reader.violations == [], reader.violations[:5]
    assert not [f for f in os.listdir(run.path) if f.endswith(layout.CORRUPT_SUFFIX)]
    assert "unreadable" not in stderr and "Traceback" not in stderr, stderr[-2000:]
    counted = {}
    for (name, labels), value in final.items():
        if name == "litellm_requests_total":
            team = dict(labels)["team"]
            counted[team] = counted.get(team, 0.0) + value
    wrong = []
    for s in range(slot):
        started, finished, got = done[2 * s], done[2 * s + 1], counted.get(f"w{s}", 0.0)
        exited = writers[s].returncode == 0
        if exited and not (started == finished == planned[s] == got):
            wrong.append(f"w{s} exited after {planned[s]}: counted {got}, made {finished}")
        elif not exited and not finished <= got <= started:
            wrong.append(f"w{s} killed: counted {got}, finished {finished}, started {started}")
    assert wrong == [], wrong[:10]
    assert [f for f in os.listdir(run.path) if f.startswith(layout.WORKER_PREFIX)] != []  # the exporter's own
