"""CPU per event: litellm_observe's ObserveLogger vs LiteLLM's built-in PrometheusLogger.

Both loggers run in multiprocess mode, each in a fresh subprocess of this one run
(PROMETHEUS_MULTIPROC_DIR is set to an empty directory before anything imports
prometheus_client), and replay the same realistic requests (tests/support/payloads/synthetic.py)
from one asyncio event loop. A third subprocess replays them through a no-op
CustomLogger: that is the cost of the driver loop and the awaits themselves, and the
"net" columns subtract it. CPU time is time.process_time_ns() (user + system, all
threads of the process) over the measured loop, after a warm-up; each figure is the
median of --rounds rounds.

    python benchmarks/bench_events.py            # 20,000 success + 5,000 failure requests per round
    python benchmarks/bench_events.py --quick    # tiny sizes (smoke test)
    python benchmarks/bench_events.py --baseline 63bccb3   # also that revision of ours, side by side
    python benchmarks/bench_events.py --attribution key_alias,user,end_user,tags   # ours with callers on
    python benchmarks/bench_events.py --instructions --baseline REF   # instructions per request (valgrind)
    python benchmarks/bench_events.py --opcodes [--baseline REF]   # bytecodes per request, by module and function

Prints a table and exits 0; it asserts nothing about timings.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LOGGERS = ("noop", "ours", "floor", "builtin")
LABELS = {
    "noop": "no-op (loop)",
    "ours": "litellm_observe",
    "floor": "floor (benchmarks/floor.py)",
    "builtin": "LiteLLM built-in",
}
PHASES = (
    ("success", "success request (all hooks)"),
    ("success_hook", "async_log_success_event only"),
    ("failure", "failure request (all hooks)"),
)


# ---- child: one logger in its own process --------------------------------------------------
def _make_logger(name: str, run_dir: str, batch_seconds: float | None = None):
    if name == "noop":
        from litellm.integrations.custom_logger import CustomLogger

        return CustomLogger()
    if name == "floor":
        from floor import FloorLogger

        return FloorLogger(run_dir)
    if name in ("ours", "baseline"):
        from baseline import logger_class

        from litellm_observe import settings as settings_mod
        from tests.support.payloads.synthetic import MODEL_NAMES

        dimensions = os.environ.get("BENCH_ATTRIBUTION")  # --attribution (ours only: a baseline may predate it)
        section = {"attribution": dimensions.split(",")} if dimensions and name == "ours" else {}
        if batch_seconds is not None:
            section["event_batch_seconds"] = batch_seconds
        return logger_class()(
            settings_mod.load(environ={}, section=section),
            run_directory=run_dir,
            model_names=lambda: list(MODEL_NAMES),
            caching_on=lambda: True,
            start_exporter=False,
        )
    from litellm.integrations.prometheus import PrometheusLogger

    return PrometheusLogger()


def _recorded(name: str, run_dir: str, logger=None) -> float | None:
    """How many client requests the logger counted: proof that it accepted the events."""
    if name == "floor":
        return logger.requests_counted()
    if name in ("ours", "baseline"):
        from baseline import aggregator_class

        return sum(v[0] for (metric, _), v in aggregator_class()(run_dir).collect().items() if metric == "requests")
    if name == "builtin":
        from prometheus_client import CollectorRegistry
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry, os.environ["PROMETHEUS_MULTIPROC_DIR"])
        return sum(
            s.value
            for fam in registry.collect()
            if fam.name == "litellm_proxy_total_requests_metric"
            for s in fam.samples
            if s.name.endswith("_total")
        )
    return None


def _child_logger(args):
    """A child's replay library, run directory, logger and flush (ours since the batches: what waits is recorded by
    it, inside the measure). benchmarks/ and the repository (the payload library) go on sys.path after PYTHONPATH:
    a baseline's package comes first."""
    pythonpath = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:0] = [*pythonpath, HERE, os.path.dirname(HERE)]
    from tests.support.payloads import synthetic as events

    run_dir = tempfile.mkdtemp(prefix="bench-events-run-")
    logger = _make_logger(args.child, run_dir)
    flush = getattr(logger, "flush", None) if args.child in ("ours", "baseline") else None
    return events, run_dir, logger, flush


