"""`python -m litellm_observe.exporter --run-dir DIR --root PID:START:NS [--config FILE]`:
the run's exporter, started by a worker's supervisor (worker/supervisor.py)."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from .. import settings as settings_mod
from ..rundir.runs import Root
from .service import run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m litellm_observe.exporter")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--root", required=True, help="PID:STARTTIME:NS of the proxy run's root process (rundir/runs.py)")
    p.add_argument("--config", default=None, help="config.yaml with a litellm_observe: section")
    p.add_argument(
        "--settings-stdin",
        action="store_true",
        help="read the settings as JSON from standard input (how a worker passes its own)",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s: %(message)s")
    if args.settings_stdin:
        settings = settings_mod.load(section=json.load(sys.stdin), environ={})
    else:
        settings = settings_mod.load(args.config)
    return run(args.run_dir, settings, Root.from_arg(args.root))


if __name__ == "__main__":
    sys.exit(main())
