"""A full filesystem never kills a worker: space is reserved before it is used (posix_fallocate), so a
full disk is an OSError the logger counts, logs once and survives; the proxy keeps serving.

Before: the file grew with ftruncate, which reserves nothing, and the first store to a new page of a
full tmpfs raised SIGBUS, which no `try` catches. These tests mount a real 512 KiB tmpfs (as root).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root (CI runs as root)")

DRIVER = textwrap.dedent("""
    import asyncio, errno, logging, os, sys
    sys.path.insert(0, os.environ["REPO"])
    from tests.support import events as ev
    from tests.support import rundirs
    from litellm_observe import settings as settings_mod
    from litellm_observe.worker import logger as logger_mod, process as process_mod

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    process_mod._STORE_RETRY_SECONDS = 0.0
    mnt, phase = sys.argv[1], sys.argv[2]
    ballast = os.path.join(mnt, "ballast")

    def fill():
        fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"x" * 4096)
        except OSError as e:
            assert e.errno == errno.ENOSPC
        finally:
            os.close(fd)

    def success(lg, i):
        asyncio.run(lg.async_log_success_event(ev.success_kwargs(call_id=f"c{i}", model_group=f"m{i}",
                                                                 team=f"team-{i}"), None, None, None))

    section = {"metrics_dir": mnt, "label_caps": {"model": 100000, "team": 100000}, "exporter": False,
               "event_batch_seconds": 0}
    if phase == "full-later":
        lg = logger_mod.ObserveLogger(settings_mod.load(environ={}, section=section),
                                      model_names=lambda: None, caching_on=lambda: False)
        assert lg.store is not None
        success(lg, 0)
        fill()
        for i in range(1, 400):  # every new model needs new records: the file must grow, and cannot
            success(lg, i)
        os.unlink(ballast)
        for i in range(400, 410):
            success(lg, i)
    else:  # full before the worker starts: metrics off, then on again once there is room
        fill()
        lg = logger_mod.ObserveLogger(settings_mod.load(environ={}, section=section),
                                      model_names=lambda: None, caching_on=lambda: False)
        assert lg.store is None
        success(lg, 0)
        os.unlink(ballast)
        success(lg, 1)
        assert lg.store is not None
    print("RUN", lg.run_directory)
""")


@pytest.fixture
def tmpfs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", str(mnt)], check=True)
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def _drive(mnt, phase):
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p = subprocess.run(
        [sys.executable, "-c", DRIVER, str(mnt), phase],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "REPO": repo, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    )
    assert p.returncode == 0, f"exit {p.returncode} (-7 is SIGBUS)\n{p.stdout}\n{p.stderr[-3000:]}"
    run = next(line.split(" ", 1)[1] for line in p.stdout.splitlines() if line.startswith("RUN "))
    return run, p.stderr


def test_a_disk_that_fills_up_is_counted_logged_once_and_survived(tmpfs):
    from tests.support import rundirs

    run, log = _drive(tmpfs, "full-later")
    data = rundirs.series(run)
    lost = rundirs.total(data, "observe_internal_errors", hook="async_log_success_event")
    recorded = rundirs.total(data, "requests")
    assert lost > 0 and recorded > 0
    # every event is recorded whole or counted as an internal error (one can be both: recorded in
    # part, up to the series that found no room); none is silently dropped
    assert recorded <= 410 <= recorded + lost
    assert rundirs.total(data, "requests", model="m0") == 1 and rundirs.total(data, "requests", model="m409") == 1
    assert log.count("is full") == 1 and str(tmpfs) in log


def test_a_disk_full_at_start_turns_metrics_off_then_on_again(tmpfs):
    from tests.support import rundirs

    run, log = _drive(tmpfs, "full-at-start")
    assert "metrics are OFF" in log and "metrics are ON again" in log
    data = rundirs.series(run)
    assert rundirs.total(data, "requests", model="m1") == 1
