"""A real VictoriaMetrics scale-out path for tests, on 127.0.0.1 only, always stopped on exit:

    vmagent (scrapes the jobs every second) --remote_write--> victoria-metrics (stores, answers PromQL/MetricsQL)
    vmalert (evaluates rule files every second against victoria-metrics, writes recording rules' results back
             to it, sends alerts to an Alertmanager)

    with VictoriaStack({"litellm": ["127.0.0.1:9464"]}, rule_files=(...), alertmanager="127.0.0.1:9093") as vm:
        vm.wait_for('up{job="litellm"} == 1')
        vm.query("sum(rate(litellm_requests_total[1m]))")   # victoria-metrics' Prometheus-compatible API
        vm.alerts()                                         # vmalert's /api/v1/alerts

Debian's `victoria-metrics` package (1.79) gives the three binaries; scripts/test installs it. victoria-metrics
answers with data up to 1 s old (`-search.latencyOffset`, 30 s by default) and without its rollup cache, so
a test sees what was just scraped. Every wait is bounded in time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import yaml

from .processes import stop_group
from .prometheus_server import PrometheusAPI, PrometheusError
from .proxy import free_port

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
BINARIES = ("victoria-metrics", "vmagent", "vmalert")


def missing() -> list[str]:
    return [b for b in BINARIES if not shutil.which(b)]


class VictoriaStack(PrometheusAPI):
    def __init__(
        self,
        jobs: dict[str, list[str]],
        rule_files: tuple[str, ...] = (),
        alertmanager: str | None = None,
        interval: str = "1s",
    ):
        absent = missing()
        if absent:
            names = ", ".join(absent)
            raise PrometheusError(f"{names} not on PATH: apt-get install victoria-metrics (scripts/test does)")
        self.jobs, self.rule_files, self.alertmanager, self.interval = jobs, rule_files, alertmanager, interval
        self.vm_port, self.agent_port, self.alert_port = free_port(), free_port(), free_port()
        super().__init__(f"http://127.0.0.1:{self.vm_port}")
        self.vmalert_url = f"http://127.0.0.1:{self.alert_port}"
        self._dir: tempfile.TemporaryDirectory | None = None
        self._procs: list[tuple[str, subprocess.Popen, object]] = []

    def _start(self, name: str, args: list[str], port: int) -> None:
        assert self._dir is not None
        log = open(os.path.join(self._dir.name, f"{name}.log"), "wb")
        proc = subprocess.Popen(
            [name, f"-httpListenAddr=127.0.0.1:{port}", "-loggerLevel=WARN", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._procs.append((name, proc, log))
        deadline = time.monotonic() + READY_TIMEOUT
        for _ in range(int(READY_TIMEOUT / 0.1) + 1):
            if proc.poll() is not None:
                raise PrometheusError(f"{name} exited with {proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        raise PrometheusError(f"{name} not ready after {READY_TIMEOUT}s:\n{self.log_tail()}")

    def start(self) -> VictoriaStack:
        self._dir = tempfile.TemporaryDirectory(prefix="victoria-test-")
        d = self._dir.name
        scrape = {
            "global": {"scrape_interval": self.interval, "scrape_timeout": self.interval},
            "scrape_configs": [
                {"job_name": name, "static_configs": [{"targets": targets}]} for name, targets in self.jobs.items()
            ],
        }
        config = os.path.join(d, "scrape.yml")
        with open(config, "w", encoding="utf-8") as f:
            yaml.safe_dump(scrape, f)
        try:
            self._start(
                "victoria-metrics",
                [
                    f"-storageDataPath={os.path.join(d, 'data')}",
                    "-retentionPeriod=1d",
                    "-search.latencyOffset=1s",
                    "-search.disableCache",
                ],
                self.vm_port,
            )
            self._start(
                "vmagent",
                [
                    f"-promscrape.config={config}",
                    f"-remoteWrite.url={self.url}/api/v1/write",
                    f"-remoteWrite.tmpDataPath={os.path.join(d, 'vmagent')}",
                    "-remoteWrite.flushInterval=1s",
                ],
                self.agent_port,
            )
            if self.rule_files:
                args = [f"-rule={path}" for path in self.rule_files]
                args += [
                    f"-datasource.url={self.url}",
                    f"-remoteWrite.url={self.url}",
                    "-remoteWrite.flushInterval=1s",
                    f"-evaluationInterval={self.interval}",
                ]
                if self.alertmanager:  # vmalert 1.79 insists on a notifier when the rules have alerts
                    args.append(f"-notifier.url=http://{self.alertmanager}")
                self._start("vmalert", args, self.alert_port)
        except BaseException:
            self.stop()
            raise
        return self

    def alerts(self) -> list[dict]:
        """vmalert's active alerts (pending and firing), as its Prometheus-compatible /api/v1/alerts lists them."""
        with urllib.request.urlopen(f"{self.vmalert_url}/api/v1/alerts", timeout=10) as r:
            body = json.load(r)
        return body["data"]["alerts"] or []  # null when there are none

    def log_tail(self, n: int = 20) -> str:
        if not self._dir:
            return ""
        out = []
        for name in BINARIES:
            try:
                with open(os.path.join(self._dir.name, f"{name}.log"), encoding="utf-8", errors="replace") as f:
                    out.append(f"--- {name}\n" + "".join(f.readlines()[-n:]))
            except OSError:
                pass
        return "\n".join(out)

    def stop(self) -> None:
        procs, self._procs = self._procs, []
        for _name, proc, log in reversed(procs):
            stop_group(proc, STOP_TIMEOUT)
            log.close()
        if self._dir:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> VictoriaStack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
