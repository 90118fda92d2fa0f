"""A run kept alive by another process, as a proxy's workers keep theirs: a child that joins the run
(rundir.runs.Membership, its shared flock on the run directory) and holds it until it is killed."""

from __future__ import annotations

import subprocess
import sys

from .users import REPO

_HOLD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from litellm_observe.rundir.runs import Membership
Membership(sys.argv[2], sys.argv[3])
print("held", flush=True)
time.sleep(600)
"""


def hold_run(base: str, name: str) -> subprocess.Popen:
    """A child process holding run `name` of `base` (made when missing); kill it to end the run."""
    child = subprocess.Popen([sys.executable, "-c", _HOLD, REPO, str(base), name], stdout=subprocess.PIPE, text=True)
    if child.stdout.readline().strip() != "held":
        child.kill()
        raise RuntimeError(f"the run holder for {name} did not start (exit {child.wait()})")
    return child


def end(child: subprocess.Popen) -> None:
    child.kill()
    child.wait(timeout=30)
