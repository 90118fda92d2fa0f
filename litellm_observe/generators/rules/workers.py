"""Alerts on the proxy's worker processes: memory high or growing towards the limit, workers killed, a
blocked event loop; each with its options group and its promtool cases.

The worker gauges carry no pid: `worker_resident_memory_max_bytes` is already the largest live worker
of a replica, so the alerts take the max per replica (`instance`) and name it.

`ALERTS`, at the end, declares them in output order (context.Declaration).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...catalogue import LOOP_LAG, WORKER_EXITS, WORKER_MEMORY_MAX
from .. import fields
from ..promql import durations
from ..promql.build import aggregate, fmt
from .context import Context, Declaration
from .latency import histogram_cases
from .model import (
    BYTES,
    COUNT,
    RATE,
    SECONDS,
    Expected,
    Inhibition,
    Spec,
    boundary,
    constant,
    counter,
    negative,
    series,
)

GIB = 1024**3
INSTANCE = ("instance",)  # the gauges are already over a replica's live workers: one series per replica
HORIZON_HOURS = 4


@dataclass(frozen=True)
class WorkerMemory:
    """The memory limit both memory alerts measure against: directly under `alerts:`."""

    worker_memory_limit_bytes: float = fields.positive(
        2.0 * GIB, "resident memory one worker may use (default 2 GiB: a 4-worker proxy in an 8 GiB container)"
    )


@dataclass(frozen=True)
class WorkerMemoryHigh:
    for_: str = fields.duration("15m")
    severity: str = fields.severity("warning")


@dataclass(frozen=True)
class WorkerMemoryGrowing:
    for_: str = fields.duration("30m")
    severity: str = fields.severity("warning")


@dataclass(frozen=True)
class WorkersKilled:
    for_: str = fields.duration("0m")
    severity: str = fields.severity("warning")


@dataclass(frozen=True)
class EventLoopLagHigh:
    seconds: float = fields.bucket_edge(
        0.5, LOOP_LAG, "fires when the p99 lag of a replica's worker event loops over 5m is above this"
    )
    for_: str = fields.duration("10m")
    severity: str = fields.severity("warning")


def _gib(v: float) -> str:
    return f"{fmt(v / GIB)} GiB"


def worker_memory_high(c: Context[WorkerMemoryHigh, WorkerMemory]) -> Spec:
    g, q, base, limit = c.group, c.scope, c.base, c.objective.worker_memory_limit_bytes
    memory = q.sample(WORKER_MEMORY_MAX)
    largest = q.gauge("max", WORKER_MEMORY_MAX, INSTANCE)
    expr = f"{largest}\n> {fmt(limit)}\n"
    alert = c.alert(
        expr,
        g.for_,
        g.severity,
        "A proxy worker uses more memory than it should.",
        f"The largest worker of {{instance}} holds {{value}}B of resident memory, over the limit of {_gib(limit)}.",
        BYTES,
        meaning=(
            f"A worker process of this replica has held more than {_gib(limit)} "
            "(`alerts.worker_memory_limit_bytes`) of resident memory for a while. LiteLLM's memory grows under "
            "load; past the container's limit the kernel kills the worker (LitellmWorkersKilled) and clients "
            "see timeouts and resets."
        ),
        confirm=largest,
        action=(
            "Give the service a memory limit and a restart policy that match, recycle workers with "
            "`--max_requests_before_restart` so none lives long enough to grow this far, and look for what "
            "grew (large requests or responses, caches, a leak after an upgrade)."
        ),
    )
    over = {**base, "instance": "proxy-a:9464"}
    return Spec(
        (alert,),
        (
            boundary(
                "one replica's largest worker over the limit",
                [
                    (series(memory, over), constant(limit * 1.25, 40)),
                    (series(memory, {**base, "instance": "proxy-b:9464"}), constant(limit * 0.5, 40)),
                ],
                g.for_,
                0,
                (Expected(alert, {"instance": "proxy-a:9464"}, limit * 1.25),),
            ),
            negative("under the limit", [(series(memory, over), constant(limit * 0.9, 40))], g.for_, 0),
        ),
    )


def worker_memory_growing(c: Context[WorkerMemoryGrowing, WorkerMemory]) -> Spec:
    g, q, base, limit = c.group, c.scope, c.base, c.objective.worker_memory_limit_bytes
    memory = q.sample(WORKER_MEMORY_MAX)
    horizon = HORIZON_HOURS * 3600
    largest = q.gauge("max", WORKER_MEMORY_MAX, INSTANCE)
    predicted = aggregate("max", INSTANCE, f"predict_linear({q.select(memory)}[1h], {horizon})")
    # an hour of history first: the hour after a start is the workers' start-up growth, no trend
    history = aggregate("max", INSTANCE, f"{q.select(memory)} offset 1h")
    expr = f"{predicted}\n> {fmt(limit)}\nand\n{largest} <= {fmt(limit)}\nand on (instance)\n{history}\n"
    alert = c.alert(
        expr,
        g.for_,
        g.severity,
        "A proxy worker's memory is on course to reach the limit within hours.",
        "At the last hour's pace the largest worker of {instance} would hold {value}B in "
        f"{HORIZON_HOURS} h, "
        f"over the limit of {_gib(limit)}.",
        BYTES,
        meaning=(
            f"The largest worker's resident memory grew over the last hour at a pace that reaches "
            f"`alerts.worker_memory_limit_bytes` ({_gib(limit)}) within {HORIZON_HOURS} hours; it is still "
            "under it (LitellmWorkerMemoryHigh takes over there). Judged only once the exporter has an hour of "
            "history: in its first hour a proxy's workers grow as they import and warm their caches, which is "
            "no trend."
        ),
        confirm=largest,
        action=(
            "Recycle workers with `--max_requests_before_restart` (or restart the replica in a quiet hour) "
            "before the kernel kills them; find what grows (traffic mix, caches, a LiteLLM upgrade)."
        ),
    )
    labels = {**base, "instance": "proxy-a:9464"}
    start = limit * 0.5
    # grows by limit/4 an hour: at 4 h the prediction passes the limit long before memory does
    per_minute = limit / 4 / 60
    return Spec(
        (alert,),
        (
            # from minute 60 on there is an hour of history: pending from then, firing `for` later
            boundary(
                "memory climbing towards the limit",
                [(series(memory, labels), counter(per_minute, 180, start))],
                g.for_,
                60,
                (
                    Expected(
                        alert,
                        {"instance": "proxy-a:9464"},
                        start + per_minute * (60 + durations.minutes(g.for_)) + per_minute * 60 * HORIZON_HOURS,
                    ),
                ),
            ),
            negative("memory flat", [(series(memory, labels), constant(start, 120))], g.for_),
            # a start: as steep as above, but the exporter is younger than an hour when `for` has passed
            negative(
                "start-up growth in the first hour",
                [(series(memory, labels), counter(per_minute, 50, start))],
                g.for_,
                1,
            ),
        ),
    )


def workers_killed(c: Context[WorkersKilled, None]) -> Spec:
    g, q, base = c.group, c.scope, c.base
    exits = q.sample(WORKER_EXITS)
    killed_only = 'reason="killed"'
    expr = f"{q.sum_increase(exits, ('instance',), '15m', killed_only)} > 0\n"
    alert = c.alert(
        expr,
        g.for_,
        g.severity,
        "Proxy workers were killed.",
        "{value} worker(s) of {instance} ended without exiting over the last 15 minutes.",
        COUNT,
        meaning=(
            "A worker process ended without exiting by itself: killed by a signal (most often the kernel's "
            "OOM killer with SIGKILL) or crashed. Its in-flight requests failed; the proxy starts a new one."
        ),
        confirm=q.sum_increase(exits, ("instance", "reason"), "1h"),
        action=(
            "Look for `Out of memory: Killed process` in the host's kernel log (`dmesg`, the node's events in "
            "Kubernetes) and at Worker memory; raise the memory limit or recycle workers sooner with "
            "`--max_requests_before_restart`; otherwise read the proxy log for a crash."
        ),
    )
    killed = {**base, "reason": "killed"}
    recycled = {**base, "reason": "recycled"}
    return Spec(
        (alert,),
        (
            boundary(
                "a worker killed",
                [(series(exits, killed), "0+0x5 1+0x30")],
                g.for_,
                6,
                (Expected(alert, {"instance": "proxy-a:9464"}, 1.0),),
            ),
            negative(
                "workers recycled, none killed",
                [(series(exits, recycled), counter(1, 30)), (series(exits, killed), constant(0, 30))],
                g.for_,
                6,
            ),
        ),
    )


def event_loop_lag_high(c: Context[EventLoopLagHigh, None]) -> Spec:
    g, q = c.group, c.scope
    alert = c.alert(
        f"{q.quantile(0.99, LOOP_LAG, INSTANCE + ('le',), RATE)}\n> {fmt(g.seconds)}\n",
        g.for_,
        g.severity,
        "Proxy workers' event loops are blocked.",
        "The p99 lag of the workers' event loops on {instance} is {value} over the last 5 minutes.",
        SECONDS,
        meaning=(
            f"A 1 s timer on the workers' event loops fired more than {fmt(g.seconds)} s late in over 1 % of "
            "the ticks: something runs synchronously on the loop (a blocking call in a callback, guardrail "
            "or hook, CPU-heavy work, a starved CPU), and every request on that worker waits meanwhile."
        ),
        confirm=q.quantile(0.99, LOOP_LAG, INSTANCE + ("le",), RATE),
        action=(
            "Check the replica's CPU (throttling, too few cores for the workers); look for synchronous work in "
            "custom callbacks and guardrails (use their async hooks); add workers or replicas."
        ),
    )
    return Spec((alert,), histogram_cases(c, alert, LOOP_LAG, g.seconds, 0.99, {"instance": "proxy-a:9464"}))


ALERTS = (
    Declaration("LitellmWorkerMemoryHigh", WorkerMemoryHigh, worker_memory_high, reads=WorkerMemory),
    Declaration("LitellmWorkerMemoryGrowing", WorkerMemoryGrowing, worker_memory_growing, reads=WorkerMemory),
    Declaration("LitellmWorkersKilled", WorkersKilled, workers_killed),
    Declaration("LitellmEventLoopLagHigh", EventLoopLagHigh, event_loop_lag_high),
)

INHIBITIONS = (
    Inhibition(
        "LitellmWorkerMemoryHigh",
        ("LitellmWorkerMemoryGrowing",),
        ("cluster", "instance"),
        "a worker over the memory limit already need not be predicted to reach it",
    ),
)
