"""supervisor: the exporter it starts gets exactly the worker's settings, however they were given."""

from __future__ import annotations

import os
import signal
import time

import httpx

from litellm_observe import settings as settings_mod
from litellm_observe.rundir import layout
from litellm_observe.worker.logger import ObserveLogger
from tests.support.proxy import free_port


def test_settings_given_in_code_reach_the_exporter(tmp_path):
    """Before: ObserveLogger(settings) configured 127.0.0.1:<port> with a token, and the spawned exporter served
    0.0.0.0:9464 with the defaults and no auth (it re-read the config file)."""
    port = free_port()
    settings = settings_mod.load(
        environ={},
        section={
            "port": port,
            "bind_address": "127.0.0.1",
            "bearer_token": "only-in-code",
            "metrics_dir": str(tmp_path),
        },
    )
    lg = ObserveLogger(settings, model_names=lambda: ["ok"], caching_on=lambda: False, start_exporter=True)
    pid_file = layout.Directory(lg.run_directory).exporter_pid
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not os.path.exists(pid_file):
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/metrics"
        assert httpx.get(url, timeout=10).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer only-in-code"}, timeout=10).status_code == 200
        with open(f"/proc/{int(open(pid_file).read())}/cmdline", "rb") as f:
            assert b"only-in-code" not in f.read()  # through a pipe, never in argv
    finally:
        if os.path.exists(pid_file):
            os.kill(int(open(pid_file).read()), signal.SIGTERM)
