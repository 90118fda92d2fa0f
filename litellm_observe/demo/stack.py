"""The demo's processes: a LiteLLM proxy with this callback, and Prometheus and Alertmanager when they
are installed.

Invariants: every server listens on 127.0.0.1; every process the demo starts runs in its own session
and carries DEMO_ENV in its environment, so `sweep()` finds and ends it (and anything it spawned, such
as the exporter) even when it outlived its parent; every wait is bounded in time.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

DEMO_ENV = "OBSERVE_DEMO_RUN"  # not LITELLM_OBSERVE_*: that prefix is the settings' own
START_SECONDS = 180.0
# uvicorn kills a worker that does not answer its supervisor within 5 s, and a worker answers only once it
# has imported LiteLLM: on a small busy machine the workers can be restarted forever. (README, step 3.)
WORKER_HEALTHCHECK_SECONDS = 60
STOP_SECONDS = 20.0
SCRAPE_INTERVAL = "5s"
# The demo's rules differ from the defaults only here, so an outage fires within a minute or two.
# callers the demo traffic carries (traffic.py): the Spend dashboard's caller section shows them
DEMO_ATTRIBUTION = ("end_user", "tags", "metadata.project")
# and Alertmanager's waits, so a notification follows a firing alert within seconds (its webhook: inbox.py)
DEMO_ALERTS = {"high_error_rate": {"for": "30s"}}
DEMO_ALERTMANAGER = {"group_wait": "5s", "group_interval": "30s"}


@dataclass(frozen=True)
class Model:
    name: str  # what clients ask for
    provider: str  # LiteLLM's provider prefix: the `provider` label
    upstream: str  # the fake upstream's behaviour (upstream.py: demo-*)
    input_price: float  # USD per token
    output_price: float
    weight: int  # share of the demo traffic


MODELS = (
    Model("gpt-4o-mini", "openai", "demo-gpt-4o-mini", 0.15e-6, 0.6e-6, 5),
    Model("o3-mini", "openai", "demo-o3-mini-reasoner", 1.1e-6, 4.4e-6, 2),
    Model("mistral-small", "mistral", "demo-mistral-small", 0.1e-6, 0.3e-6, 3),
)
OUTAGE = MODELS[2]  # --scenario outage: every call to this one fails


LOOPBACK = "127.0.0.1,localhost,::1"


def direct_loopback(environ) -> None:
    """Add the loopback addresses to NO_PROXY/no_proxy in `environ`, so that a host's HTTP(S)_PROXY
    never carries a call between the demo's parts (its own, the proxy's to the fake provider)."""
    for name in ("NO_PROXY", "no_proxy"):
        environ[name] = ",".join(filter(None, (environ.get(name), LOOPBACK)))


def free_port(preferred: int = 0) -> int:
    """`preferred` when it is free on 127.0.0.1, else any free port. Probed with SO_REUSEADDR, as the servers
    that then bind it do (uvicorn, Prometheus): a port whose last connections linger in TIME_WAIT after an
    earlier demo is free for them, so the demo keeps its usual ports when started again right away."""
    for port in (preferred, 0) if preferred else (0,):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise OSError("no free port on 127.0.0.1")


def proxy_config(api_base: str, metrics_port: int, webhook_url: str = "") -> dict:
    """A complete config.yaml: the models, a master key from the environment, this callback; the generated
    Alertmanager configuration delivers to `webhook_url`."""
    return {
        "model_list": [
            {
                "model_name": m.name,
                "litellm_params": {
                    "model": f"{m.provider}/{m.upstream}",
                    "api_base": api_base,
                    "api_key": "demo",
                    "input_cost_per_token": m.input_price,
                    "output_cost_per_token": m.output_price,
                },
            }
            for m in MODELS
        ],
        "router_settings": {"num_retries": 0},
        "litellm_settings": {"callbacks": ["litellm_observe.proxy_handler"]},
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
        "litellm_observe": {
            "port": metrics_port,
            "bind_address": "127.0.0.1",
            "attribution": list(DEMO_ATTRIBUTION),
            "alerts": {**DEMO_ALERTS, "alertmanager": {**DEMO_ALERTMANAGER, "webhook_url": webhook_url}},
        },
    }


def wait_http(url: str, proc: subprocess.Popen, what: str, log: Path, timeout: float = START_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}; the end of {log}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{what} not ready at {url} after {timeout:.0f} s; the end of {log}:\n{tail(log)}")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Processes:
    """The processes one demo run started, all ended by `stop()`."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.tag = str(workdir)
        self.procs: list[subprocess.Popen] = []

    def env(self, **extra: str) -> dict:
        env = {**os.environ, DEMO_ENV: self.tag, **extra}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return env

    def spawn(self, args: list[str], log: Path, **extra_env: str) -> subprocess.Popen:
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                args,
                cwd=self.workdir,
                env=self.env(**extra_env),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def start_proxy(self, config: Path, port: int, workers: int, master_key: str) -> subprocess.Popen:
        litellm = os.path.join(os.path.dirname(sys.executable), "litellm")
        tmp = self.workdir / "tmp"  # the metrics run directory lands here, and goes with the demo
        tmp.mkdir(mode=0o700, exist_ok=True)
        return self.spawn(
            [
                litellm if os.path.exists(litellm) else "litellm",
                "--config",
                str(config),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--num_workers",
                str(workers),
                "--timeout_worker_healthcheck",
                str(WORKER_HEALTHCHECK_SECONDS),
            ],
            self.workdir / "proxy.log",
            LITELLM_MASTER_KEY=master_key,
            LITELLM_LOCAL_MODEL_COST_MAP="True",
            LITELLM_LOG="ERROR",
            TMPDIR=str(tmp),
        )

    def start_prometheus(
        self, binary: str, port: int, metrics_port: int, rule_files: list[str], alertmanager_port: int | None
    ) -> subprocess.Popen:
        config = self.workdir / "prometheus.yml"
        alerting = (
            {"alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}]}}
            if alertmanager_port
            else {}
        )
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
                    **alerting,
                    "rule_files": rule_files,
                    "scrape_configs": [
                        {"job_name": "litellm", "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}
                    ],
                },
                sort_keys=False,
            )
        )
        return self.spawn(
            [
                binary,
                f"--config.file={config}",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--storage.tsdb.path={self.workdir / 'prometheus-data'}",
                "--log.level=warn",
            ],
            self.workdir / "prometheus.log",
        )

    def start_alertmanager(self, binary: str, port: int, config: Path) -> subprocess.Popen:
        """One Alertmanager, clustering off (no gossip port), its data in the working directory."""
        return self.spawn(
            [
                binary,
                f"--config.file={config}",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--storage.path={self.workdir / 'alertmanager-data'}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            self.workdir / "alertmanager.log",
        )

    def stop(self) -> None:
        """SIGTERM each process group, wait, SIGKILL what is left; then `sweep()` the strays."""
        for proc in self.procs:
            _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait(5)
        sweep(self.tag)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def tagged(tag: str) -> list[int]:
    """Processes of this user whose environment carries DEMO_ENV=tag."""
    needle = f"{DEMO_ENV}={tag}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return found


def sweep(tag: str, timeout: float = STOP_SECONDS) -> None:
    """End every process still tagged with this run: SIGTERM, then SIGKILL after `timeout`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = tagged(tag)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + timeout
        while pids and time.monotonic() < deadline:
            time.sleep(0.2)
            pids = tagged(tag)
        if not pids:
            return


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def alertmanager_binary() -> str | None:
    """Debian names it prometheus-alertmanager; a release from prometheus.io, alertmanager."""
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
