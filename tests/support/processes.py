"""Stopping a server a test started in its own session (`start_new_session=True`): the whole process group."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_group(proc: subprocess.Popen | None, timeout: float) -> None:
    """SIGTERM the group of `proc` (its own session: only the server is in it), SIGKILL after `timeout`
    seconds; nothing when it has already exited."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)
