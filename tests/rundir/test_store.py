"""store: this process's sample file, published complete and locked, with space reserved before use."""

from __future__ import annotations

import errno
import multiprocessing
import os

import pytest

from litellm_observe.catalogue import BY_NAME
from litellm_observe.rundir import samplefile
from litellm_observe.rundir.files import CREATING_PREFIX, writer_gone
from litellm_observe.rundir.layout import NEW_SUFFIX, Directory
from litellm_observe.rundir.writer import INITIAL_SIZE, SampleWriter

REQ = ("requests", ("ok", "openai", "t", "chat_completions", "200"))


def records(path) -> dict:
    parsed = samplefile.read(path)
    assert parsed.complete
    out = {}
    for key, values in parsed.records:
        metric, schema, labels = samplefile.decode_key(key)
        assert schema == BY_NAME[metric].schema
        out[(metric, labels)] = values
    return out


def test_round_trip(tmp_path):
    w = SampleWriter(str(tmp_path))
    w.inc(*REQ)
    w.inc(*REQ, 2.5)
    w.inc("spend_usd", ("openai", "ok", "t"), 0.25)
    w.observe("request_duration_seconds", ("ok", "openai", "chat_completions"), 3, 0.1)
    w.observe("request_duration_seconds", ("ok", "openai", "chat_completions"), 3, 0.05)
    w.set("requests_remaining", ("openai", "ok"), 990.0, 123.0)
    w.add("current_load", ("chat_completions",), 1.0, 5.0)
    w.add("current_load", ("chat_completions",), -1.0, 6.0)
    got = records(w.path)
    assert got[REQ] == (3.5,)
    assert got[("spend_usd", ("openai", "ok", "t"))] == (0.25,)
    hist = got[("request_duration_seconds", ("ok", "openai", "chat_completions"))]
    assert len(hist) == BY_NAME["request_duration_seconds"].value_slots()
    assert hist[3] == 2.0 and sum(hist[:-1]) == 2.0 and hist[-1] == pytest.approx(0.15)
    assert got[("requests_remaining", ("openai", "ok"))] == (990.0, 123.0)
    assert got[("current_load", ("chat_completions",))] == (0.0, 6.0)
    assert len(got) == 5
    assert [os.path.basename(p) for p in Directory(str(tmp_path)).sample_files()] == [os.path.basename(w.path)]
    assert not [n for n in os.listdir(tmp_path) if n.endswith(NEW_SUFFIX) or n.startswith(CREATING_PREFIX)]
    assert os.stat(w.path).st_mode & 0o777 == 0o600
    w.close()


def test_unicode_keys(tmp_path):
    w = SampleWriter(str(tmp_path))
    labels = ("模型🙂", 'a"b\\c', "t", "200")
    w.inc("requests", labels)
    assert records(w.path) == {("requests", labels): (1.0,)}


def test_growth_past_initial_size(tmp_path):
    w = SampleWriter(str(tmp_path))
    n = 3000
    for i in range(n):
        w.inc("requests", (f"model-{i}", "openai", "team", "chat_completions", "200"), i)
    w.observe("request_duration_seconds", ("late", "openai", "chat_completions"), 0, 1.0)
    assert os.path.getsize(w.path) > INITIAL_SIZE
    got = records(w.path)
    assert len(got) == n + 1
    assert all(
        got[("requests", (f"model-{i}", "openai", "team", "chat_completions", "200"))] == (float(i),) for i in range(n)
    )
    w.inc(
        "requests", ("model-0", "openai", "team", "chat_completions", "200"), 7
    )  # after growth, into the existing record
    assert records(w.path)[("requests", ("model-0", "openai", "team", "chat_completions", "200"))] == (7.0,)


def test_full_filesystem_is_an_oserror_and_existing_series_keep_counting(tmp_path, monkeypatch):
    w = SampleWriter(str(tmp_path), initial_size=4096)
    w.reserve("observe_internal_errors", ("async_log_success_event",))
    w.inc(*REQ)

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    with pytest.raises(OSError) as e:
        for i in range(200):
            w.inc("requests", (f"m{i}", "openai", "t", "chat_completions", "200"))
    assert e.value.errno == errno.ENOSPC
    w.inc(*REQ)
    w.inc("observe_internal_errors", ("async_log_success_event",))
    got = records(w.path)
    assert got[REQ] == (2.0,) and got[("observe_internal_errors", ("async_log_success_event",))] == (1.0,)


