"""Real local users for the shared-host tests (root only): accounts, a shared sticky temp directory, and
this interpreter made runnable by them.

The interpreter may live where other users cannot enter (pyenv under /root, 0700): its prefix is then
bind-mounted at a path they can reach, with LD_LIBRARY_PATH pointing at its libpython (otherwise the
dynamic loader falls back to the system's libpython, with another site-packages). The repository (their
PYTHONPATH) is made reachable the same way, for a checkout inside a private directory (`mktemp -d`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int
    home: str  # a directory of its own, inside the shared temp directory


def _enterable_by_others(path: str) -> bool:
    path = os.path.abspath(path)
    while True:
        if not os.stat(path).st_mode & 0o001:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


def ensure_user(name: str) -> tuple[int, int]:
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
        pw = pwd.getpwnam(name)
    return pw.pw_uid, pw.pw_gid


@dataclass
class Host:
    """A shared temp directory (mode 1777, like /tmp), users, and a Python they can all run."""

    shared: str
    python: str
    env: dict
    repo: str = REPO  # the repository as the other users reach it
    site: str = ""  # a virtualenv's site-packages, when the tests run in one (its python links elsewhere)

    def user(self, name: str) -> User:
        uid, gid = ensure_user(name)
        home = os.path.join(self.shared, f"home-{name}")
        os.makedirs(home, exist_ok=True)
        os.chown(home, uid, gid)
        os.chmod(home, 0o700)
        return User(name, uid, gid, home)

    def env_for(self, user: User, **extra: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LITELLM_OBSERVE_", "PROMETHEUS_MULTIPROC"))}
        env.pop("XDG_RUNTIME_DIR", None)
        return {
            **env,
            **self.env,
            "HOME": user.home,
            "TMPDIR": self.shared,
            "USER": user.name,
            "PYTHONPATH": os.pathsep.join(filter(None, (self.repo, self.site))),
            **extra,
        }

    def run(
        self, user: User, code: str, *args: str, input: str | None = None, timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.python, "-c", code, *args],
            user=user.uid,
            group=user.gid,
            extra_groups=[],
            env=self.env_for(user, **env),
            cwd=user.home,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def popen(self, user: User, argv: list[str], **kw) -> subprocess.Popen:
        env = self.env_for(user, **kw.pop("env", {}))
        return subprocess.Popen([self.python, *argv], user=user.uid, group=user.gid, extra_groups=[], env=env, **kw)


def _reach(path: str, mounts: list[str]) -> str:
    """`path`, or a bind mount of it that other users can enter (recorded in `mounts`)."""
    if _enterable_by_others(path):
        return path
    mount = tempfile.mkdtemp(prefix="lobs-reach-", dir="/opt" if os.path.isdir("/opt") else "/tmp")
    os.chmod(mount, 0o755)
    mounts.append(mount)
    subprocess.run(["mount", "--bind", path, mount], check=True)
    return mount


@contextmanager
def shared_host():
    """Yields a Host; undoes the mounts and removes the shared directory afterwards."""
    shared = tempfile.mkdtemp(prefix="lobs-shared-", dir="/tmp")
    os.chmod(shared, 0o1777)
    mounts: list[str] = []
    python = sys.executable
    env: dict = {}
    site = ""
    try:
        # a virtualenv's python is a link into its base interpreter's prefix: run the base interpreter (reached)
        # with the virtualenv's site-packages on PYTHONPATH
        base = os.path.realpath(sys.base_prefix)
        if sys.prefix != sys.base_prefix:
            site = next(p for p in sys.path if p.startswith(sys.prefix) and p.endswith("site-packages"))
            site = _reach(site, mounts)
        prefix = _reach(base, mounts)
        if prefix != base or site:
            python = os.path.join(prefix, os.path.relpath(os.path.realpath(sys.executable), base))
            env["LD_LIBRARY_PATH"] = os.path.join(prefix, "lib")
        yield Host(shared, python, env, _reach(REPO, mounts), site)
    finally:
        for mount in reversed(mounts):
            subprocess.run(["umount", "-l", mount], check=False)
            os.rmdir(mount)
        shutil.rmtree(shared, ignore_errors=True)
