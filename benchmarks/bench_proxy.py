"""What the logger costs the proxy itself: a real LiteLLM proxy (4 workers) in front of the fake upstream,
started alternately in four arms, each run measured the same way:

- `none`: no callback at all;
- `noop`: a `CustomLogger` whose hooks do nothing (LiteLLM's own work per registered callback);
- `hollow`: `litellm_observe.proxy_handler` with its exporter, every hook's work taken out (the funnels every
  hook goes through, `ObserveLogger._hook` and `_guard`, return at once): what LiteLLM spends calling the hooks we
  implement, and what our background threads and exporter cost, without our hooks' own work;
- `ours`: `litellm_observe.proxy_handler`, with its exporter scraped every --scrape-every seconds.

Per run: start the proxy, send --warmup requests, then --requests chat completions at a fixed concurrency
(--concurrency clients on one asyncio loop, the openai-style JSON body over httpx), stop the proxy. The figures:
requests per second and p50/p99 latency as the clients saw them, and above all the CPU (user + system, from
/proc/<pid>/stat, clock ticks) that the proxy's process tree spent over the measured requests and the BATCHES_LAND
seconds after the last (while their last batches are recorded), per request. The tree is the supervisor, its
workers, what they spawned (our exporter: a child of a worker in its own session) and the children they reaped
(cutime/cstime). The fake upstream and the clients run in this process, outside the tree. The ours arm runs this
tree's package (PYTHONPATH), whichever is installed. On a shared 2-core machine throughput swings by more than the
cost being looked for; CPU per request of the tree is the figure to compare. Each arm's figures are the medians of
--runs runs, the arms interleaved (none, noop, hollow, ours, none, ...).

    python benchmarks/bench_proxy.py                   # 3 runs per arm, 3,000 requests each
    python benchmarks/bench_proxy.py --quick           # tiny sizes (smoke test)
    python benchmarks/bench_proxy.py --baseline 63bccb3   # a fifth arm: that revision of ours

Prints a table and exits 0; it asserts nothing about timings.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, HERE]

from litellm_observe.demo.upstream import FakeUpstream  # noqa: E402
from litellm_observe.rundir.runs import stat_fields  # noqa: E402
from litellm_observe.settings import MAX_EVENT_BATCH_SECONDS  # noqa: E402
from tests.support.metrics import total  # noqa: E402
from tests.support.proxy import Proxy, free_port  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
# Seconds after the last request by which its hook calls are recorded: a batch runs at most
# event_batch_seconds after its first call. Waited after the warm-up and after the measured requests (their CPU
# counted, the requests per second not), so that each measure holds its own requests' batches and no others'.
BATCHES_LAND = MAX_EVENT_BATCH_SECONDS + 0.5
NOOP_MODULE = "from litellm.integrations.custom_logger import CustomLogger\n\nhandler = CustomLogger()\n"
# The ours arm's callback: litellm_observe's own handler, with the CPU of every hook it runs counted inside the
# proxy: time.thread_time_ns around the funnels every hook call goes through (hooks never await inside them):
# ObserveLogger._hook (a hook's call: queued for its batch, or recorded at once), ObserveLogger._guard (timers, and
# every hook in revisions before batching) and WorkerProcess.record_pending (a batch the event loop runs), each
# counted only when no other is under way (a batch recorded inside a hook's call is that call's time). Written to
# $BENCH_HOOKS_DIR/hooks-<pid> as "ns calls gc_ns" after every batch and every 20th call of a hook (outside the
# timing), then a line "name ns calls" per hook name, and `batch` for the batches. gc_ns: the part of ns spent in
# collections of Python's cyclic GC that started inside a hook (a gc callback times them): a collection runs when
# allocations pass a threshold, whoever made the rest of the garbage, and walks the whole proxy's young objects; so
# it is ours only in proportion to what we allocate.
TIMED_MODULE = """import gc
import os
import time

import litellm_observe

handler = litellm_observe.proxy_handler
_guard = getattr(handler, "_guard", None)
_hook = getattr(handler, "_hook", None)
try:
    from litellm_observe.worker.process import WorkerProcess
except ImportError:  # a baseline laid out otherwise
    WorkerProcess = None
_record = getattr(WorkerProcess, "record_pending", None)
_out = os.environ["BENCH_HOOKS_DIR"]
_spent = [0, 0, 0]  # ns in hooks and batches, hook calls, ns of those in gc collections
_per_hook = {}  # hook name (or "batch") -> [ns, calls]
_inside = [False, 0]  # in a hook or batch; when the collection under way started
_WORK = True  # False in the hollow arm: every hook returns at once


def _flush():
    name = os.path.join(_out, "hooks-%d" % os.getpid())
    with open(name + ".tmp", "w") as f:
        f.write("%d %d %d\\n" % tuple(_spent))
        for hook, (ns, calls) in sorted(_per_hook.items()):
            f.write("%s %d %d\\n" % (hook, ns, calls))
    os.replace(name + ".tmp", name)


