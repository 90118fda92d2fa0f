"""rundir: one directory per proxy run, named by the root process's pid and start time."""
from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys

from litellm_observe import rundir
from litellm_observe.rundir import Root


def _root_in_child(q):
    q.put(rundir.current_root())


def test_start_time_of_self_and_of_nothing():
    assert isinstance(rundir.start_time(os.getpid()), int)
    assert rundir.start_time(os.getpid()) == rundir.start_time(os.getpid())
    assert rundir.start_time(2**22 + 12345) is None  # above pid_max's default ceiling


def test_root_name_round_trip():
    r = Root(1234, 987654)
    assert r.name == "run-1234-987654"
    assert Root.parse(r.name) == r
    for bad in ("run-", "run-x-1", "run-1-2-3", "run-12", "run--1-5"):
        assert Root.parse(bad) is None, bad


def test_alive():
    me = Root(os.getpid(), rundir.start_time(os.getpid()))
    assert me.alive()
    assert not Root(os.getpid(), me.start + 1).alive()  # same pid, another process (pid reuse)


def test_current_root_is_self_when_not_a_worker():
    root = rundir.current_root()
    assert root == Root(os.getpid(), rundir.start_time(os.getpid()))


def test_current_root_of_a_spawned_worker_is_its_parent():
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_root_in_child, args=(q,))
    p.start()
    try:
        root = q.get(timeout=60)
    finally:
        p.join(60)
    assert root == Root(os.getpid(), rundir.start_time(os.getpid()))


def test_base_dir(tmp_path):
    assert rundir.base_dir("/configured", {"PROMETHEUS_MULTIPROC_DIR": "/m"}) == "/configured"
    assert rundir.base_dir(None, {"PROMETHEUS_MULTIPROC_DIR": "/m"}) == os.path.join("/m", rundir.BASE_NAME)
    assert rundir.base_dir(None, {"prometheus_multiproc_dir": "/m2"}) == os.path.join("/m2", rundir.BASE_NAME)
    import tempfile

    assert rundir.base_dir(None, {}) == os.path.join(tempfile.gettempdir(), rundir.BASE_NAME)


def test_run_dir_creates_subfolders(tmp_path):
    path = rundir.run_dir(str(tmp_path), Root(1, 2))
    assert path == str(tmp_path / "run-1-2")
    assert os.path.isdir(os.path.join(path, rundir.LABELS_DIR))
    assert os.path.isdir(os.path.join(path, rundir.RESETS_DIR))
    assert rundir.run_dir(str(tmp_path), Root(1, 2)) == path  # idempotent


def _dead_root() -> Root:
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    start = rundir.start_time(child.pid)
    child.communicate(b"", timeout=60)
    assert start is not None
    return Root(child.pid, start)


def test_remove_dead_runs(tmp_path):
    base = str(tmp_path)
    me = Root(os.getpid(), rundir.start_time(os.getpid()))
    dead = _dead_root()
    kept_dead = Root(dead.pid, dead.start + 1)  # also dead (start time differs), but asked to keep
    for r in (me, dead, kept_dead):
        rundir.run_dir(base, r)
        open(os.path.join(base, r.name, "w-1.lob"), "wb").close()
    os.makedirs(os.path.join(base, "not-a-run"))
    os.makedirs(os.path.join(base, "run-garbage"))
    removed = rundir.remove_dead_runs(base, keep=kept_dead)
    assert removed == [dead.name]
    assert sorted(os.listdir(base)) == sorted([me.name, kept_dead.name, "not-a-run", "run-garbage"])
    assert rundir.remove_dead_runs(base, keep=kept_dead) == []


def test_remove_dead_runs_without_base(tmp_path):
    assert rundir.remove_dead_runs(str(tmp_path / "missing")) == []


def test_current_root_of_a_forked_worker_is_its_parent():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # gunicorn-style worker: forked, no exec
        os.write(write, str(rundir.current_root().pid).encode())
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
from litellm_observe import rundir
def child(q):
    q.put(rundir.current_root().pid)
if __name__ == "__main__":
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=child, args=(q,))
    p.start()
    print(q.get(timeout=60))
    p.join(60)
"""


def test_spawned_workers_of_a_first_process_find_it(tmp_path):
    """`litellm` as PID 1 in a container: its spawned workers' parent is 1, still the run's root."""
    import subprocess
    import sys

    script = tmp_path / "pid1.py"
    script.write_text(PID1_SCRIPT)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, str(script), repo],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1"]
