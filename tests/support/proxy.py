"""Start a real `litellm` proxy with this package's callback, on 127.0.0.1 only.

Every wait is bounded; `stop()` always ends the whole process group.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from litellm_observe.demo.stack import free_port, tail, wait_http  # the demo's, shared
from litellm_observe.rundir.runs import stat_fields

PRICE = {"input_cost_per_token": 0.000001, "output_cost_per_token": 0.000002}
START_TIMEOUT = 180.0
# SIGABRT makes each process print where its threads are (on stderr, unbuffered): a start that never ends
# then shows where it stopped. Not PYTHONUNBUFFERED: the master's stdout would then reach the log too, and
# tests that count workers' start-up lines there (test_workers) would count the master.
DIAGNOSABLE = {"PYTHONFAULTHANDLER": "1"}
# uvicorn kills a worker that has not answered its supervisor's ping within 5 s (its default) and starts
# another; a spawned worker answers only once it has imported LiteLLM. On 2 busy cores that takes longer,
# and 4 workers can be killed and restarted forever: with one other busy process, 44 restarts and no
# ready proxy in 240 s here. LiteLLM's --timeout_worker_healthcheck (this variable) lifts the 5 s. Not for
# proxies that recycle workers: a recycled LiteLLM worker never finishes exiting by itself (it spins in the
# interpreter's last garbage collection) and is killed only at that timeout, while uvicorn replaces no other
# worker; those keep uvicorn's 5 s, as users who recycle should (README).
PATIENT_START = {"TIMEOUT_WORKER_HEALTHCHECK": "120"}


def litellm_cli() -> str:
    """The `litellm` command beside this interpreter (a compat venv's), else the one on the PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "litellm")
    return beside if os.path.exists(beside) else "litellm"


@functools.cache
def supports_flag(flag: str) -> bool:
    """Whether the installed LiteLLM's CLI has `flag` (e.g. --run_granian, from 1.108)."""
    out = subprocess.run(
        [litellm_cli(), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    )
    return flag in out.stdout.split()


def model_list(api_base: str) -> list[dict]:
    def entry(name: str, upstream: str, priced: bool = True) -> dict:
        params = {"model": f"openai/{upstream}", "api_base": api_base, "api_key": "fake"}
        return {"model_name": name, "litellm_params": {**params, **(PRICE if priced else {})}}

    return [
        entry("ok", "fake-ok"),
        entry("slow", "fake-slow"),
        entry("slowstream", "fake-slowstream"),
        entry("bad429", "fake-429"),
        entry("bad500", "fake-500"),
        entry("flaky", "fake-flaky"),
        entry("primary", "fake-500"),
    ]


def default_config(api_base: str, metrics_port: int) -> dict:
    return {
        "model_list": model_list(api_base),
        "router_settings": {
            "num_retries": 0,
            "fallbacks": [{"primary": ["ok"]}],
            "model_group_retry_policy": {"flaky": {"InternalServerErrorRetries": 2}},
        },
        "litellm_settings": {
            "callbacks": ["litellm_observe.proxy_handler"],
            "cache": True,
            "cache_params": {"type": "local"},
        },
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
        "litellm_observe": {"port": metrics_port, "bind_address": "127.0.0.1"},
    }


def innermost(dump: str, frames: int = 8) -> str:
    """faulthandler's dump with each thread cut to its `frames` innermost frames."""
    out, kept = [], frames
    for line in dump.splitlines():
        if line.startswith(("Fatal Python error", "Thread 0x", "Current thread 0x")):
            out.append(line)
            kept = 0
        elif line.startswith("  File ") and kept < frames:
            out.append(line)
            kept += 1
    return "\n".join(out)


def group_members(pgid: int) -> list[int]:
    """The live processes of process group `pgid`."""
    return [int(e) for e in os.listdir("/proc") if e.isdigit() and (f := stat_fields(int(e))) and int(f[2]) == pgid]


def zombie(pid: int) -> bool | None:
    """None: no such process."""
    fields = stat_fields(pid)
    return fields[0] == "Z" if fields else None


class Proxy:
    def __init__(
        self,
        workdir: Path,
        upstream_url: str,
        workers: int = 4,
        config: dict | None = None,
        args: tuple[str, ...] = (),
        env: dict | None = None,
        tmpdir: Path | None = None,
        expect_exporter: bool = True,
        files: dict[str, str] | None = None,
        host=None,
        user=None,
        wrap: tuple[str, ...] = (),
        command: tuple[str, ...] | None = None,
    ):
        self.host, self.user = host, user  # tests/support/users.py: run the proxy as another local user
        self.wrap = wrap  # a command the proxy runs under, e.g. `unshare --pid --fork --mount-proc` (a container)
        self.command = command  # how LiteLLM's CLI is started (default: the `litellm` beside this interpreter)
        self.expect_exporter = expect_exporter
        for name, text in (files or {}).items():  # modules the config names, beside config.yaml
            (Path(workdir) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(workdir) / name).write_text(text)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.metrics_port = free_port()
        self.config = config or default_config(upstream_url, self.metrics_port)
        obs = self.config.setdefault("litellm_observe", {})
        obs.setdefault("port", self.metrics_port)
        obs.setdefault("bind_address", "127.0.0.1")
        self.metrics_port = obs["port"]
        self.master_key = "sk-" + secrets.token_hex(32)
        self.workers = workers
        self.args = args
        self.tmpdir = tmpdir or (self.workdir / "tmp")  # the run directory lands under here
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.log_path = self.workdir / "proxy.log"
        self.client = httpx.Client(timeout=60.0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_target(self) -> str:
        return f"127.0.0.1:{self.metrics_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.metrics_target}/metrics"

    def start(self) -> Proxy:
        cfg = self.workdir / "config.yaml"
        cfg.write_text(yaml.safe_dump(self.config, sort_keys=True))
        env = {
            **os.environ,
            "LITELLM_MASTER_KEY": self.master_key,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "TMPDIR": str(self.tmpdir),
            "LITELLM_LOG": "ERROR",
            **DIAGNOSABLE,
            **self._patient(),
            **self.env,
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None) if "PROMETHEUS_MULTIPROC_DIR" not in self.env else None
        env.pop("XDG_RUNTIME_DIR", None)  # the run directory lands under TMPDIR, where the tests look
        args = [
            "--config",
            str(cfg),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--num_workers",
            str(self.workers),
            *self.args,
        ]
        self._log = open(self.log_path, "ab")
        if self.user is not None:
            for path in (self.workdir, cfg, self.tmpdir):
                os.chown(path, self.user.uid, self.user.gid)
            env = self.host.env_for(
                self.user,
                LITELLM_MASTER_KEY=self.master_key,
                LITELLM_LOCAL_MODEL_COST_MAP="True",
                LITELLM_LOG="ERROR",
                TMPDIR=str(self.tmpdir),
                **DIAGNOSABLE,
                **self._patient(),
                **self.env,
            )
            self.proc = subprocess.Popen(
                [self.host.python, "-c", "from litellm.proxy.proxy_cli import run_server; run_server()", *args],
                cwd=self.workdir,
                env=env,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                user=self.user.uid,
                group=self.user.gid,
                extra_groups=[],
            )
        else:
            self.proc = subprocess.Popen(
                [*self.wrap, *(self.command or (litellm_cli(),)), *args],
                cwd=self.workdir,
                env=env,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._wait(f"{self.url}/health/liveliness", "proxy")
        if self.expect_exporter:
            self._wait(self.metrics_url, "exporter")
        return self

    start_timeout = START_TIMEOUT

    def _patient(self) -> dict:
        return {} if "--max_requests_before_restart" in self.args else PATIENT_START

    def _wait(self, url: str, what: str) -> None:
        try:
            wait_http(url, self.proc, what, self.log_path, self.start_timeout)
        except TimeoutError as e:
            raise TimeoutError(f"{e}\n{self._stacks()}") from None

    def _stacks(self) -> str:
        """SIGABRT to each process of the group in turn, the master last (faulthandler prints every
        thread's stack into the log), then the innermost frames of each thread."""
        mark = self.log_path.stat().st_size if self.log_path.exists() else 0
        group = sorted(group_members(self.proc.pid), key=lambda pid: pid == self.proc.pid)
        for pid in group:
            try:
                os.kill(pid, signal.SIGABRT)
            except ProcessLookupError:
                continue
            deadline = time.monotonic() + 5
            while zombie(pid) is False and time.monotonic() < deadline:
                time.sleep(0.1)
        with open(self.log_path, "rb") as f:
            f.seek(mark)
            dump = innermost(f.read().decode(errors="replace"))
        return f"where each of the {len(group)} processes was, innermost frames first:\n{dump}"

    def log_tail(self, n: int = 60) -> str:
        return tail(self.log_path, n)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        self.client.close()
        if hasattr(self, "_log"):
            self._log.close()

    def __enter__(self) -> Proxy:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- requests ----------------------------------------------------------------------------
    # A fresh connection per request: a recycled worker closes its idle keep-alive
    # connections, and a request raced onto one would break on the client side.
    def headers(self, key: str | None = None) -> dict:
        return {"Authorization": f"Bearer {key or self.master_key}", "Connection": "close"}

    def chat(
        self,
        model: str,
        content: str = "hi",
        stream: bool = False,
        key: str | None = None,
        body: bytes | None = None,
        extra: dict | None = None,
    ) -> int:
        """One chat completion; returns the HTTP status the client saw (streams read to the end)."""
        payload = (
            body
            if body is not None
            else json.dumps(
                {"model": model, "messages": [{"role": "user", "content": content}], "stream": stream, **(extra or {})}
            )
        )
        url = f"{self.url}/v1/chat/completions"
        headers = {**self.headers(key), "content-type": "application/json"}
        if stream:
            with self.client.stream("POST", url, content=payload, headers=headers) as r:
                for _ in r.iter_bytes():
                    pass
                return r.status_code
        return self.client.post(url, content=payload, headers=headers).status_code

    def disconnect_stream(self, model: str = "slowstream", content: str = "bye") -> int:
        """Start a stream, read its first bytes, hang up."""
        payload = json.dumps({"model": model, "messages": [{"role": "user", "content": content}], "stream": True})
        with httpx.Client(timeout=30.0) as c:
            with c.stream(
                "POST",
                f"{self.url}/v1/chat/completions",
                content=payload,
                headers={**self.headers(), "content-type": "application/json"},
            ) as r:
                for _ in r.iter_bytes():
                    break
                return r.status_code

    def rss_kib(self, pid: int) -> int:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

    @property
    def base_dir(self) -> Path:
        """Where this proxy's runs go by default: its TMPDIR's per-user directory, or the one in the
        PROMETHEUS_MULTIPROC_DIR that LiteLLM creates under TMPDIR beside its own prometheus callback."""
        from litellm_observe.rundir import layout

        name = layout.base_name(self.user.uid if self.user is not None else None)
        inside = self.tmpdir / "litellm_prometheus_multiproc" / name
        return inside if inside.is_dir() else self.tmpdir / name

    def exporter_pid(self) -> int:
        from litellm_observe.rundir import layout

        run = next(self.base_dir.glob(layout.RUN_PREFIX + "*"))
        return int((run / "exporter.pid").read_text())

    def scrape(self, headers: dict | None = None) -> str:
        r = self.client.get(self.metrics_url, headers=headers or {}, timeout=10.0)
        r.raise_for_status()
        return r.text

    def worker_pids(self) -> list[int]:
        """Children of the proxy's root process that serve requests (not the resource tracker)."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            fields = stat_fields(int(entry))
            if not fields or int(fields[1]) != self.proc.pid:
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read()
            except OSError:
                continue
            # LiteLLM makes its root a child subreaper, so an orphaned exporter shows up here too
            if b"resource_tracker" not in cmdline and b"litellm_observe" not in cmdline:
                pids.append(int(entry))
        return sorted(pids)
