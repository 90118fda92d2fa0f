"""rundir.runs: run names unique across PID namespaces; a run lives while a process holds its directory's
flock, never by a pid read in another namespace; joining and removing never race; age-based cleaners skip a
live run; a removed run directory is noticed and made again."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time

import pytest

from litellm_observe.rundir import files, layout, runs
from litellm_observe.rundir.runs import Membership, Root
from tests.support.runholder import end, hold_run
from tests.support.users import REPO


def _root_in_child(q):
    q.put(runs.current_root())


# ---- names ------------------------------------------------------------------------------------------------
def test_start_time_of_self_and_of_nothing():
    assert isinstance(runs.start_time(os.getpid()), int)
    assert runs.start_time(os.getpid()) == runs.start_time(os.getpid())
    assert runs.start_time(2**22 + 12345) is None  # above pid_max's default ceiling


def test_root_name_round_trip():
    r = Root(1234, 987654, "0a1b2c3d4e")
    assert r.name == "run-1234-987654-0a1b2c3d4e"
    assert Root.parse(r.name) == r and Root.from_arg(r.arg()) == r
    assert Root.parse("run-1-2") == Root(1, 2)  # a run of an earlier version, still recognised (and removed)
    for bad in ("run-", "run-x-1", "run-1-2-3-4", "run-12", "run--1-5", "run-1-2-a/b", "run-1-2-"):
        assert Root.parse(bad) is None, bad


def test_alive_in_its_own_namespace():
    me = Root(os.getpid(), runs.start_time(os.getpid()))
    assert me.alive()
    assert not Root(os.getpid(), me.start + 1).alive()  # same pid, another process (pid reuse)


def test_current_root_is_self_when_not_a_worker():
    assert runs.current_root() == Root(os.getpid(), runs.start_time(os.getpid()), runs.namespace_token())


def test_current_root_of_a_spawned_worker_is_its_parent_with_the_same_namespace():
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_root_in_child, args=(q,))
    p.start()
    try:
        root = q.get(timeout=60)
    finally:
        p.join(60)
    assert root == Root(os.getpid(), runs.start_time(os.getpid()), runs.namespace_token())


def test_current_root_of_a_forked_worker_is_its_parent():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # gunicorn-style worker: forked, no exec
        os.write(write, str(runs.current_root().pid).encode())
        os._exit(0)
    os.close(write)
    try:
        assert int(os.read(read, 64)) == os.getpid()
    finally:
        os.close(read)
        os.waitpid(pid, 0)


PID1_SCRIPT = """
import multiprocessing, sys
sys.path.insert(0, sys.argv[1])
from litellm_observe.rundir import runs
def child(q):
    q.put(runs.current_root().name)
if __name__ == "__main__":
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=child, args=(q,))
    p.start()
    print(q.get(timeout=60))
    p.join(60)
