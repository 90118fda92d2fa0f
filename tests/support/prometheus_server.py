"""A real Prometheus server for tests, on 127.0.0.1 only, always stopped on exit.

    with PrometheusServer({"litellm": ["127.0.0.1:9464"]}) as prom:
        prom.wait_for("up == 1")
        result = prom.query('sum(rate(x_total[1m]))')

It scrapes every second: the given jobs, and itself (job `prometheus`) so that `up` and
`scrape_*` exist for a second job too; with `rule_files` it evaluates them every second, and with
`alertmanager` it sends their alerts there. Every wait is bounded in time.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

from .processes import stop_group
from .proxy import free_port

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 10.0


class PrometheusError(RuntimeError):
    pass


def _epoch(rfc3339: str) -> float:
    """Seconds since the epoch of a time the API gives (RFC 3339, to the nanosecond, in any offset)."""
    m = re.fullmatch(r"(.+T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", rfc3339)
    if m is None:
        raise PrometheusError(f"not an RFC 3339 time: {rfc3339!r}")
    whole, fraction, offset = m.groups()
    at = datetime.datetime.fromisoformat(whole + ("+00:00" if offset == "Z" else offset))
    return at.timestamp() + float(fraction or 0)


class PrometheusAPI:
    """The HTTP API of a Prometheus at `url` (one this module started, or another's, such as the demo's)."""

    def __init__(self, url: str):
        self.url = url

    def log_tail(self, n: int = 40) -> str:
        """Its log, for failure messages: none, for a Prometheus this module did not start."""
        return ""

    def api(self, path: str, params: dict | list) -> dict:
        """GET /api/v1/<path>; the `data` of a success, PrometheusError (with Prometheus's words) otherwise."""
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:  # 400/422: a bad query; the body says why
            body = json.load(e)
        if body.get("status") != "success":
            raise PrometheusError(f"{body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        """An instant query at now: the result vector (a scalar comes back as one series)."""
        data = self.api("query", {"query": expr})
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]

    def wait_for_evaluation(self, after: float, timeout: float = 30.0) -> None:
        """Wait until every group holding an alerting rule was last evaluated later than `after` (seconds
        since the epoch; this Prometheus shares our clock). The state of the alerts before that evaluation is
        not yet about what Prometheus saw at `after`: a rule evaluated just before the targets' first scrape
        may stand pending until its next evaluation."""

        def evaluated() -> bool:
            groups = [g for g in self.api("rules", {"type": "alert"})["groups"] if g["rules"]]
            return bool(groups) and all(_epoch(g["lastEvaluation"]) > after for g in groups)

        deadline = time.monotonic() + timeout
        while not evaluated():
            if time.monotonic() > deadline:
                raise PrometheusError(f"alerting rules not evaluated since {after} after {timeout}s")
            time.sleep(0.2)

    def label_values(self, label: str, match: str) -> list[str]:
        """What Grafana's `label_values(match, label)` lists."""
        return self.api(f"label/{label}/values", [("match[]", match)])

    def wait_for(self, expr: str, timeout: float = 60.0, interval: float = 0.5) -> list[dict]:
        """Poll until `expr` returns a series; bounded in time and in attempts."""
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / interval) + 1):
            result = self.query(expr)
            if result:
                return result
            if time.monotonic() > deadline:
                break
            time.sleep(interval)
        raise PrometheusError(f"no series for {expr!r} after {timeout}s:\n{self.log_tail()}")


class PrometheusServer(PrometheusAPI):
    def __init__(
        self,
        jobs: dict[str, list[str]],
        scrape_interval: str = "1s",
        binary: str | None = None,
        rule_files: tuple[str, ...] = (),
        alertmanager: str | None = None,
        scrape_configs: tuple[dict, ...] = (),
    ):
        self.binary = binary or shutil.which("prometheus")
        if not self.binary:
            raise PrometheusError("prometheus not on PATH: apt-get install prometheus (scripts/test does)")
        self.jobs = jobs
        self.scrape_interval = scrape_interval
        self.rule_files = rule_files  # absolute paths, evaluated every scrape interval
        self.alertmanager = alertmanager  # host:port of an Alertmanager to send alerts to
        self.scrape_configs = scrape_configs  # whole scrape jobs, beside `jobs` (benchmarks/fleet.py's)
        self.port = free_port()
        super().__init__(f"http://127.0.0.1:{self.port}")
        self._dir: tempfile.TemporaryDirectory | None = None
        self._proc: subprocess.Popen | None = None
        self._log = None

    def _config(self) -> dict:
        scrape = [{"job_name": name, "static_configs": [{"targets": targets}]} for name, targets in self.jobs.items()]
        scrape += list(self.scrape_configs)
        scrape.append({"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{self.port}"]}]})
        config = {
            "global": {
                "scrape_interval": self.scrape_interval,
                "scrape_timeout": self.scrape_interval,
                "evaluation_interval": self.scrape_interval,
            },
            "scrape_configs": scrape,
        }
        if self.rule_files:
            config["rule_files"] = list(self.rule_files)
        if self.alertmanager:
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [self.alertmanager]}]}]}
        return config

    def start(self) -> PrometheusServer:
        self._dir = tempfile.TemporaryDirectory(prefix="prometheus-test-")
        config = os.path.join(self._dir.name, "prometheus.yml")
        with open(config, "w", encoding="utf-8") as f:
            yaml.safe_dump(self._config(), f)
        self._log = open(os.path.join(self._dir.name, "prometheus.log"), "wb")
        self._proc = subprocess.Popen(
            [
                self.binary,
                f"--config.file={config}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--storage.tsdb.path={os.path.join(self._dir.name, 'data')}",
                "--storage.tsdb.retention.time=1h",
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
        for _ in range(int(READY_TIMEOUT / 0.1) + 1):
            if self._proc.poll() is not None:
                raise PrometheusError(f"prometheus exited with {self._proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        raise PrometheusError(f"prometheus not ready after {READY_TIMEOUT}s:\n{self.log_tail()}")

    def log_tail(self, n: int = 40) -> str:
        if not self._dir:
            return ""
        try:
            with open(os.path.join(self._dir.name, "prometheus.log"), encoding="utf-8", errors="replace") as f:
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

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