def test_creation_on_a_full_filesystem_leaves_nothing_behind(tmp_path, monkeypatch):
    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    with pytest.raises(OSError):
        SampleWriter(str(tmp_path))
    assert os.listdir(tmp_path) == []


def _hold_store_then_exit(directory, q, go):
    w = SampleWriter(directory)
    w.inc(*REQ)
    q.put(w.path)
    go.wait(60)  # hold the lock until told to exit


def test_writer_gone_after_child_exits(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    q, go = ctx.Queue(), ctx.Event()
    child = ctx.Process(target=_hold_store_then_exit, args=(str(tmp_path), q, go))
    child.start()
    try:
        path = q.get(timeout=60)
        assert not writer_gone(path)  # the child is alive and holds its lock
        go.set()
        child.join(60)
        assert child.exitcode == 0
        assert writer_gone(path)
        assert records(path) == {REQ: (1.0,)}
    finally:
        go.set()
        child.join(10)


def test_writer_gone_own_store_and_missing(tmp_path):
    w = SampleWriter(str(tmp_path))
    assert not writer_gone(w.path)  # held by this process: flock is per open file, not per process
    assert not writer_gone(str(tmp_path / "gone.lob"))
    w.close()
    assert writer_gone(w.path)


def test_republish_copies_every_value_and_keeps_writing(tmp_path):
    """The run directory was removed under the writer: published again, under the same name, complete and
    locked; values at the same offsets, so later writes land in the new file."""
    import shutil

    old, new = Directory(str(tmp_path / "old")), Directory(str(tmp_path / "new"))
    os.makedirs(old.path)
    os.makedirs(new.path)
    w = SampleWriter(old)
    w.inc(*REQ, 5)
    w.inc("spend_usd", ("openai", "ok", "t"), 0.25)
    assert not w.unlinked()
    shutil.rmtree(old.path)
    assert w.unlinked()
    w.republish(new)
    assert not w.unlinked() and os.path.dirname(w.path) == new.path
    assert not writer_gone(w.path) and os.listdir(new.path) == [os.path.basename(w.path)]
    w.inc(*REQ, 2)
    w.inc("tokens_used", ("openai", "ok", "t", "input"), 11)  # a new series after the move
    got = records(w.path)
    assert got[REQ] == (7.0,) and got[("spend_usd", ("openai", "ok", "t"))] == (0.25,)
    assert got[("tokens_used", ("openai", "ok", "t", "input"))] == (11.0,)
    w.close()
    assert writer_gone(os.path.join(new.path, os.path.basename(w.path)))


_CREATOR = """
import fcntl, os, sys, time
sys.path.insert(0, sys.argv[1])
real_flock = fcntl.flock
def slow_flock(fd, op):  # the scheduler takes the CPU right after the file was created, every time
    time.sleep(0.002)
    return real_flock(fd, op)
fcntl.flock = slow_flock
from litellm_observe.rundir.writer import SampleWriter
end, made, lost = time.monotonic() + float(sys.argv[3]), 0, 0
while time.monotonic() < end:
    try:
        w = SampleWriter(sys.argv[2])
    except FileNotFoundError:
        lost += 1  # deleted between its creation and its lock, under the creator
        continue
    made += 1
    if not os.path.exists(w.path):
        lost += 1
    w.inc("requests", ("ok", "openai", "t", "chat_completions", "200"))
    w.close()
print(made, lost, flush=True)
"""


def test_a_file_being_created_is_never_taken_for_abandoned_by_a_racing_compaction(tmp_path):
    """Creation races a compaction that loops as fast as it can; the gap between creating a file and locking
    it is widened on purpose. No file is deleted under its creator, and every increment is counted."""
    import subprocess
    import sys

    from litellm_observe.exporter.aggregate import Aggregator
    from tests.support.users import REPO

    seconds = float(os.environ.get("TEST_TORTURE_SECONDS", 3))
    creator = subprocess.Popen(
        [sys.executable, "-c", _CREATOR, REPO, str(tmp_path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    agg, compactions = Aggregator(str(tmp_path)), 0
    while creator.poll() is None:
        agg.compact()
        compactions += 1
    made, lost = map(int, creator.communicate(timeout=60)[0].split())
    agg.compact()
    assert made > 100 and compactions > 100, (made, compactions)  # both sides really ran
    assert lost == 0, f"{lost} of {made} files deleted under their creator"
    assert agg.collect()[REQ] == [float(made)]