"""


def _pid1_run_name(tmp_path) -> str:
    script = tmp_path / "pid1.py"
    script.write_text(PID1_SCRIPT)
    out = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, str(script), REPO],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.skipif(os.geteuid() != 0, reason="unshare --pid needs root")
def test_two_first_processes_of_their_own_namespaces_name_different_runs(tmp_path):
    """`litellm` as PID 1 of two containers: each run is named after pid 1, and still the names differ."""
    first, second = _pid1_run_name(tmp_path), _pid1_run_name(tmp_path)
    assert first.startswith("run-1-") and second.startswith("run-1-")
    assert Root.parse(first).ns != Root.parse(second).ns != runs.namespace_token()
    assert first != second


# ---- joining, holding, ending -----------------------------------------------------------------------------
def test_joining_makes_a_private_run_directory_and_holds_it(tmp_path):
    base = str(tmp_path / "base")
    m = Membership(base, "run-1-2-abc")
    try:
        run = m.directory
        assert run.path == os.path.join(base, "run-1-2-abc")
        for d in (base, run.path, run.labels_dir, run.resets_dir, run.cooldowns_dir):
            assert os.stat(d).st_mode & 0o777 == 0o700, d
        assert runs.claim_ended(run.path) is None  # held: alive
        again = Membership(base, "run-1-2-abc")  # a second worker joins the same one
        assert again.directory == run and not again.lost() and not m.lost()
        again.close()
        assert runs.claim_ended(run.path) is None
    finally:
        m.close()
    fd = runs.claim_ended(run.path)
    assert fd is not None  # nobody holds it: ended
    os.close(fd)
    assert [n for n in os.listdir(base) if n.startswith(".")] == []  # no leftover of the making


def test_an_exporter_joins_only_an_existing_run(tmp_path):
    with pytest.raises(FileNotFoundError):
        Membership(str(tmp_path), "run-1-2-abc", create=False)
    assert os.listdir(tmp_path) == []


def test_a_live_run_is_kept_whatever_its_pid_says(tmp_path):
    """Another process holds it: kept, although no process of that pid lives here (another namespace)."""
    base = str(tmp_path)
    holder = hold_run(base, Root(2**22 + 7, 1, "elsewhere").name)
    try:
        assert runs.remove_dead_runs(base) == []
        assert os.listdir(base) == [Root(2**22 + 7, 1, "elsewhere").name]
    finally:
        end(holder)
    assert runs.remove_dead_runs(base) == [Root(2**22 + 7, 1, "elsewhere").name]
    assert os.listdir(base) == []


def test_remove_dead_runs_keeps_the_asked_and_leaves_other_names(tmp_path):
    base = str(tmp_path)
    for name in ("run-5-6-aa", "run-7-8-bb", "run-1-2"):
        Membership(base, name).close()  # made, then every member gone
    os.makedirs(os.path.join(base, "not-a-run"))
    os.makedirs(os.path.join(base, "run-garbage"))
    os.makedirs(os.path.join(base, ".new-run-9-9-cc-12345678"))  # a join that died half-way
    removed = runs.remove_dead_runs(base, keep=Root(5, 6, "aa"))
    assert sorted(removed) == [".new-run-9-9-cc-12345678", "run-1-2", "run-7-8-bb"]
    assert sorted(os.listdir(base)) == ["not-a-run", "run-5-6-aa", "run-garbage"]
    assert runs.remove_dead_runs(str(tmp_path / "missing")) == []


def test_a_run_whose_exporter_or_writer_holds_its_lock_is_kept(tmp_path):
    """Runs made by an earlier version hold no directory lock: their exporter's and writers' locks count."""
    base = str(tmp_path)
    run = layout.prepare(os.path.join(base, "run-1-2"))
    fd = files.hold(run.exporter_lock)
    assert runs.remove_dead_runs(base) == []
    os.close(fd)
    writer = files.hold(run.join("w-1-x.lob"))
    assert runs.remove_dead_runs(base) == []
    os.close(writer)
    assert runs.remove_dead_runs(base) == ["run-1-2"]


def test_a_process_joining_while_a_run_is_removed_gets_a_fresh_directory(tmp_path):
    base, name = str(tmp_path), "run-3-4-cc"
    Membership(base, name).close()
    path = os.path.join(base, name)
    open(os.path.join(path, "old"), "w").close()
    claim = runs.claim_ended(path)
    assert claim is not None
    joined: list[Membership] = []
    joiner = threading.Thread(target=lambda: joined.append(Membership(base, name)))
    joiner.start()
    time.sleep(0.3)  # the joiner opened the old directory and waits for its lock
    assert not joined
    runs.remove_claimed(path, claim)
    joiner.join(30)
    (m,) = joined
    try:
        assert not m.lost() and os.listdir(path) and "old" not in os.listdir(path)
        assert runs.claim_ended(path) is None
    finally:
        m.close()


def test_lost_and_rejoin_after_the_directory_is_removed(tmp_path):
    import shutil

    base = str(tmp_path / "base")
    m = Membership(base, "run-1-2-abc")
    try:
        assert not m.lost()
        shutil.rmtree(base)  # a cleaner that ignores locks took the base and everything in it
        assert m.lost()
        run = m.rejoin()
        assert not m.lost() and os.path.isdir(run.labels_dir)
        assert runs.claim_ended(run.path) is None
        shutil.rmtree(run.path)
        os.mkdir(run.path)  # replaced by another directory of the same name: lost too
        assert m.lost()
    finally:
        m.close()


def test_joins_and_removals_at_full_speed_never_remove_a_held_run(tmp_path):
    """Torture: processes join, check, write and leave one run as fast as they can while another removes
    ended runs in a loop. A member never finds its directory gone while it holds it."""
    base = str(tmp_path)
    seconds = float(os.environ.get("TEST_TORTURE_SECONDS", 3))
    code = f"""
import os, sys, time
sys.path.insert(0, {REPO!r})
from litellm_observe.rundir.runs import Membership
end, joins = time.monotonic() + {seconds}, 0
while time.monotonic() < end:
    m = Membership({base!r}, "run-1-1-torture")
    if m.lost() or not os.path.isdir(m.directory.labels_dir):
        print("LOST", flush=True); sys.exit(1)
    open(os.path.join(m.path, f"f-{{os.getpid()}}"), "w").close()
    if m.lost():
        print("LOST", flush=True); sys.exit(1)
    m.close()
    joins += 1
print(joins)
"""
    members = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(3)]
    removed = 0
    deadline = time.monotonic() + seconds + 60
    while any(p.poll() is None for p in members) and time.monotonic() < deadline:
        removed += len(runs.remove_dead_runs(base))
    outs = [p.communicate(timeout=60)[0].strip() for p in members]
    assert all(p.returncode == 0 for p in members), outs
    assert all(int(o) > 0 for o in outs) and removed > 0, (outs, removed)  # both sides really ran


# ---- age-based cleaners ------------------------------------------------------------------------------------
@pytest.mark.skipif(not os.path.exists("/usr/bin/systemd-tmpfiles"), reason="needs systemd-tmpfiles")
def test_systemd_tmpfiles_age_cleaning_skips_a_live_run_and_cleans_an_ended_one(tmp_path):
    """A distribution's /tmp rule (days), scaled to 1 s: the live run's base survives whole."""
    temp = tmp_path / "tmp"
    live = Membership(str(temp / "live-base"), "run-1-2-abc")
    Membership(str(temp / "ended-base"), "run-3-4-abc").close()
    for run in (live.path, str(temp / "ended-base" / "run-3-4-abc")):
        with open(os.path.join(run, "w-1-x.lob"), "wb") as f:
            f.write(b"x")
    rule = tmp_path / "tmp.conf"
    rule.write_text(f"e {temp} - - - 1s\n")
    time.sleep(2.5)
    try:
        out = subprocess.run(["systemd-tmpfiles", "--clean", str(rule)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert os.path.exists(os.path.join(live.path, "w-1-x.lob")) and not live.lost()
        assert not (temp / "ended-base").exists()  # the control: the rule does clean what nobody holds
    finally:
        live.close()