def _run_child(
    name: str, child_args: list[str], pythonpath: str | None, timeout: float, wrapper: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """This script as child `name`, in multiprocess mode in an empty directory removed afterwards, LiteLLM offline,
    a baseline's package first on PYTHONPATH. With a `wrapper` in front (valgrind), the same hashes in every run
    (PYTHONHASHSEED), so the same dict probes and the same instruction counts."""
    multiproc = tempfile.mkdtemp(prefix=f"bench-events-{name}-")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": multiproc, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    if wrapper:
        env["PYTHONHASHSEED"] = "0"
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    cmd = [*wrapper, sys.executable, os.path.abspath(__file__), "--child", name, *child_args]
    try:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(multiproc, ignore_errors=True)


def _result(proc: subprocess.CompletedProcess[str]) -> dict | None:
    """The last RESULT line a child printed, or None."""
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(lines[-1][len("RESULT ") :]) if lines else None


def _imported_package() -> str | None:
    """In a child: the folder of the litellm_observe it imported (None for a child that imported none), for its
    RESULT line."""
    package = sys.modules.get("litellm_observe")
    return os.path.dirname(package.__file__ or "") if package is not None else None


def _check_baseline(result: dict, pythonpath: str | None) -> None:
    """A baseline child (one run with `pythonpath`) measured the package extracted there, not this tree."""
    if pythonpath and not (result["package"] or "").startswith(pythonpath):
        raise SystemExit(f"the baseline child imported {result['package']}, not the package in {pythonpath}")


def child(args) -> None:
    import asyncio

    events, run_dir, logger, flush = _child_logger(args)
    successes, failures = events.success_events(), events.failure_events()

    async def measure(evts, count, hooks="request") -> int:
        start = time.process_time_ns()
        await events.replay(logger, evts, count, hooks)
        if flush is not None:
            flush()
        return time.process_time_ns() - start

    async def main():
        sent = 0
        await measure(successes, args.warmup)  # warm-up: caches, label admission, first records
        await measure(failures, max(args.warmup // 4, 1))
        sent += args.warmup + max(args.warmup // 4, 1)
        per = {p: [] for p, _ in PHASES}
        for _ in range(args.rounds):
            per["success"].append(await measure(successes, args.success) / args.success)
            per["success_hook"].append(await measure(successes, args.success, "success-hook") / args.success)
            per["failure"].append(await measure(failures, args.failure) / args.failure)
            sent += args.success * 2 + args.failure
        return per, sent

    per, sent = asyncio.run(main())
    out = {
        "ns": {p: statistics.median(v) for p, v in per.items()},
        "sent": sent,
        "recorded": _recorded(args.child, run_dir, logger),
        "package": _imported_package(),
    }
    shutil.rmtree(run_dir, ignore_errors=True)
    print("RESULT " + json.dumps(out), flush=True)


# ---- child and parent: instructions per request (--instructions) --------------------------------------
INSTRUCTION_SIZES = (500, 2_500)  # requests replayed in the two runs whose difference is counted
I_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def instructions_child(args) -> None:
    """Replay `args.count` requests of `args.kind` after a warm-up, untimed: valgrind counts the instructions of
    the whole process, and the parent takes the difference of two runs of different sizes (the start-up, the
    imports and the warm-up cancel out)."""
    import asyncio
    import gc

    events, run_dir, logger, flush = _child_logger(args)
    successes, failures = events.success_events(), events.failure_events()

    async def main():
        await events.replay(logger, successes, args.warmup)
        await events.replay(logger, failures, max(args.warmup // 4, 1))
        if flush is not None:
            flush()
        gc.collect()
        gc.freeze()  # what the warm-up left is not traversed again: the counts are of the replay
        await events.replay(logger, successes if args.kind == "success" else failures, args.count)
        if flush is not None:
            flush()

    asyncio.run(main())
    shutil.rmtree(run_dir, ignore_errors=True)
    print("RESULT " + json.dumps({"package": _imported_package()}), flush=True)


def _refs(name: str, kind: str, count: int, args, pythonpath: str | None) -> int:
    """Instructions valgrind's cachegrind counted for one child run (user space: not the kernel's)."""
    proc = _run_child(
        name,
        ["--kind", kind, "--count", str(count), "--warmup", str(args.warmup)],
        pythonpath,
        1800,
        ("valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"),
    )
    found, result = I_REFS.findall(proc.stderr), _result(proc)
    if proc.returncode != 0 or not found or result is None:
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-4000:])
        raise SystemExit(f"valgrind child {name!r} ({kind}, {count}) failed with exit code {proc.returncode}")
    _check_baseline(result, pythonpath)
    return int(found[-1].replace(",", ""))


def per_request(small: tuple[int, int], large: tuple[int, int]) -> float:
    """Instructions per request from two runs, each (requests replayed, instructions counted)."""
    (n1, i1), (n2, i2) = small, large
    return (i2 - i1) / (n2 - n1)


def print_instructions(args) -> None:
    """Instructions per request, ours (and a baseline) against the no-op loop: the same on every run of the same
    code on the same machine, where CPU time on a shared machine moves by more than most changes. Not LiteLLM's
    built-in (a thousand times our requests' instructions under valgrind would take an hour)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (Debian: apt-get install valgrind)")
    from concurrent.futures import ThreadPoolExecutor

    started = time.time()
    sizes = (50, 250) if args.quick else INSTRUCTION_SIZES
    arms: list[tuple[str, str, str | None]] = [("noop", "noop", None), ("ours", "ours", None), ("floor", "floor", None)]
    folder = None
    if args.baseline:
        import baseline

        folder = baseline.extract(args.baseline)
        arms.append(("baseline", "baseline", folder))
    kinds = ("success",) if args.quick else ("success", "failure")  # quick: each run is mostly the imports (~50 s)
    jobs = [(arm, name, path, kind, n) for arm, name, path in arms for kind in kinds for n in sizes]
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, 4))) as pool:
            counts = list(pool.map(lambda j: _refs(j[1], j[3], j[4], args, j[2]), jobs))
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    refs = {(arm, kind, n): c for (arm, _, _, kind, n), c in zip(jobs, counts)}
    per = {
        (arm, kind): per_request((sizes[0], refs[(arm, kind, sizes[0])]), (sizes[1], refs[(arm, kind, sizes[1])]))
        for arm, _, _ in arms
        for kind in kinds
    }
    print(
        f"\ninstructions per request (valgrind cachegrind, user space; runs of {sizes[1]:,} and {sizes[0]:,} "
        f"requests after a warm-up of {args.warmup:,}, the difference; net = minus the no-op loop)"
    )
    head = f"{'request':<10} {'loop':>8} {'ours':>9} {'ours net':>9} {'floor':>9} {'floor net':>10}"
    if args.baseline:
        head += f" {'baseline net':>13} {'change':>8}"
    print(head)
    print("-" * len(head))
    for kind in kinds:
        loop, ours, floor = per[("noop", kind)], per[("ours", kind)], per[("floor", kind)]
        row = f"{kind:<10} {loop:>8,.0f} {ours:>9,.0f} {ours - loop:>9,.0f} {floor:>9,.0f} {floor - loop:>10,.0f}"
        if args.baseline:
            old = per[("baseline", kind)] - loop
            row += f" {old:>13,.0f} {((ours - loop) / old - 1) * 100 if old > 0 else float('nan'):>+7.1f}%"
        print(row)
    if args.baseline:
        print(f"baseline: ours as of {args.baseline}")
    print(f"total wall time {time.time() - started:.1f} s")


# ---- child: where ours spends an event (--breakdown) ----------------------------------------------
# Timed parts: (label, owner, attribute). Hooks are coroutine methods of the logger; the rest are functions of
# the worker's modules, looked up through their module (or class) at every call, so a timer put there is seen.
HOOKS = (
    "async_pre_call_hook",
    "async_log_success_event",
    "async_post_call_success_hook",
    "async_log_failure_event",
    "async_post_call_failure_deployment_hook",
    "async_post_call_failure_hook",
)


def _parts():
    from litellm_observe.worker import budgets, observations, recording

    return (
        ("  observations.success (parse)", observations, "success"),
        ("    budgets", observations, "budgets"),
        ("  Recording.success (record)", recording.Recording, "success"),
        ("    BudgetResets.observe", budgets.BudgetResets, "observe"),
        ("  observations.request_start", observations, "request_start"),
        ("  observations.failure", observations, "failure"),
        ("  observations.failed_attempt", observations, "failed_attempt"),
        ("  Recording.request_failed", recording.Recording, "request_failed"),
        ("  Recording.attempt_failed", recording.Recording, "attempt_failed"),
    )


def breakdown_child(args) -> None:
    """CPU per call of each of our hooks, and of the parse and record steps inside them: thread_time_ns around
    each, minus what a timer costs around nothing (calibrated here). A part's figure includes the timers of the
    parts inside it (one calibration each)."""
    sys.path[:0] = [HERE, os.path.dirname(HERE)]
    import asyncio
    import functools

    from tests.support.payloads import synthetic as events

    clock = time.thread_time_ns
    spent: dict[str, list[int]] = {}  # label -> [ns, calls]

    def timed(label, fn, is_async):
        slot = spent.setdefault(label, [0, 0])
        if is_async:

            @functools.wraps(fn)
            async def wrapper(*a, **k):
                started = clock()
                try:
                    return await fn(*a, **k)  # our hooks never suspend: the time inside is ours
                finally:
                    slot[0] += clock() - started
                    slot[1] += 1

        else:

            @functools.wraps(fn)
            def wrapper(*a, **k):
                started = clock()
                try:
                    return fn(*a, **k)
                finally:
                    slot[0] += clock() - started
                    slot[1] += 1

        return wrapper

    # a timer around nothing, as the parts are timed
    def nothing():
        return None

    empty = timed("empty", nothing, False)
    for _ in range(200_000):
        empty()
    timer_ns = spent.pop("empty")[0] / 200_000

    successes, failures = events.success_events(), events.failure_events()
    # each call recorded as it is made (event_batch_seconds 0), so that each hook's time is its own work
    logger = _make_logger("ours", tempfile.mkdtemp(prefix="bench-events-run-"), batch_seconds=0)

    async def main():
        await events.replay(logger, successes, args.warmup)
        await events.replay(logger, failures, max(args.warmup // 4, 1))
        for hook in HOOKS:
            setattr(logger, hook, timed(hook, getattr(logger, hook), True))
        for label, owner, name in _parts():
            setattr(owner, name, timed(label, getattr(owner, name), False))
        phases = {}
        for phase, evts, count in (("success", successes, args.success), ("failure", failures, args.failure)):
            for slot in spent.values():
                slot[:] = [0, 0]
            await events.replay(logger, evts, count)
            phases[phase] = {label: list(slot) for label, slot in spent.items() if slot[1]}
        return phases

    phases = asyncio.run(main())
    print("RESULT " + json.dumps({"phases": phases, "timer_ns": timer_ns}), flush=True)


def print_breakdown(args) -> None:
    res = run_child("breakdown", args)
    timer = res["timer_ns"]
    order = list(HOOKS) + [label for label, _, _ in _parts()]
    for phase, requests in (("success", args.success), ("failure", args.failure)):
        spent = res["phases"][phase]
        print(
            f"\n{phase} request: where ours spends it, µs of CPU (thread_time_ns, minus {timer / 1e3:.2f} µs a "
            f"timer costs around nothing), {requests:,} requests"
        )
        head = f"{'hook / step inside it':<44} {'calls':>8} {'µs/call':>8} {'µs/request':>11}"
        print(head)
        print("-" * len(head))
        for label in order:
            if label not in spent:
                continue
            ns, calls = spent[label]
            per_call = ns / calls - timer
            print(f"{label:<44} {calls:>8,} {per_call / 1e3:>8.2f} {per_call * calls / requests / 1e3:>11.2f}")


# ---- child and parent: bytecodes per request, by module and function (--opcodes) ---------------------
OPCODE_TOP = 12  # functions listed per kind of request
# success requests traced at most (ten passes over the replay's 240), a quarter as many failures
OPCODE_REQUESTS = 2_400


def opcodes_child(args) -> None:
    """Replay `args.success` success and `args.failure` failure requests after a warm-up with sys.settrace's opcode
    events on, and count, per function of litellm_observe, the bytecodes it executed: where a request goes, the
    same on every run of the same code, unlike CPU time. Generated __init__s (the observations' dataclasses) and
    everything else (the replay, asyncio, LiteLLM's base class) each in one line of their own. With the settings'
    batches, as the other children: what waits is recorded inside the count."""
    import asyncio
    import collections

    args.child = "ours"  # a baseline's package comes first on sys.path, as for the other children
    events, run_dir, logger, flush = _child_logger(args)
    package = (_imported_package() or "") + os.sep  # its files are ours; the rest, one line
    successes, failures = events.success_events(), events.failure_events()
    counts: collections.Counter[str] = collections.Counter()
    names: dict[object, str] = {}

    def name_of(code) -> str:
        found = names.get(code)
        if found is None:
            path = code.co_filename
            if path.startswith(package):
                where = os.path.relpath(path, os.path.dirname(package[:-1]))
            else:  # code compiled from text (a dataclass's __init__: ours, in this replay) or not ours
                where = "(generated __init__)" if path == "<string>" and code.co_name == "__init__" else "(not ours)"
            found = names[code] = where if where.startswith("(") else f"{where}:{code.co_firstlineno} {code.co_name}"
        return found

    def trace(frame, event, arg):
        frame.f_trace_opcodes, frame.f_trace_lines = True, False
        key = name_of(frame.f_code)

        def each(frame, event, arg):
            if event == "opcode":
                counts[key] += 1
            return each

        return each

    async def main():
        await events.replay(logger, successes, args.warmup)
        await events.replay(logger, failures, max(args.warmup // 4, 1))
        phases = {}
        for phase, evts, count in (("success", successes, args.success), ("failure", failures, args.failure)):
            counts.clear()
            sys.settrace(trace)
            try:
                await events.replay(logger, evts, count)
                flush()
            finally:
                sys.settrace(None)
            phases[phase] = {"requests": count, "counts": dict(counts)}
        return phases

    phases = asyncio.run(main())
    shutil.rmtree(run_dir, ignore_errors=True)
    print("RESULT " + json.dumps({"phases": phases, "package": _imported_package()}), flush=True)


def print_opcodes(args) -> None:
    """Bytecodes per request of ours (and of a baseline's), by module and the functions that execute most."""
    sized = argparse.Namespace(
        **{
            **vars(args),
            "success": min(args.success, OPCODE_REQUESTS),
            "failure": min(args.failure, OPCODE_REQUESTS // 4),
        }
    )
    sides = {"this tree": None}
    folder = None
    if args.baseline:
        import baseline

        folder = baseline.extract(args.baseline)
        sides = {f"{args.baseline}": folder, "this tree": None}
    try:
        res = {side: run_child("opcodes", sized, pythonpath)["phases"] for side, pythonpath in sides.items()}
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    for phase in ("success", "failure"):
        per = {}
        for side, phases in res.items():
            n = phases[phase]["requests"]
            per[side] = {k: v / n for k, v in phases[phase]["counts"].items()}
        requests = res["this tree"][phase]["requests"]
        print(f"\n{phase} request: bytecodes executed per request, {requests:,} requests (sys.settrace opcode events)")
        modules = {}
        for side, counts in per.items():
            for key, v in counts.items():
                module = key.split(":")[0]
                modules.setdefault(module, {}).setdefault(side, 0.0)
                modules[module][side] += v
        head = f"{'module':<40}" + "".join(f" {side:>12}" for side in per)
        print(head)
        print("-" * len(head))
        order = sorted(modules, key=lambda m: (m.startswith("("), -modules[m].get("this tree", 0.0)))
        totals = {side: sum(v for k, v in counts.items() if not k.startswith("(")) for side, counts in per.items()}
        print(f"{'ours, all':<40}" + "".join(f" {totals[side]:>12,.0f}" for side in per))
        for module in order:
            print(f"{module:<40}" + "".join(f" {modules[module].get(side, 0.0):>12,.0f}" for side in per))
        mine = per["this tree"]
        print(f"\nthe {OPCODE_TOP} functions of ours that execute most, this tree")
        top = sorted(((k, v) for k, v in mine.items() if not k.startswith("(")), key=lambda kv: -kv[1])
        for key, v in top[:OPCODE_TOP]:
            print(f"{v:>10,.1f}  {key}")


# ---- parent: run the three children, print the table ----------------------------------------
def run_child(name: str, args, pythonpath: str | None = None) -> dict:
    sizes = ["--success", str(args.success), "--failure", str(args.failure), "--warmup", str(args.warmup)]
    proc = _run_child(name, [*sizes, "--rounds", str(args.rounds)], pythonpath, 900)
    result = _result(proc)
    if proc.returncode != 0 or result is None:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"benchmark child {name!r} failed with exit code {proc.returncode}")
    _check_baseline(result, pythonpath)
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    p.add_argument("--success", type=int, default=20_000, help="success requests per round")
    p.add_argument("--failure", type=int, default=5_000, help="failure requests per round")
    p.add_argument("--warmup", type=int, default=2_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--baseline", metavar="REF", help="also measure ours as of this git revision (before/after)")
    p.add_argument("--repeat", type=int, default=3, help="runs of each version with --baseline, alternated")
    p.add_argument("--attribution", metavar="DIMS", help="ours with these caller dimensions on (comma-separated)")
    p.add_argument("--breakdown", action="store_true", help="only ours: CPU per call of each hook and step")
    p.add_argument("--instructions", action="store_true", help="instructions per request under valgrind, not CPU time")
    p.add_argument("--opcodes", action="store_true", help="bytecodes per request, by module and function of ours")
    p.add_argument("--count", type=int, help=argparse.SUPPRESS)  # an instruction-count child's requests
    p.add_argument("--kind", choices=("success", "failure"), default="success", help=argparse.SUPPRESS)
    p.add_argument("--child", choices=LOGGERS + ("baseline", "breakdown", "opcodes"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.attribution:
        os.environ["BENCH_ATTRIBUTION"] = args.attribution  # the children inherit it
    if args.quick:
        args.success, args.failure, args.warmup, args.rounds, args.repeat = 300, 100, 100, 1, 1
    if args.child == "breakdown":
        breakdown_child(args)
        return 0
    if args.child == "opcodes":
        opcodes_child(args)
        return 0
    if args.child and args.count is not None:
        instructions_child(args)
        return 0
    if args.child:
        child(args)
        return 0
    if args.breakdown:
        print_breakdown(args)
        return 0
    if args.instructions:
        print_instructions(args)
        return 0
    if args.opcodes:
        print_opcodes(args)
        return 0

    started = time.time()
    res = {name: run_child(name, args) for name in LOGGERS}
    if args.baseline:
        import baseline

        folder = baseline.extract(args.baseline)
        try:  # alternate the two versions, so that both see the same machine over the same minutes
            res["baseline_runs"], res["ours_runs"] = [], [res["ours"]]
            for i in range(args.repeat):
                res["baseline_runs"].append(run_child("baseline", args, pythonpath=folder))
                if i < args.repeat - 1:
                    res["ours_runs"].append(run_child("ours", args))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    loop = res["noop"]["ns"]
    print(
        f"\nCPU per request, µs (median of {args.rounds} round(s); {args.success:,} success + "
        f"{args.failure:,} failure requests per round; net = minus the no-op loop)"
    )
    head = (
        f"{'phase':<32} {'loop':>7} {'ours':>8} {'ours net':>9} {'floor':>8} {'floor net':>10} {'built-in':>9} "
        f"{'built-in net':>13} {'ratio':>7}"
    )
    print(head)
    print("-" * len(head))
    for phase, label in PHASES:
        base = loop[phase] / 1e3
        ours, builtin = res["ours"]["ns"][phase] / 1e3, res["builtin"]["ns"][phase] / 1e3
        floor = res["floor"]["ns"][phase] / 1e3
        on, bn = ours - base, builtin - base
        ratio = f"{bn / on:.1f}x" if on > 0 else "n/a"
        print(
            f"{label:<32} {base:>7.2f} {ours:>8.2f} {on:>9.2f} {floor:>8.2f} {floor - base:>10.2f} {builtin:>9.2f} "
            f"{bn:>13.2f} {ratio:>7}"
        )
    print()
    for name in ("ours", "floor", "builtin"):
        r = res[name]
        print(f"{LABELS[name]}: {r['recorded']:,.0f} requests counted of {r['sent']:,} sent")
    print("ratio = built-in net / ours net; goal: ours <= 10 µs per success request, <= 8 µs per failure, ratio >= 80x")
    if args.baseline:
        print(
            f"\nbefore / after: ours as of {args.baseline} vs this tree, net µs per request, {args.repeat} runs "
            "of each, alternated; median (and range) of the runs"
        )
        print(f"{'phase':<32} {'baseline':>18} {'this tree':>18} {'change':>8}")
        for phase, label in PHASES:
            base = loop[phase] / 1e3
            old = sorted(r["ns"][phase] / 1e3 - base for r in res["baseline_runs"])
            now = sorted(r["ns"][phase] / 1e3 - base for r in res["ours_runs"])
            o, n = statistics.median(old), statistics.median(now)
            change = (n / o - 1) * 100 if o > 0 else float("nan")
            print(
                f"{label:<32} {o:>7.2f} ({old[0]:.1f}-{old[-1]:.1f}) {n:>7.2f} ({now[0]:.1f}-{now[-1]:.1f}) "
                f"{change:>+7.1f}%"
            )
        counted = [r["recorded"] for r in res["baseline_runs"]]
        print(f"baseline counted {counted} of {res['baseline_runs'][0]['sent']:,} sent per run")
        print(f"baseline package imported from the extracted {args.baseline}: {res['baseline_runs'][0]['package']}")
    print(f"total wall time {time.time() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