def _collecting(phase, info):
    if _inside[0]:
        if phase == "start":
            _inside[1] = time.thread_time_ns()
        else:
            _spent[2] += time.thread_time_ns() - _inside[1]


def _timing(name, fn, args, kwargs):
    if _inside[0]:
        return fn(*args, **kwargs)  # inside a timed call: counted there
    started = time.thread_time_ns()
    _inside[0] = True
    try:
        return fn(*args, **kwargs) if _WORK else None
    finally:
        _inside[0] = False
        spent = time.thread_time_ns() - started
        _spent[0] += spent
        if name != "batch":
            _spent[1] += 1
        slot = _per_hook.get(name)
        if slot is None:
            slot = _per_hook[name] = [0, 0]
        slot[0] += spent
        slot[1] += 1
        if name == "batch" or slot[1] % 20 == 0:  # a batch follows every hook call: the file is complete after it
            _flush()


def _timed_guard(*args, **kwargs):
    return _timing(args[0], _guard, args, kwargs)  # _guard(hook, handler, ...): the hook's name first


def _timed_hook(*args, **kwargs):
    return _timing(args[0], _hook, args, kwargs)


def _timed_record(*args, **kwargs):
    return _timing("batch", _record, args, kwargs)


if _guard is not None:
    handler._guard = _timed_guard
    gc.callbacks.append(_collecting)
if _hook is not None:
    handler._hook = _timed_hook
if _record is not None:
    WorkerProcess.record_pending = _timed_record
"""
HOLLOW_MODULE = TIMED_MODULE.replace("_WORK = True", "_WORK = False")
LABELS = {
    "none": "no callback",
    "noop": "no-op CustomLogger",
    "hollow": "litellm_observe, hooks emptied",
    "ours": "litellm_observe",
    "baseline": "litellm_observe (baseline)",
}


def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, utime + stime + cutime + cstime in ticks) of a live process; None when it is gone."""
    fields = stat_fields(pid)
    return (int(fields[1]), sum(int(v) for v in fields[11:15])) if fields else None


def ticks(pids: tuple[int, ...]) -> int:
    """CPU ticks of these processes (those still alive)."""
    return sum(s[1] for s in map(_stat, pids) if s)


def tree_ticks(root: int, extra: tuple[int, ...] = ()) -> int:
    """CPU ticks of `root`, its descendants (by ppid) and `extra` pids, as /proc says now."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (s := _stat(int(entry))):
            stats[int(entry)] = s
    members, frontier = set(), {root, *extra}
    while frontier:
        members |= frontier
        frontier = {pid for pid, (ppid, _) in stats.items() if ppid in frontier} - members
    return sum(stats[pid][1] for pid in members if pid in stats)


def config(arm: str, api_base: str, metrics_port: int) -> dict:
    callbacks = {"none": [], "noop": ["noop_logger.handler"]}.get(arm, ["timed_ours.handler"])
    out: dict = {
        "model_list": [
            {
                "model_name": "gpt",
                "litellm_params": {
                    "model": "openai/fake-ok",
                    "api_base": api_base,
                    "api_key": "fake",
                    "input_cost_per_token": 1e-6,
                    "output_cost_per_token": 2e-6,
                },
            }
        ],
        "router_settings": {"num_retries": 0},
        "litellm_settings": {"callbacks": callbacks} if callbacks else {},
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
    }
    if arm in ("ours", "baseline", "hollow"):
        out["litellm_observe"] = {"port": metrics_port, "bind_address": "127.0.0.1"}
    return out


async def _load(proxy: Proxy, count: int, concurrency: int, scrape_every: float | None) -> tuple[list[float], int]:
    """`count` requests from `concurrency` clients; latencies of the answered ones, and the failures."""
    latencies: list[float] = []
    failed = 0
    left = iter(range(count))
    body = {"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits, headers=proxy.headers()) as client:

        async def one_client() -> None:
            nonlocal failed
            for _ in left:
                t = time.perf_counter()
                try:
                    r = await client.post(f"{proxy.url}/v1/chat/completions", json=body)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - t)
                else:
                    failed += 1

        async def scraper() -> None:
            while scrape_every:
                await asyncio.sleep(scrape_every)
                try:
                    await client.get(proxy.metrics_url)
                except httpx.HTTPError:
                    pass

        scraping = asyncio.ensure_future(scraper())
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        scraping.cancel()
    return latencies, failed


def hook_totals(folder: Path) -> tuple[int, int, int, dict[str, tuple[int, int]]]:
    """(ns, calls, ns in gc collections, {hook: (ns, calls)}) summed over the workers' hooks-<pid> files."""
    ns = calls = gc_ns = 0
    per_hook: dict[str, tuple[int, int]] = {}
    for path in folder.glob("hooks-*[0-9]"):
        try:
            first, *rest = path.read_text().splitlines()
            a, b, c = first.split()
            hooks = [(hook, int(h_ns), int(h_calls)) for hook, h_ns, h_calls in (line.split() for line in rest)]
        except (OSError, ValueError):
            continue
        ns, calls, gc_ns = ns + int(a), calls + int(b), gc_ns + int(c)
        for hook, h_ns, h_calls in hooks:
            was = per_hook.get(hook, (0, 0))
            per_hook[hook] = (was[0] + h_ns, was[1] + h_calls)
    return ns, calls, gc_ns, per_hook


