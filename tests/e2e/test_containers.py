"""Where LiteLLM is deployed (issue 20): containers sharing a metrics volume, a `serve-metrics` sidecar in a
container of its own, hosts that clean their temp directory by age, a run directory removed under a live
proxy, an arbitrary UID with no passwd entry on a read-only root filesystem.

A container is a real PID namespace (`unshare --pid --fork --mount-proc`): each proxy there is PID 1, as
in LiteLLM's image, and sees only its own processes. Each proxy runs 2 workers. What every test asserts is
what we count: each exporter serves exactly what its own proxy answered, no total goes down or vanishes,
and no log holds a traceback.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from litellm_observe.rundir import layout
from tests.support.metrics import total
from tests.support.proxy import Proxy, default_config, free_port
from tests.support.users import REPO
from tests.support.waiting import wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="PID namespaces and mounts need root (CI runs as root)"),
]
CONTAINER = ("unshare", "--pid", "--fork", "--mount-proc", "--kill-child")


def _load(proxy: Proxy, tag: str, n: int = 6) -> int:
    """n answered and n // 3 failed requests; returns how many the client saw answered or failed."""
    seen = [proxy.chat("ok", content=f"{tag} {i}") for i in range(n)]
    seen += [proxy.chat("bad500", content=f"{tag} e{i}") for i in range(n // 3)]
    assert seen.count(200) == n and seen.count(500) == n // 3, seen
    return len(seen)


def _requests(url: str) -> float | None:
    import httpx

    try:
        r = httpx.get(url, timeout=10)
    except httpx.HTTPError:
        return None
    return total(r.text, "requests") if r.status_code == 200 else None


def _settle(url: str, expected: float, what: str) -> None:
    wait_until(lambda: _requests(url) == expected, timeout=60, what=f"{what} serving requests_total == {expected}")


def _no_traceback(*logs: Path) -> None:
    """No traceback of ours (LiteLLM logs its own for every failed upstream call)."""
    for log in logs:
        lines = log.read_text(errors="replace").splitlines()
        for i, line in enumerate(lines):
            if line.startswith("Traceback (most recent call last)"):
                block = [line]
                for follow in lines[i + 1 :]:
                    block.append(follow)
                    if not follow.startswith((" ", "\t")):
                        break
                assert "litellm_observe" not in "\n".join(block), f"{log}:\n" + "\n".join(block)


class Sidecar:
    """`litellm_observe serve-metrics` over the shared volume, in a container (PID namespace) of its own."""

    def __init__(self, volume: Path, log: Path):
        self.port = free_port()
        self.log = log
        self.proc = subprocess.Popen(
            [
                *CONTAINER,
                sys.executable,
                "-m",
                "litellm_observe",
                "serve-metrics",
                "--dir",
                str(volume),
                "--address",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env={**os.environ, "PYTHONPATH": REPO},
            stdout=subprocess.DEVNULL,
            stderr=open(log, "wb"),
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}/metrics"
        wait_until(lambda: _requests(self.url) is not None, timeout=60, what="the sidecar")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)


def _container_proxy(upstream, workdir: Path, volume: Path) -> Proxy:
    proxy = Proxy(workdir, upstream.base_url, workers=2, wrap=CONTAINER)
    proxy.config["litellm_observe"]["metrics_dir"] = str(volume)
    return proxy


def test_two_containers_and_a_sidecar_share_one_volume_and_never_wipe_each_other(upstream, tmp_path):
    volume = tmp_path / "volume"
    volume.mkdir(mode=0o700)
    sidecar = Sidecar(volume, tmp_path / "sidecar.log")
    a = _container_proxy(upstream, tmp_path / "a", volume)
    b = _container_proxy(upstream, tmp_path / "b", volume)
    a2 = _container_proxy(upstream, tmp_path / "a2", volume)
    try:
        with a:
            answered_a = _load(a, "a")
            _settle(a.metrics_url, answered_a, "proxy A's exporter")
            _settle(sidecar.url, answered_a, "the sidecar")
            with b:  # B's start ran its clean-up over the shared volume: A's run is held, so it stays
                assert _requests(a.metrics_url) == answered_a and _requests(b.metrics_url) == 0
                runs = sorted(p.name for p in volume.iterdir() if p.name.startswith(layout.RUN_PREFIX))
                assert len(runs) == 2 and all(r.startswith("run-1-") for r in runs), runs  # both are PID 1
                answered_b = _load(b, "b", 9)
                _settle(b.metrics_url, answered_b, "proxy B's exporter")
                assert _requests(a.metrics_url) == answered_a
                _settle(sidecar.url, answered_a + answered_b, "the sidecar")
                a.stop()  # container A stops: every process of its namespace dies, its exporter too
                wait_until(
                    lambda: len([p for p in volume.iterdir() if p.name.startswith(layout.RUN_PREFIX)]) == 1,
                    timeout=60,
                    what="A's ended run folded by the sidecar",
                )
                assert _requests(sidecar.url) == answered_a + answered_b
                assert _requests(b.metrics_url) == answered_b
                with a2:  # A again: its exporter starts from 0, B and the sidecar keep theirs
                    assert _requests(a2.metrics_url) == 0
                    answered_a2 = _load(a2, "a2")
                    _settle(a2.metrics_url, answered_a2, "proxy A's new exporter")
                    _settle(sidecar.url, answered_a + answered_b + answered_a2, "the sidecar")
                    assert _requests(b.metrics_url) == answered_b
    finally:
        sidecar.stop()
    _no_traceback(a.log_path, b.log_path, a2.log_path, sidecar.log)


def _tmpfs(path: Path) -> None:
    path.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=1777", "tmpfs", str(path)], check=True)


@pytest.mark.skipif(not shutil.which("systemd-tmpfiles"), reason="needs systemd-tmpfiles")
def test_age_based_cleaning_of_a_tmpfs_temp_dir_never_touches_a_live_run(upstream, tmp_path):
    """The default base (`<temp dir>/litellm_observe-<uid>`) on a tmpfs /tmp, and the age rule distributions put
    on /tmp scaled from days to 2 s: writes through a shared mapping leave a busy file looking old, yet the
    run survives whole, because its processes hold flocks on its directories."""
    temp = tmp_path / "tmp"
    _tmpfs(temp)
    rule = tmp_path / "tmp.conf"
    rule.write_text(f"e {temp} - - - 2s\n")
    try:
        proxy = Proxy(tmp_path / "proxy", upstream.base_url, workers=2, tmpdir=temp)
        with proxy:
            answered = _load(proxy, "before")
            _settle(proxy.metrics_url, answered, "the exporter")
            (temp / "someone-elses-old-dir").mkdir()
            time.sleep(3)  # everything is older than the rule's age now
            cleaned = subprocess.run(
                ["systemd-tmpfiles", "--clean", str(rule)], capture_output=True, text=True, timeout=60
            )
            assert cleaned.returncode == 0, cleaned.stderr
            assert not (temp / "someone-elses-old-dir").exists()  # the control: the rule does clean
            assert _requests(proxy.metrics_url) == answered
            answered += _load(proxy, "after")
            _settle(proxy.metrics_url, answered, "the exporter")
            assert "was removed while the proxy ran" not in proxy.log_path.read_text(errors="replace")
        _no_traceback(proxy.log_path)
    finally:
        subprocess.run(["umount", "-l", str(temp)], check=False)


def test_a_run_directory_removed_under_a_live_proxy_is_made_again_and_nothing_is_lost(upstream, tmp_path):
    """A cleaner that ignores locks (tmpreaper, `find -delete`) or a hand removes the live run directory."""
    proxy = Proxy(tmp_path / "proxy", upstream.base_url, workers=2)
    with proxy:
        answered = _load(proxy, "before")
        _settle(proxy.metrics_url, answered, "the exporter")
        run = next(proxy.base_dir.glob(layout.RUN_PREFIX + "*"))
        shutil.rmtree(run)
        last, deadline = answered, time.monotonic() + 8
        while time.monotonic() < deadline:  # meanwhile: never lower, never gone
            served = _requests(proxy.metrics_url)
            assert served is not None and served >= last, (served, last)
            last = served
            time.sleep(0.2)
        wait_until(lambda: (run / layout.EXPORTER_PID).exists(), timeout=30, what="the run directory made again")
        answered += _load(proxy, "after")
        _settle(proxy.metrics_url, answered, "the exporter")  # exact: the counts from before are all there
        text = proxy.scrape()
        assert total(text, "observe_internal_errors", hook="run_directory") == 1
        log = proxy.log_path.read_text(errors="replace")
        assert log.count("was removed while the proxy ran") == 1, log[-3000:]
    _no_traceback(proxy.log_path)


def test_an_arbitrary_uid_without_passwd_entry_on_a_read_only_root(upstream, tmp_path):
    """OpenShift's way: a UID with no passwd entry, no home, group 0, the root filesystem read-only and the
    metrics on a writable volume; the proxy is PID 1 of its namespace."""
    from tests.support.users import shared_host

    uid = 1000870000
    with shared_host() as host:
        workdir = Path(host.shared) / "openshift"
        volume, temp = workdir / "volume", workdir / "tmp"
        for d in (workdir, volume, temp):
            d.mkdir(exist_ok=True)
        script = (
            f"mount -o remount,bind,ro / && mount -t tmpfs -o mode=1777 tmpfs {volume} && "
            f"mount -t tmpfs -o mode=1777 tmpfs {temp} && "
            f'exec setpriv --reuid={uid} --regid=0 --clear-groups -- "$@"'
        )
        config = default_config(upstream.base_url, free_port())
        config["litellm_observe"]["metrics_dir"] = str(volume / "metrics")
        proxy = Proxy(
            workdir,
            upstream.base_url,
            workers=2,
            config=config,
            tmpdir=temp,
            wrap=(
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--pid",
                "--fork",
                "--mount-proc",
                "--kill-child",
                "sh",
                "-c",
                script,
                "sh",
            ),
            command=(host.python, "-c", "from litellm.proxy.proxy_cli import run_server; run_server()"),
            env={
                **host.env,
                "PYTHONPATH": os.pathsep.join(filter(None, (host.repo, host.site))),
                "HOME": "/nonexistent",
            },
        )
        with proxy:
            answered = _load(proxy, "openshift")
            _settle(proxy.metrics_url, answered, "the exporter")
            litellm = [p for p in _descendants(proxy.proc.pid) if b"run_server" in _read(f"/proc/{p}/cmdline")]
            assert litellm, "no LiteLLM process found"
            status = _read(f"/proc/{litellm[0]}/status").decode()
            assert f"Uid:\t{uid}\t" in status and "Gid:\t0\t" in status  # as set, and it is not root
            root_mount = [
                line.split()
                for line in _read(f"/proc/{litellm[0]}/mountinfo").decode().splitlines()
                if line.split()[4] == "/"
            ][0]
            assert root_mount[5].split(",")[0] == "ro"  # the root filesystem it sees is read-only
        _no_traceback(proxy.log_path)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in os.listdir(f"/proc/{p}/task") if os.path.isdir(f"/proc/{p}/task") else []:
            kids = _read(f"/proc/{p}/task/{task}/children").split()
            out += [int(k) for k in kids]
            todo += [int(k) for k in kids]
    return out
