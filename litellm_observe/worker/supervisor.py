"""Keeps each worker's place in its run, and one exporter alive per proxy run, from inside the workers.

Each worker runs a daemon thread that every few seconds (1) calls the logger's `keep_run`, which makes
the run directory again when it was removed under the worker (rundir/runs.py, Membership) and publishes
the worker's sample file there again; (2) when this worker starts exporters, checks whether any process
holds the run's exporter lock; if none does, the worker that wins `spawn.lock` starts `python -m
litellm_observe.exporter`. Right after the run directory was made again, it waits a little before
starting one: the run's exporter, still serving, takes its lock in the new directory within a second.
A worker that is recycled or killed takes nothing with it: the exporter is its own session and outlives
it. The handshake (lock names, pid file, exit codes) is rundir/handshakes.py's; this module never imports
the exporter.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from .. import settings as settings_mod
from ..rundir.files import lock_held, locked
from ..rundir.handshakes import EXIT_BIND, EXIT_UNSAFE, EXPORTER_MODULE
from ..rundir.layout import Directory
from ..rundir.runs import Root

log = logging.getLogger("litellm_observe")
CHECK_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 60.0
REMADE_GRACE_SECONDS = 3.0  # the exporter checks its directory every second (exporter/service.py)


def exporter_running(directory: Directory) -> bool:
    return bool(lock_held(directory.exporter_lock, create=True))


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


class ExporterSupervisor(threading.Thread):
    def __init__(
        self,
        directory: Directory,
        root: Root,
        settings: settings_mod.Settings,
        keep_run: Callable[[], bool] = lambda: False,
        start_exporters: bool = True,
    ):
        super().__init__(daemon=True, name="litellm-observe-supervisor")
        self.directory, self.root, self.settings = directory, root, settings
        self._keep_run, self._start_exporters = keep_run, start_exporters
        self._backoff = 0.0
        self._remade_at = -1e9
        self._children: list[subprocess.Popen[bytes]] = []

    def run(self) -> None:
        while True:
            try:
                if self._keep_run():
                    self._remade_at = time.monotonic()
                if self._start_exporters:
                    self.check()
            except Exception:
                log.exception("litellm_observe: exporter supervisor check failed")
            time.sleep(CHECK_SECONDS + self._backoff)

    def check(self) -> None:
        self._children = [c for c in self._children if c.poll() is None]  # reap
        if exporter_running(self.directory) or time.monotonic() - self._remade_at < REMADE_GRACE_SECONDS:
            return
        with locked(self.directory.spawn_lock, wait=False) as mine:
            if mine and not exporter_running(self.directory):  # else another worker is starting one
                self._spawn()

    def _spawn(self) -> None:
        """Start an exporter with exactly this worker's settings, however they were given (config file,
        environment, or ObserveLogger(settings)): through a pipe, so no secret is in argv or environ."""
        cmd = [
            sys.executable,
            "-m",
            EXPORTER_MODULE,
            "--run-dir",
            self.directory.path,
            "--root",
            self.root.arg(),
            "--settings-stdin",
        ]
        child = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True, close_fds=True
        )
        self._children.append(child)
        try:
            assert child.stdin is not None  # stdin=PIPE
            child.stdin.write(settings_mod.dump(self.settings).encode())
            child.stdin.close()
        except OSError:
            pass  # it died at once: poll() below says how
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            if _read(self.directory.exporter_pid) == str(child.pid):
                self._backoff = 0.0
                return
            code = child.poll()
            if code is not None:
                if code == EXIT_BIND:
                    self._backoff = min(MAX_BACKOFF_SECONDS, max(2.0, self._backoff * 2))
                elif code == EXIT_UNSAFE:
                    self._backoff = MAX_BACKOFF_SECONDS
                return
            time.sleep(0.05)
