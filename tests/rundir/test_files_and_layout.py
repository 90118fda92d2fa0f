"""rundir layout and files: base directories checked on every start, locks, handshakes and files that never follow a
symlink (runs and their liveness: test_runs.py)."""

from __future__ import annotations

import os

import pytest

from litellm_observe.rundir import files, layout
from litellm_observe.rundir.runs import Membership


def test_base_dir_is_one_per_user_by_default(tmp_path):
    import tempfile

    mine = f"litellm_observe-{os.geteuid()}"
    assert layout.base_name() == mine and layout.base_name(1234) == "litellm_observe-1234"
    assert layout.base_dir("/configured", {"PROMETHEUS_MULTIPROC_DIR": "/m"}) == "/configured"
    assert layout.base_dir(None, {"PROMETHEUS_MULTIPROC_DIR": "/m"}) == os.path.join("/m", mine)
    assert layout.base_dir(None, {"prometheus_multiproc_dir": "/m2"}) == os.path.join("/m2", mine)
    assert layout.base_dir(None, {"XDG_RUNTIME_DIR": str(tmp_path)}) == str(tmp_path / "litellm_observe")
    assert layout.base_dir(None, {"XDG_RUNTIME_DIR": str(tmp_path / "missing")}) == os.path.join(
        tempfile.gettempdir(), mine
    )
    assert layout.base_dir(None, {}) == os.path.join(tempfile.gettempdir(), mine)


@pytest.mark.parametrize(
    "plant, problem",
    [
        ("symlink", "symbolic link"),
        ("file", "not a directory"),
        ("world-writable", "others can write"),
        ("group-writable", "others can write"),
    ],
)
def test_an_unsafe_base_directory_is_refused_never_used(tmp_path, plant, problem):
    base = tmp_path / "base"
    if plant == "symlink":
        (tmp_path / "elsewhere").mkdir()
        base.symlink_to(tmp_path / "elsewhere")
    elif plant == "file":
        base.write_text("")
    else:
        base.mkdir()
        os.chmod(base, 0o777 if plant == "world-writable" else 0o770)
    with pytest.raises(layout.UnsafeDirectory) as e:
        Membership(str(base), "run-1-2")
    assert problem in e.value.strerror and str(base) in e.value.strerror
    assert not (tmp_path / "elsewhere" / "run-1-2").exists()


def test_someone_elses_base_directory_is_refused(tmp_path):
    base = tmp_path / "base"
    base.mkdir(mode=0o700)
    if os.geteuid() != 0:
        pytest.skip("needs root to give a directory to another user")
    os.chown(base, 4242, 4242)
    with pytest.raises(layout.UnsafeDirectory, match="belongs to uid 4242"):
        Membership(str(base), "run-1-2")


def test_run_directories_and_files_are_private(tmp_path):
    run = Membership(str(tmp_path / "base"), "run-1-2").directory
    for d in (tmp_path / "base", run.path, run.labels_dir, run.resets_dir):
        assert os.stat(d).st_mode & 0o777 == 0o700, d
    fd = files.open_file(run.join("f"), os.O_RDWR | os.O_CREAT)
    os.close(fd)
    assert os.stat(run.join("f")).st_mode & 0o777 == 0o600


def test_group_sharing_is_an_opt_in(tmp_path):
    files.share_with_group(True)
    try:
        run = Membership(str(tmp_path / "base"), "run-1-2").directory
        assert os.stat(run.path).st_mode & 0o777 == 0o770
        fd = files.open_file(run.join("f"), os.O_RDWR | os.O_CREAT)
        os.close(fd)
        assert os.stat(run.join("f")).st_mode & 0o777 == 0o660
        os.chmod(run.path, 0o777)  # but never anyone else
        with pytest.raises(layout.UnsafeDirectory):
            layout.prepare(run.path)
    finally:
        files.share_with_group(False)


# ---- locks and files ----------------------------------------------------------------------------------------
def test_locked_is_exclusive_and_hold_keeps_it(tmp_path):
    path = str(tmp_path / "x.lock")
    fd = files.hold(path)
    assert fd is not None and files.hold(path) is None and files.lock_held(path) is True
    with files.locked(path, wait=False) as mine:
        assert mine is False
    os.close(fd)
    with files.locked(path, wait=False) as mine:
        assert mine is True and files.lock_held(path) is True
    assert files.lock_held(path) is False
    assert files.lock_held(str(tmp_path / "missing")) is None


def test_shared_holders_exclude_an_exclusive_one(tmp_path):
    path = str(tmp_path / "compact.lock")
    with files.locked(path, shared=True), files.locked(path, shared=True, wait=False) as second:
        assert second is True
        with files.locked(path, wait=False) as exclusive:
            assert exclusive is False


def test_writer_gone_answers_false_when_unsure(tmp_path, monkeypatch):
    import errno

    dead = tmp_path / "w-1.lob"
    dead.write_bytes(b"")
    assert files.writer_gone(str(dead))

    def emfile(*args, **kwargs):
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(os, "open", emfile)
    assert not files.writer_gone(str(dead))  # a live writer's file is never taken for dead


def test_files_are_never_opened_through_a_symlink(tmp_path):
    target = tmp_path / "victim"
    target.write_text("private")
    link = tmp_path / "exporter.pid"
    link.symlink_to(target)
    with pytest.raises(OSError):
        files.open_file(str(link), os.O_RDWR | os.O_CREAT)
    with pytest.raises(FileExistsError):
        files.create_exclusive(str(link))
    files.write_atomically(str(link), b"123")  # replaces the link itself, never writes through it
    assert target.read_text() == "private" and not link.is_symlink() and link.read_text() == "123"
    assert os.stat(link).st_mode & 0o777 == 0o600


def test_write_atomically_leaves_no_temporary_file_on_failure(tmp_path, monkeypatch):
    import errno

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError):
        files.write_atomically(str(tmp_path / "archive.lob"), b"data")
    assert os.listdir(tmp_path) == []
