"""A real Alertmanager for tests, on 127.0.0.1 only, always stopped on exit, and a webhook receiver that
records what Alertmanager delivers.

    with WebhookReceiver() as hook, AlertmanagerServer(config_text) as am:
        am.post([{"labels": {...}, "annotations": {...}}])
        hook.wait_for(lambda notes: len(notes) == 1)

Clustering is off (one instance); every wait is bounded in time.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from litellm_observe.demo import stack
from litellm_observe.demo.inbox import Inbox

from .processes import stop_group
from .proxy import free_port
from .waiting import wait_until

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class AlertmanagerError(RuntimeError):
    pass


class WebhookReceiver(Inbox):
    """The demo's webhook receiver (litellm_observe/demo/inbox.py), with a bounded wait."""

    def wait_for(self, done: Callable[[list[dict]], bool], timeout: float = 60.0, what: str = "") -> list[dict]:
        """The notifications received, once `done` holds for them (polled every 0.2 s, bounded by `timeout`)."""
        (got,) = wait_until(
            lambda: (notes,) if done(notes := self.received()) else None,
            timeout,
            0.2,
            what or "notifications",
            detail=lambda: str(self.received()),
        )
        return got


class AlertmanagerServer:
    def __init__(self, config_text: str, binary: str | None = None):
        self.binary = binary or stack.alertmanager_binary()
        if not self.binary:
            raise AlertmanagerError(
                "alertmanager not on PATH: apt-get install prometheus-alertmanager (scripts/test does)"
            )
        self.config_text = config_text
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._dir: tempfile.TemporaryDirectory | None = None
        self._proc: subprocess.Popen | None = None
        self._log = None

    def start(self) -> AlertmanagerServer:
        self._dir = tempfile.TemporaryDirectory(prefix="alertmanager-test-")
        config = os.path.join(self._dir.name, "alertmanager.yml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(self.config_text)
        self._log = open(os.path.join(self._dir.name, "alertmanager.log"), "wb")
        self._proc = subprocess.Popen(
            [
                self.binary,
                f"--config.file={config}",
                f"--storage.path={os.path.join(self._dir.name, 'data')}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise AlertmanagerError(f"alertmanager exited with {self._proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise AlertmanagerError(f"alertmanager not ready after {READY_TIMEOUT}s:\n{self.log_tail()}")

    def post(self, alerts: list[dict]) -> None:
        """Send alerts as Prometheus does (API v2)."""
        request = urllib.request.Request(
            self.url + "/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            if r.status != 200:
                raise AlertmanagerError(f"POST /api/v2/alerts: {r.status}")

    def alerts(self, **filters: str) -> list[dict]:
        """GET /api/v2/alerts: what Alertmanager holds, with each alert's status (inhibitedBy, ...)."""
        with urllib.request.urlopen(self.url + "/api/v2/alerts", timeout=10) as r:
            return json.load(r)

    def log_tail(self, n: int = 40) -> str:
        if not self._dir:
            return ""
        try:
            with open(os.path.join(self._dir.name, "alertmanager.log"), encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        stop_group(proc, STOP_TIMEOUT)
        if self._log:
            self._log.close()
            self._log = None
        if self._dir:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> AlertmanagerServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
