"""Real faults on the exporter side: a sidecar run out of descriptors by idle connections (`ulimit -n`),
and a sidecar over two proxies' runs when one of them restarts.

Before: under `ulimit -n 64` with idle connections the sidecar renamed a live worker's file and its own
to `*.corrupt` and `requests_total` fell for good; and a restart of one of two proxies lowered the total.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time

import httpx
import pytest

from litellm_observe.rundir import layout
from litellm_observe.rundir.runs import Membership, current_root
from litellm_observe.rundir.writer import SampleWriter
from tests.support.metrics import total
from tests.support.proxy import free_port
from tests.support.runholder import hold_run
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
REQ_LABELS = ("ok", "openai", "t", "chat_completions", "200")  # requests_total's labels, catalogue order


def _sidecar(directory: str, port: int, nofile: int | None = None) -> subprocess.Popen:
    def limit():
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    env = {k: v for k, v in os.environ.items() if not k.startswith("LITELLM_OBSERVE_")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "litellm_observe",
            "serve-metrics",
            "--dir",
            directory,
            "--address",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        preexec_fn=limit,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _scrape(port: int) -> str | None:
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        return r.text if r.status_code == 200 else None
    except httpx.HTTPError:
        return None


def _wait_up(port: int) -> None:
    wait_until(lambda: _scrape(port) is not None, timeout=60, interval=0.1, what="the sidecar answering")


def test_out_of_descriptors_the_sidecar_sets_nothing_aside_and_never_lowers_a_count(tmp_path):
    run = Membership(str(tmp_path), current_root().name).directory  # this process is the run's root
    stores = [SampleWriter(run) for _ in range(12)]  # live writers: this process holds their locks
    for s in stores:
        s.inc("requests", REQ_LABELS)
    written = float(len(stores))
    port = free_port()
    sidecar = _sidecar(run.path, port, nofile=40)
    idle: list[socket.socket] = []
    try:
        _wait_up(port)
        last, answered = 0.0, 0
        for round_ in range(40):
            while len(idle) < 150:  # more than the sidecar has descriptors for: they crowd its table
                try:
                    idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
                except OSError:
                    break
            for s in stores:
                s.inc("requests", REQ_LABELS)
            written += len(stores)
            text = _scrape(port)
            if text is None:
                continue  # a scrape may fail while descriptors are gone; a wrong number may not
            answered += 1
            now = total(text, "requests")
            assert last <= now <= written, f"round {round_}: {last} -> {now} (written {written})"
            last = now
        assert answered > 0
    finally:
        for s in idle:
            s.close()
    try:
        deadline = time.monotonic() + 30
        while total(_scrape(port) or "", "requests") != written:
            assert time.monotonic() < deadline, "the count never caught up once descriptors were free"
            time.sleep(0.2)
        assert not [f for f in os.listdir(run.path) if f.endswith(layout.CORRUPT_SUFFIX)]
        assert all(os.path.exists(s.path) for s in stores)
    finally:
        sidecar.terminate()
        err = sidecar.communicate(timeout=30)[1].decode(errors="replace")
        for s in stores:
            s.close()
    assert "unreadable" not in err and "Traceback" not in err, err[-2000:]
    # the faults did happen: descriptors ran out at accept and at reading the files
    assert "out of descriptors" in err and "could not read" in err, err[-2000:]


def test_a_sidecar_over_two_proxies_never_drops_when_one_restarts(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    roots = [hold_run(str(base), f"run-{i}-1-proxy") for i in range(2)]  # each proxy's processes hold its run
    port = free_port()
    sidecar = _sidecar(str(base), port)
    try:
        runs = [layout.Directory(str(base / f"run-{i}-1-proxy")) for i in range(2)]
        stores = [SampleWriter(r) for r in runs]
        for s, n in zip(stores, (5, 7)):
            s.inc("requests", REQ_LABELS, n)
            s.inc("spend_usd", ("openai", "ok", "t"), 0.1 * n)
        _wait_up(port)
        assert total(_scrape(port), "requests") == 12
        stores[0].close()  # proxy A's worker and root end: a restart
        roots[0].kill()
        roots[0].wait()
        for i in range(30):  # the sidecar folds A's run into its own archive; never a drop meanwhile
            stores[1].inc("requests", REQ_LABELS)
            assert total(_scrape(port), "requests") == 12 + i + 1
            time.sleep(0.1)
        assert not os.path.exists(runs[0].path)  # folded, then removed
        restarted = Membership(str(base), "run-2-1-proxy")
        again = SampleWriter(restarted.directory)
        again.inc("requests", REQ_LABELS)
        assert total(_scrape(port), "requests") == 12 + 30 + 1
        again.close()
        restarted.close()
        stores[1].close()
    finally:
        for p in roots:
            p.kill()
            p.wait()
        sidecar.terminate()
        sidecar.wait(timeout=30)
