"""`litellm_observe demo` as a newcomer runs it: real proxy, real Prometheus, the fake provider.

The demo is checked from outside: the test reads the URLs it prints and asks the exporter and
Prometheus itself, then stops the demo the way a user does (Ctrl-C, or --duration running out) and
checks that every process it started has ended and its working directory is gone.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from litellm_observe.demo import stack
from tests.support.metrics import total
from tests.support.prometheus_server import PrometheusAPI

pytestmark = pytest.mark.e2e

START_SECONDS = 240  # the demo starts a 4-worker proxy (20-40 s here) and Prometheus
FIRE_SECONDS = 240  # outage after 20 s, `for: 30s` in the demo's rules, 5 s evaluations
REPO = Path(__file__).resolve().parents[2]


class Demo:
    """The demo as a child process whose output is read line by line in a thread."""

    def __init__(self, tmp_path: Path, *args: str, env: dict | None = None):
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "litellm_observe", "demo", *args],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp_path), **(env or {})},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.text)
            if m:
                return m
            if self.proc.poll() is not None:
                self._reader.join(5)
                m = re.search(pattern, self.text)
                if m:
                    return m
                pytest.fail(f"demo exited with {self.proc.returncode} before {pattern!r}:\n{self.text}")
            time.sleep(0.5)
        pytest.fail(f"no {pattern!r} after {timeout}s:\n{self.text}")

    def finish(self, timeout: float = 90) -> int:
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        self._reader.join(5)
        return code

    def workdir(self) -> Path:
        return Path(self.wait_for(r"working directory (\S+)", 10).group(1))


def _ended_cleanly(demo: Demo, workdir: Path) -> None:
    assert "demo stopped; every process it started has ended" in demo.text
    assert not workdir.exists()
    assert stack.tagged(str(workdir)) == []


def test_outage_fires_the_alert_and_closing_the_terminal_cleans_up(tmp_path):
    if not shutil.which("prometheus"):
        pytest.skip("prometheus not on PATH (scripts/test installs it)")
    demo = Demo(tmp_path, "--scenario", "outage", "--duration", "600")
    try:
        workdir = demo.workdir()
        assert oct(workdir.stat().st_mode & 0o777) == "0o700"
        assert oct((workdir / "master_key").stat().st_mode & 0o777) == "0o600"
        prometheus = demo.wait_for(r"prometheus  (http://127\.0\.0\.1:\d+)/graph", START_SECONDS).group(1)
        exporter = demo.wait_for(r"exporter    (http://127\.0\.0\.1:\d+/metrics)", 5).group(1)
        assert (workdir / "master_key").read_text() not in demo.text  # the key is named by its file only
        demo.wait_for(r"outage: provider mistral now fails every call", 60)

        client = PrometheusAPI(prometheus)
        firing = client.wait_for(
            'ALERTS{alertname="LitellmHighErrorRate", alertstate="firing", provider="mistral"}',
            timeout=FIRE_SECONDS,
            interval=2,
        )
        assert len(firing) == 1
        assert not client.query('ALERTS{alertname="LitellmHighErrorRate", provider!="mistral"}')
        # the exporter has the traffic: successes on every model, and the failures of the broken one
        import httpx

        text = httpx.get(exporter, timeout=10).text
        for model in stack.MODELS:
            assert total(text, "requests", model=model.name, status_code="200") > 0
        assert total(text, "requests", model=stack.OUTAGE.name, status_code="500") > 0
        assert total(text, "spend_usd") > 0
        assert total(text, "token_details", detail="reasoning") > 0
        # the demo's callers are attributed (the sums are proven where traffic stops: test_cardinality.py)
        assert total(text, "caller_requests", dimension="end_user", caller="acme") > 0
        assert total(text, "caller_spend_usd", dimension="tags", caller="support-bot") > 0
        assert total(text, "caller_requests", dimension="metadata.project", caller="atlas") > 0
        # the live summary shows the alert too, and Alertmanager's notification of it
        demo.wait_for(r'firing: LitellmHighErrorRate\{provider="mistral"\}', 30)
        assert re.search(r"\d+\.\d req/s \(200 \d", demo.text)
        if stack.alertmanager_binary():
            demo.wait_for(
                r'notified: \d+ \(last: firing Litellm\w+\{provider="mistral"\} to litellm-(page|ticket)\)', 60
            )
    finally:
        if demo.proc.poll() is None:
            demo.proc.send_signal(signal.SIGHUP)  # the terminal closed (Ctrl-C: test_readme.py)
    assert demo.finish() == 0
    assert "stopping..." in demo.text
    if stack.alertmanager_binary():
        # the listing at the end: every notification about mistral (a ticket for the error rate, then the
        # page for the burn, which inhibits it), none about the healthy provider
        listed = demo.text.split("Alertmanager delivered", 1)[1]
        assert 'firing LitellmHighErrorRate{provider="mistral"} to litellm-ticket' in listed
        assert "openai" not in listed
    _ended_cleanly(demo, workdir)


def test_without_prometheus_or_with_a_host_proxy_it_goes_on(tmp_path):
    bindir = Path(sys.executable).parent
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "prometheus").exists())
    # and a host proxy that answers nothing: the demo keeps its loopback calls away from it
    unreachable = "http://127.0.0.1:9"
    env = {
        "PATH": f"{bindir}{os.pathsep}{path}",
        "NO_PROXY": "",
        "no_proxy": "",
        "HTTP_PROXY": unreachable,
        "http_proxy": unreachable,
        "HTTPS_PROXY": unreachable,
        "https_proxy": unreachable,
    }
    demo = Demo(tmp_path, "--duration", "12", "--workers", "2", env=env)
    workdir = demo.workdir()
    assert demo.finish(START_SECONDS) == 0, demo.text
    assert "Prometheus is not on the PATH" in demo.text and "apt-get install prometheus" in demo.text
    assert "prometheus  http" not in demo.text
    lines = [line for line in demo.lines if re.match(r"\[\s*\d+s\] ", line)]
    assert lines and "firing" not in lines[-1]
    assert any(re.search(r"\(200 \d", line) for line in lines), demo.text
    _ended_cleanly(demo, workdir)
