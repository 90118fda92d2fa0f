"""`litellm_observe demo`: start the stack, print where to look, refresh a summary line, stop.

Order: a private working directory (mkdtemp, 0700) holds the config, the generated rules and
Alertmanager configuration, the master key (0600, never printed), the logs, Prometheus's and
Alertmanager's data and the metrics run directory; the fake upstream and the webhook inbox run in
this process; the proxy, Prometheus and Alertmanager are child processes. Whatever ends
the run (its --duration, Ctrl-C, SIGTERM, SIGHUP when its terminal closes, an error), `finally`
stops the clients, every process
the demo started (and what they spawned), the upstream, and removes the working directory.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from ..generators import alertmanager, generate
from ..generators import options as gen_options
from . import inbox, stack, summary
from .traffic import Traffic
from .upstream import FakeUpstream

REFRESH_SECONDS = 5.0
OUTAGE_AFTER_SECONDS = 20.0
SCENARIOS = ("steady", "outage")
DEFAULT_PORTS = {"proxy": 4000, "exporter": 9464, "prometheus": 9090, "alertmanager": 9093}


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)  # besides Ctrl-C: `kill`, and the terminal closing


def say(text: str = "") -> None:
    try:
        print(text, flush=True)
    except OSError:
        pass  # the terminal is gone (SIGHUP): the clean-up must still run to its end


def run(duration: float | None, scenario: str, workers: int, clients: int) -> int:
    stack.direct_loopback(os.environ)  # for this process and, through it, every process it starts
    workdir = Path(tempfile.mkdtemp(prefix="litellm-observe-demo-"))
    procs = stack.Processes(workdir)
    upstream = FakeUpstream()
    notifications = inbox.Inbox()
    traffic: Traffic | None = None
    previous = {sig: signal.signal(sig, _interrupt) for sig in STOP_SIGNALS}
    try:
        upstream.__enter__()
        notifications.__enter__()
        ports = {name: stack.free_port(port) for name, port in DEFAULT_PORTS.items()}
        config = workdir / "config.yaml"
        proxy_config = stack.proxy_config(upstream.base_url, ports["exporter"], notifications.url)
        config.write_text(yaml.safe_dump(proxy_config, sort_keys=False))
        key_file = workdir / "master_key"
        master_key = "sk-" + secrets.token_hex(32)
        key_file.touch(mode=0o600)
        key_file.write_text(master_key)
        generated = workdir / "generated"
        generate.write(str(generated), gen_options.load(str(config)))

        say(f"litellm-observe demo: working directory {workdir} (removed when the demo ends)")
        say(f"starting LiteLLM with {workers} workers and this callback (about 20-40 s)...")
        proxy = procs.start_proxy(config, ports["proxy"], workers, master_key)
        proxy_url = f"http://127.0.0.1:{ports['proxy']}"
        metrics_url = f"http://127.0.0.1:{ports['exporter']}/metrics"
        stack.wait_http(f"{proxy_url}/health/liveliness", proxy, "the proxy", workdir / "proxy.log")
        stack.wait_http(metrics_url, proxy, "the exporter", workdir / "proxy.log")
        alertmanager_url = _start_alertmanager(procs, ports, generated)
        prometheus_url = _start_prometheus(procs, ports, generated, alertmanager_url is not None)

        say("")
        say(f"  proxy       {proxy_url}   (master key in {key_file})")
        say(f"  exporter    {metrics_url}")
        if prometheus_url:
            say(f"  prometheus  {prometheus_url}/graph   alerts: {prometheus_url}/alerts")
        if alertmanager_url and prometheus_url:
            say(f"  alertmanager {alertmanager_url}   notifications go to the demo: 'notified' on the summary line")
        say(f"  config      {config}   rules and dashboards: {generated}")
        say(
            "  try:  curl -s "
            + proxy_url
            + '/v1/chat/completions -H "Authorization: Bearer $(cat '
            + str(key_file)
            + ')" -H \'content-type: application/json\' -d \'{"model": "gpt-4o-mini", "messages": '
            '[{"role": "user", "content": "hi"}]}\''
        )
        say(f"        curl -s {metrics_url} | grep '^litellm_requests_total'")
        say("")
        if scenario == "outage":
            say(
                f"scenario outage: after {OUTAGE_AFTER_SECONDS:.0f} s every call to provider {stack.OUTAGE.provider} "
                f"(model {stack.OUTAGE.name}) fails with 500. The demo's rules use `for: 30s` for "
                "LitellmHighErrorRate instead of 5m, so it fires about a minute later."
            )
        say("Ctrl-C stops the demo." if duration is None else f"running for {duration:.0f} s (Ctrl-C stops earlier).")

        traffic = Traffic(proxy_url, master_key, clients).start()
        _watch(metrics_url, prometheus_url, notifications if alertmanager_url else None, upstream, duration, scenario)
        return 0
    except KeyboardInterrupt:
        say("\nstopping...")
        return 0
    except (RuntimeError, TimeoutError, OSError) as e:
        print(f"demo failed: {e}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        if traffic is not None:
            traffic.close()
            say("client requests by outcome: " + ", ".join(f"{k} {v}" for k, v in sorted(traffic.sent.items())))
        procs.stop()
        delivered = notifications.received()
        if delivered:
            say(f"Alertmanager delivered {len(delivered)} notifications:")
            for note in delivered:
                say(f"  {inbox.describe(note)}")
        notifications.__exit__(None, None, None)
        upstream.__exit__(None, None, None)
        shutil.rmtree(workdir, ignore_errors=True)
        say(f"demo stopped; every process it started has ended and {workdir} is removed")
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _start_alertmanager(procs: stack.Processes, ports: dict, generated: Path) -> str | None:
    """Alertmanager with the generated configuration, when it and Prometheus are both installed."""
    binary = stack.alertmanager_binary()
    if binary is None or stack.prometheus_binary() is None:
        if binary is None:
            say(
                "Alertmanager is not on the PATH, so the demo delivers no notifications. To add it: "
                "`sudo apt-get install prometheus-alertmanager` on Debian/Ubuntu, or a release from prometheus.io."
            )
        return None
    proc = procs.start_alertmanager(binary, ports["alertmanager"], generated / alertmanager.FILE)
    url = f"http://127.0.0.1:{ports['alertmanager']}"
    stack.wait_http(f"{url}/-/ready", proc, "Alertmanager", procs.workdir / "alertmanager.log", timeout=60)
    return url


def _start_prometheus(procs: stack.Processes, ports: dict, generated: Path, with_alertmanager: bool) -> str | None:
    binary = stack.prometheus_binary()
    if binary is None:
        say(
            "Prometheus is not on the PATH, so the demo runs without it (no rules, no alerts page). To add it: "
            "`sudo apt-get install prometheus` on Debian/Ubuntu, or a release from prometheus.io."
        )
        return None
    rules = sorted(str(p) for p in (generated / "alerts").glob("*.yaml"))
    alertmanager_port = ports["alertmanager"] if with_alertmanager else None
    proc = procs.start_prometheus(binary, ports["prometheus"], ports["exporter"], rules, alertmanager_port)
    url = f"http://127.0.0.1:{ports['prometheus']}"
    stack.wait_http(f"{url}/-/ready", proc, "Prometheus", procs.workdir / "prometheus.log", timeout=60)
    return url


def _watch(
    metrics_url: str,
    prometheus_url: str | None,
    notifications: inbox.Inbox | None,
    upstream: FakeUpstream,
    duration: float | None,
    scenario: str,
) -> None:
    started = time.monotonic()
    before = summary.Sample.parse(_get(metrics_url), started)
    outage_on = False
    while duration is None or time.monotonic() - started < duration:
        left = REFRESH_SECONDS if duration is None else duration - (time.monotonic() - started)
        time.sleep(min(REFRESH_SECONDS, max(0.1, left)))
        now = time.monotonic()
        if scenario == "outage" and not outage_on and now - started >= OUTAGE_AFTER_SECONDS:
            upstream.outage.add(stack.OUTAGE.upstream)
            outage_on = True
            say(f"outage: provider {stack.OUTAGE.provider} now fails every call")
        try:
            after = summary.Sample.parse(_get(metrics_url), now)
        except OSError as e:
            say(f"[{now - started:4.0f}s] exporter not answering: {e}")
            continue
        alerts = _alerts(prometheus_url)
        firing, pending = (None, None) if alerts is None else (summary.alert_names(alerts, s) for s in STATES)
        notified = None if notifications is None else inbox.summary(notifications.received())
        say(summary.line(before, after, now - started, firing, pending, notified))
        before = after


STATES = ("firing", "pending")


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def _alerts(prometheus_url: str | None) -> list[dict] | None:
    """Prometheus' alerts (/api/v1/alerts); None without Prometheus (or when it does not answer)."""
    if prometheus_url is None:
        return None
    try:
        return list(json.loads(_get(f"{prometheus_url}/api/v1/alerts"))["data"]["alerts"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
