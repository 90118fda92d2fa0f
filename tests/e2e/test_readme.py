"""The README's quick start, run as a newcomer runs it: every block marked `<!-- readme-test: NAME -->`,
as written, in order, in a copy of this checkout with a fresh virtualenv.

The provider is the README's own: `litellm_observe fake-provider`, started as written, and the
`OPENAI_BASE_URL` line that points the README's config at it, run before the proxy's start, so no key or
network is needed. The README's fixed ports (4000 for the proxy, 4010 for the fake provider, 9464 for the
exporter) must be free; `pip install` sees the suite's pinned LiteLLM (PIP_CONSTRAINT), so the quick start
runs on the release the suite tests.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from litellm_observe import compat
from litellm_observe.demo import stack
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
MARKED = re.compile(r"<!-- readme-test: (\S+) -->\n```(\w+)\n(.*?)```\n", re.S)
INSTALL_SECONDS = 600
START_SECONDS = 240


def blocks() -> dict[str, str]:
    found = {name: body for name, _, body in MARKED.findall((REPO / "README.md").read_text())}
    assert list(found) == [
        "install",
        "demo",
        "config.yaml",
        "fake-provider",
        "fake-provider-env",
        "start",
        "request",
        "request-output",
        "prometheus.yml",
        "generate",
    ], list(found)
    return found


def _copy_checkout(dest: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.split("\n")
    for rel in filter(None, files):
        if (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    return dest


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no obstacle
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Terminal:
    """A bash that sourced the virtualenv, as after the install block; its own session, so that a
    Ctrl-C (SIGINT to the group) reaches what it runs, as in a terminal."""

    def __init__(self, cwd: Path, env: dict):
        self.cwd, self.env = cwd, env

    def script(self, body: str) -> str:
        return f"set -e\n. .venv/bin/activate\n{body}"

    def run(self, body: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-c", self.script(body)],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def start(self, body: str, log: Path) -> subprocess.Popen:
        with open(log, "wb") as out:
            return subprocess.Popen(
                ["bash", "-c", self.script(body)],
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )


def _interrupt(proc: subprocess.Popen, timeout: float = 90) -> int:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
    try:
        return proc.wait(timeout)
    finally:
        try:  # whatever the shell left behind in its session
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)


def _wait(predicate, timeout: float, what: str, log: Path):
    return wait_until(
        predicate, timeout, interval=1.0, what=what, detail=lambda: log.read_text(errors="replace")[-4000:]
    )


def _descendant_env(pid: int, name: str) -> str | None:
    """`name` from the environment of the first process under `pid` that has it (the proxy, under bash)."""
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            env = Path(f"/proc/{p}/environ").read_bytes().split(b"\0")
            kids = [int(c) for t in Path(f"/proc/{p}/task").iterdir() for c in (t / "children").read_text().split()]
        except OSError:
            continue
        for item in env:
            if item.startswith(name.encode() + b"=") and p != pid:
                return item.split(b"=", 1)[1].decode()
        todo += kids
    return None


def test_the_quick_start_works_as_written(tmp_path):
    for port in (4000, 4010, 9464):
        assert _port_free(port), f"the README's port {port} is busy on this machine"
    readme = blocks()
    checkout = _copy_checkout(tmp_path / "checkout")
    (tmp_path / "tmp").mkdir()
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(f"litellm=={compat.SUITE_RELEASE}\n")
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"), "PIP_CONSTRAINT": str(constraints)}
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "LITELLM_MASTER_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        env.pop(name, None)
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if "venv" not in p)

    # 1. install, in a fresh virtualenv
    install = subprocess.run(
        ["bash", "-c", "set -e\n" + readme["install"]],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_SECONDS,
        stdin=subprocess.DEVNULL,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    term = Terminal(checkout, env)
    where = term.run("command -v litellm_observe litellm").stdout.split()
    assert where == [str(checkout / ".venv/bin/litellm_observe"), str(checkout / ".venv/bin/litellm")]

    # 2. the demo shows data, and Ctrl-C ends it
    log = tmp_path / "demo.log"
    demo = term.start(readme["demo"], log)
    try:
        _wait(
            lambda: re.search(r"\] \d+\.\d req/s \(200 \d", log.read_text(errors="replace")),
            START_SECONDS,
            "demo summary line with answered requests",
            log,
        )
    finally:
        assert _interrupt(demo) == 0, log.read_text(errors="replace")[-4000:]
    text = log.read_text(errors="replace")
    assert "demo stopped; every process it started has ended" in text
    elapsed = [int(s) for s in re.findall(r"^\[\s*(\d+)s\] ", text, re.M)]
    assert elapsed == sorted(set(elapsed)) and all(b - a >= 4 for a, b in zip(elapsed, elapsed[1:])), elapsed
    workdir = re.search(r"working directory (\S+)", text).group(1)
    assert not Path(workdir).exists() and stack.tagged(workdir) == []

    # 3. the complete minimal config, the fake provider and the proxy started as written, a request and its line
    (checkout / "config.yaml").write_text(readme["config.yaml"])
    provider_log = tmp_path / "fake-provider.log"
    provider = term.start(readme["fake-provider"], provider_log)
    log = tmp_path / "proxy.log"
    proxy = None
    try:
        _wait(
            lambda: "http://127.0.0.1:4010/v1" in provider_log.read_text(errors="replace"),
            60,
            "fake provider",
            provider_log,
        )
        proxy = term.start(readme["fake-provider-env"] + readme["start"], log)
        client = httpx.Client(timeout=5)

        def up(url):
            try:
                return client.get(url).status_code == 200
            except httpx.HTTPError:
                return False

        _wait(
            lambda: up("http://127.0.0.1:4000/health/liveliness") and up("http://127.0.0.1:9464/metrics"),
            START_SECONDS,
            "proxy and exporter",
            log,
        )
        key = _descendant_env(proxy.pid, "LITELLM_MASTER_KEY")
        assert key and key.startswith("sk-") and len(key) == 67
        second = Terminal(checkout, {**env, "LITELLM_MASTER_KEY": key})
        request, grep = readme["request"].rstrip("\n").rsplit("\n", 1)
        before = second.run(grep, timeout=30)
        assert before.stdout == ""  # "before it, the grep prints nothing"
        after = second.run(readme["request"], timeout=120)
        assert after.returncode == 0, after.stderr
        answer, line = after.stdout.rstrip("\n").split("\n")
        assert json.loads(answer)["choices"][0]["message"]["content"] == "hello world"  # the fake provider's
        assert line == readme["request-output"].strip()
    finally:
        if proxy is not None:
            assert _interrupt(proxy) is not None
        assert _interrupt(provider) == 0, provider_log.read_text(errors="replace")[-2000:]

    # 5. generate and check with the same config; 4. Prometheus loads the generated rules as shown
    generated = term.run(readme["generate"], timeout=600)
    assert generated.returncode == 0, generated.stdout[-3000:] + generated.stderr[-3000:]
    out = checkout / "monitoring"
    for rel in (
        "dashboards/litellm-overview.json",
        "dashboards/provisioning.yaml",
        "alerts/litellm-rules.yaml",
        "alerts/litellm-alerts.yaml",
        "docs/runbooks.md",
        "mixin/mixin.libsonnet",
    ):
        assert (out / rel).is_file(), rel
    assert list((out / "alerts" / "tests").glob("*.yaml"))
    (out / "prometheus.yml").write_text(readme["prometheus.yml"])
    promtool = shutil.which("promtool")
    if promtool:
        checked = subprocess.run(
            [promtool, "check", "config", str(out / "prometheus.yml")], capture_output=True, text=True, timeout=120
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "SUCCESS: 2 rule files found" in checked.stdout + checked.stderr
