"""A simulated fleet of LiteLLM replicas, each exposing what our exporter would after realistic traffic.

Every catalogue metric, with label values drawn from one realistic spread (MODELS with their providers and
two deployments each, TEAMS, CALLERS, error types with their status codes, ...), the same spread on every
replica (a load balancer sends every kind of request to every replica). Counters grow with time at a
per-series rate (a stable hash of the series, scaled a little per replica), so rates and increases move;
histograms spread their counts over their buckets; gauges hold plausible values. The text is written by
the exporter's own writer (exporter/textformat.py), so it is byte for byte what a real exporter serves
for these series.

    FleetServer(200).start()   # http://127.0.0.1:<port>/r/<replica>/metrics for replicas 0..199
    scrape_configs(server)     # a Prometheus job over them, with pod and namespace labels as Kubernetes adds

bench_fleet.py measures Prometheus against it; tests/generators/test_adapter.py checks the Prometheus
Adapter rules select its series.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client.exposition import choose_encoder

from litellm_observe.catalogue import CATALOGUE, GaugeMode, Kind, Metric
from litellm_observe.exporter import textformat

MODELS = (  # (model group, provider)
    ("gpt-4o", "openai"),
    ("gpt-4o-mini", "openai"),
    ("claude-sonnet", "anthropic"),
    ("claude-haiku", "anthropic"),
    ("gemini-pro", "vertex_ai"),
    ("llama-70b", "bedrock"),
)
DEPLOYMENTS = tuple((p, m, f"{m}@{region}") for m, p in MODELS for region in ("eu", "us"))
TEAMS = ("search", "support", "platform", "research")
CALLERS = tuple(("key_alias", f"svc-{i}") for i in range(6))
ERROR_PAIRS = (("rate_limit", "429"), ("internal_server_error", "500"), ("timeout", "408"), ("bad_request", "400"))
ENTITIES = tuple(("team", t) for t in TEAMS) + tuple(("key", c) for _, c in CALLERS[:3])
FALLBACKS = (("gpt-4o", "claude-sonnet"), ("claude-sonnet", "gpt-4o"), ("gemini-pro", "gpt-4o-mini"))
POOLS = {  # one label's values, where no joint group below decides it
    "team": TEAMS,
    "endpoint": ("chat_completions", "messages"),
    "status_code": ("200", "429", "500"),
    "error_type": tuple(e for e, _ in ERROR_PAIRS[:3]),
    "token_type": ("input", "output"),
    "detail": ("cached_input", "reasoning"),
    "success": ("true", "false"),
    "entity_type": ("team", "key"),
    "guardrail": ("pii-mask", "prompt-injection"),
    "outcome": ("passed", "blocked"),
    "label": ("team",),
    "model": tuple(m for m, _ in MODELS),
}
BY_METRIC = {  # labels whose values depend on the metric
    ("worker_exits", "reason"): ("recycled", "killed"),
    ("deployment_cooldowns", "reason"): ("rate_limit", "timeout"),
    ("guardrail_requests", "hook"): ("pre_call", "post_call"),
    ("guardrail_latency_seconds", "hook"): ("pre_call", "post_call"),
    ("observe_internal_errors", "hook"): ("success",),
}
JOINT = (  # groups of labels whose values go together, most specific first
    (("provider", "model", "deployment"), DEPLOYMENTS),
    (("model", "provider"), MODELS),
    (("error_type", "status_code"), ERROR_PAIRS),
    (("entity_type", "entity"), ENTITIES),
    (("dimension", "caller"), CALLERS),
    (("from_model", "to_model"), FALLBACKS),
    (("version", "litellm_version"), (("0.1.0", "1.108.7"),)),
)


def label_rows(m: Metric) -> list[tuple[str, ...]]:
    """The label tuples (in the metric's label order) a replica has for `m`."""
    left = set(m.labels)
    groups: list[list[dict[str, str]]] = []
    for names, values in JOINT:
        if set(names) <= left:
            groups.append([dict(zip(names, v)) for v in values])
            left -= set(names)
    for name in sorted(left):
        values = BY_METRIC.get((m.name, name)) or POOLS[name]
        groups.append([{name: v} for v in values])
    rows = []
    for combo in itertools.product(*groups):
        named: dict[str, str] = {}
        for part in combo:
            named.update(part)
        rows.append(tuple(named[label] for label in m.labels))
    return rows


def _weight(*parts: object) -> float:
    """A stable number in [0, 1) for a series."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class Replica:
    """One replica's series: fixed label rows and per-series rates; values at any moment."""

    def __init__(self, index: int, started: float):
        self.index, self.started = index, started
        self.scale = 1.0 + (index % 5) / 10
        self.rows = {m.name: label_rows(m) for m in CATALOGUE}
        self.rates = {
            (m.name, labels): 0.01 + 0.5 * _weight(m.name, labels) for m in CATALOGUE for labels in self.rows[m.name]
        }

    def series(self, now: float) -> dict[tuple[str, tuple[str, ...]], list[float]]:
        """Every series as the aggregator hands them to the writer (exporter/aggregate.py: Series)."""
        t = max(now - self.started, 1.0) + 60.0  # as if the replica had served a minute before the first scrape
        out: dict[tuple[str, tuple[str, ...]], list[float]] = {}
        for m in CATALOGUE:
            for labels in self.rows[m.name]:
                key = (m.name, labels)
                rate = self.rates[key] * self.scale
                if m.kind is Kind.COUNTER:
                    out[key] = [round(rate * t, 6)]
                elif m.kind is Kind.HISTOGRAM:
                    count = round(rate * t)
                    slots = len(m.buckets) + 1
                    peak = int(_weight(key) * (slots - 1))  # the bucket most observations fall in
                    shares = [1.0 / (1 + abs(i - peak)) ** 2 for i in range(slots)]
                    total = sum(shares)
                    buckets = [float(int(count * s / total)) for s in shares]
                    middle = m.buckets[min(peak, len(m.buckets) - 1)]
                    out[key] = buckets + [sum(buckets) * middle]
                elif m.gauge_mode is GaugeMode.EXPORTER:
                    continue  # the writer adds the build info itself
                elif m.countdown:
                    out[key] = [now + 3600 * (1 + _weight(key))]  # a moment: served as the seconds until it
                else:
                    out[key] = [round(100 * _weight(key) + self.index % 3, 3)]
        return out


def writer(namespace: str = "litellm"):
    """The exporter's own text writer (text format 0.0.4, as Prometheus asks for by default)."""
    encoder, _ = choose_encoder("")
    return textformat.writer(encoder, namespace)


class FleetServer:
    """`replicas` exporters behind one loopback port: /r/<replica>/metrics."""

    def __init__(self, replicas: int, namespace: str = "litellm"):
        started = time.time()
        self.replicas = [Replica(i, started) for i in range(replicas)]
        self._writers = [writer(namespace) for _ in range(replicas)]
        self._locks = [threading.Lock() for _ in range(replicas)]
        self.render_seconds = 0.0  # CPU spent writing expositions (thread time, summed)
        self.scrapes = 0
        fleet = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                parts = self.path.split("/")
                if len(parts) != 4 or parts[1] != "r" or parts[3] != "metrics" or not parts[2].isdigit():
                    self.send_error(404)
                    return
                index = int(parts[2])
                if index >= len(fleet.replicas):
                    self.send_error(404)
                    return
                body = fleet.exposition(index)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    def exposition(self, index: int, now: float | None = None) -> bytes:
        now = time.time() if now is None else now
        with self._locks[index]:
            start = time.thread_time()
            body = self._writers[index](self.replicas[index].series(now), now)
            self.render_seconds += time.thread_time() - start
            self.scrapes += 1
        return body

    def start(self) -> FleetServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def pod(index: int) -> str:
    return f"litellm-{index}"


def scrape_config(server: FleetServer, job: str = "litellm", interval: str = "15s") -> dict:
    """A Prometheus scrape job over every replica, each with the target labels Kubernetes service discovery
    and a PodMonitor would give it (instance, pod, namespace)."""
    groups = [
        {
            "targets": [f"127.0.0.1:{server.port}"],
            "labels": {
                "__metrics_path__": f"/r/{i}/metrics",
                "instance": f"{pod(i)}:9464",
                "pod": pod(i),
                "namespace": "litellm",
            },
        }
        for i in range(len(server.replicas))
    ]
    return {"job_name": job, "scrape_interval": interval, "scrape_timeout": interval, "static_configs": groups}