def run_arm(arm: str, args, upstream: FakeUpstream, workdir: Path, pythonpath: str | None) -> dict:
    metrics_port = free_port()
    ours = arm in ("ours", "baseline", "hollow")
    hooks = workdir / "hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    env = {"BENCH_HOOKS_DIR": str(hooks)}
    if ours:  # this tree's package (or the baseline's), whatever is installed: a worktree measures itself
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (pythonpath, ROOT)))
    files = {"noop": {"noop_logger.py": NOOP_MODULE}, "hollow": {"timed_ours.py": HOLLOW_MODULE}}.get(
        arm, {"timed_ours.py": TIMED_MODULE} if ours else None
    )
    proxy = Proxy(
        workdir,
        upstream.base_url,
        workers=args.workers,
        config=config(arm, upstream.base_url, metrics_port),
        expect_exporter=ours,
        files=files,
        env=env,
    )
    if not ours:
        proxy.config.pop("litellm_observe", None)  # Proxy adds our section by default
    with proxy:
        asyncio.run(_load(proxy, args.warmup, args.concurrency, None))
        exporter = (proxy.exporter_pid(),) if ours else ()
        scrape = args.scrape_every if ours else None
        time.sleep(BATCHES_LAND)  # the warm-up's last batches are recorded before the measure starts
        hooks_before, exporter_before = hook_totals(hooks), ticks(exporter)
        before, started = tree_ticks(proxy.proc.pid, exporter), time.perf_counter()
        latencies, failed = asyncio.run(_load(proxy, args.requests, args.concurrency, scrape))
        wall = time.perf_counter() - started
        time.sleep(BATCHES_LAND)  # and the measured requests' last batches inside it, in every arm alike
        after = tree_ticks(proxy.proc.pid, exporter)
        hooks_after, exporter_after = hook_totals(hooks), ticks(exporter)
        counted = _counted(proxy, args.warmup + args.requests) if ours and arm != "hollow" else None
    latencies.sort()
    answered = len(latencies)
    return {
        "rps": answered / wall,
        "p50": latencies[answered // 2] if answered else float("nan"),
        "p99": latencies[min(answered - 1, int(answered * 0.99))] if answered else float("nan"),
        "cpu_us": (after - before) / TICK * 1e6 / max(answered, 1),
        # ours only: the CPU of our hooks inside the workers, and of our exporter, per measured request
        "hooks_us": (hooks_after[0] - hooks_before[0]) / 1e3 / max(answered, 1) if ours else None,
        "hook_calls": (hooks_after[1] - hooks_before[1]) / max(answered, 1) if ours else None,
        "hooks_gc_us": (hooks_after[2] - hooks_before[2]) / 1e3 / max(answered, 1) if ours else None,
        # ours only: µs per call of each hook, over the measured requests
        "per_hook": {
            hook: (ns - hooks_before[3].get(hook, (0, 0))[0])
            / 1e3
            / max(calls - hooks_before[3].get(hook, (0, 0))[1], 1)
            for hook, (ns, calls) in hooks_after[3].items()
        }
        if ours
        else None,
        "exporter_us": (exporter_after - exporter_before) / TICK * 1e6 / max(answered, 1) if ours else None,
        "failed": failed,
        "sent": args.warmup + args.requests,
        "counted": counted,
    }


def _counted(proxy: Proxy, sent: int) -> float:
    """requests_total summed from a scrape, once it reaches `sent` or stops changing for BATCHES_LAND (longer
    than a batch waits: success events are logged just after the answer, and recorded with their batch): proof
    that the arm recorded what it served."""
    seen, deadline = -1.0, time.monotonic() + 30
    while time.monotonic() < deadline:
        now = total(proxy.scrape(), "requests")
        if now >= sent or now == seen:
            return now
        seen = now
        time.sleep(BATCHES_LAND)
    return seen


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3, help="runs per arm (default 3)")
    p.add_argument("--requests", type=int, default=3000, help="measured requests per run (default 3000)")
    p.add_argument("--warmup", type=int, default=300, help="requests before measuring (default 300)")
    p.add_argument("--concurrency", type=int, default=8, help="clients at once (default 8)")
    p.add_argument("--workers", type=int, default=4, help="proxy workers (default 4)")
    p.add_argument("--scrape-every", type=float, default=5.0, help="seconds between scrapes of ours (default 5)")
    p.add_argument("--baseline", metavar="REF", help="also a git revision of ours, as a fourth arm")
    p.add_argument("--quick", action="store_true", help="1 run, 60 requests, 2 workers")
    args = p.parse_args(argv)
    if args.quick:
        args.runs, args.requests, args.warmup, args.workers = 1, 60, 10, 2
    arms = ["none", "noop", "hollow", "ours"] + (["baseline"] if args.baseline else [])
    baseline_path = None
    if args.baseline:
        from baseline import extract

        baseline_path = extract(args.baseline)
    load_before = os.getloadavg()
    began = time.time()
    results: dict[str, list[dict]] = {arm: [] for arm in arms}
    with FakeUpstream() as upstream, tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmp:
        for run in range(args.runs):
            for arm in arms:
                workdir = Path(tmp) / f"{arm}-{run}"
                r = run_arm(arm, args, upstream, workdir, baseline_path if arm == "baseline" else None)
                results[arm].append(r)
                print(
                    f"run {run + 1} {arm:<8} {r['rps']:7.1f} req/s  p50 {r['p50'] * 1e3:6.1f} ms  "
                    f"p99 {r['p99'] * 1e3:6.1f} ms  CPU {r['cpu_us']:8.0f} µs/request  failed {r['failed']}",
                    flush=True,
                )
    print()
    print(
        f"{args.workers} workers, {args.concurrency} clients, {args.requests:,} requests per run (after "
        f"{args.warmup:,}), medians of {args.runs} runs per arm; load average before "
        f"{' '.join(f'{v:.2f}' for v in load_before)}, after {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    head = f"{'arm':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU µs/req':>11} {'vs none':>8} {'vs noop':>8}"
    print(head)
    print("-" * len(head))
    med = {
        arm: {
            k: statistics.median(r[k] for r in rs)
            for k in rs[0]
            if rs[0][k] is not None and not isinstance(rs[0][k], dict)
        }
        for arm, rs in results.items()
    }
    for arm in arms:
        m = med[arm]
        vs_none = (m["cpu_us"] / med["none"]["cpu_us"] - 1) * 100
        vs_noop = (m["cpu_us"] / med["noop"]["cpu_us"] - 1) * 100
        print(
            f"{LABELS[arm]:<28} {m['rps']:8.1f} {m['p50'] * 1e3:8.1f} {m['p99'] * 1e3:8.1f} {m['cpu_us']:11.0f} "
            f"{vs_none:+7.1f}% {vs_noop:+7.1f}%"
        )
    for arm in arms:
        for r in results[arm]:
            if r["counted"] is not None:
                print(f"{LABELS[arm]}: {r['counted']:,.0f} requests counted of {r['sent']:,} sent")
    for arm in arms:
        if "hooks_us" in med[arm] and arm != "hollow":
            m = med[arm]
            inside = m["hooks_us"] + m["exporter_us"]
            print(
                f"{LABELS[arm]}, counted inside the proxy: hooks {m['hooks_us']:.1f} µs per request "
                f"({m['hook_calls']:.1f} hook calls), exporter {m['exporter_us']:.1f} µs per request; together "
                f"{inside / med['none']['cpu_us'] * 100:.2f}% of the proxy's own CPU per request"
            )
            hooks = sorted({hook for r in results[arm] for hook in r["per_hook"] or {}})
            per_call = {
                h: statistics.median(r["per_hook"][h] for r in results[arm] if h in r["per_hook"]) for h in hooks
            }
            print("  per hook, µs per call (median of runs): " + ", ".join(f"{h} {per_call[h]:.1f}" for h in hooks))
            print(
                f"  of the hooks' time, in collections of Python's cyclic GC that started inside a hook: "
                f"{m['hooks_gc_us']:.1f} µs per request; without them, hooks and exporter are "
                f"{(inside - m['hooks_gc_us']) / med['none']['cpu_us'] * 100:.2f}% of the proxy's own CPU"
            )
    own = med["none"]["cpu_us"]
    for what, more, less in (
        ("ours adds", "ours", "noop"),
        ("  of which LiteLLM calling our hooks, our threads and exporter (hollow - noop)", "hollow", "noop"),
        ("  and our hooks' work (ours - hollow)", "ours", "hollow"),
    ):
        added = med[more]["cpu_us"] - med[less]["cpu_us"]
        print(
            f"{what}: {added:.0f} µs of the proxy tree's CPU per request "
            f"({added / own * 100:+.2f}% of the proxy's own CPU per request without callbacks)"
        )
    print(f"total wall time {time.time() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
