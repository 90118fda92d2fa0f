"""Scrape cost vs worker recycling: litellm_observe's Exporter vs prometheus_client's
stock MultiProcessCollector, on the same workload, in one run.

Each worker is a real forked process that writes the same SERIES series (by default
1,500 counter series + 500 histogram series = 2,000) once:
  ours   a SampleWriter (the logger's per-worker mmap file) in a run directory;
  stock  prometheus_client Counter/Histogram in multiprocess mode (PROMETHEUS_MULTIPROC_DIR),
         same metric names, labels and buckets.
Scenarios, for both:
  A  4 live workers, no recycles;
  B  the same 4 live workers + 100 recycled workers (each wrote its series and exited);
each idle (nothing written between scrapes: ours then reads the files, finds them unchanged and serves
the last rendering) and under traffic (each live worker increments 20 random counter series of its own
every 10 ms, about 2,000 increments/s, more than a busy proxy worker's requests; the scraper pauses 20 ms
between scrapes, so every live file has changed at each scrape: the figure to plan with), and after writes
(before each scrape every live worker makes exactly 20 increments and stops: the same work at every scrape
and nothing running beside it, so its B / A compares like with like; under traffic, how much changed and
what runs beside a scrape vary from one scrape to the next).
A scrape is a full rendering of the text format: `Exporter.render(None)` for ours,
`generate_latest` over a registry holding a `MultiProcessCollector` for stock. Wall time
(time.perf_counter) and CPU time (time.process_time, the scraping process) are medians
over --scrapes scrapes. For ours the first scrape after the recycles folds the dead
workers' files into the archive; it is reported on its own row, and the rows after it
are steady state. Last, 8 threads scrape at once to show concurrent scrapes sharing one
rendering (SharedRender.renders counts the renderings).

Then, ours alone at each of --sizes series per worker (2,000, 20,000 and 100,000 by default), each size in
a fresh child process: 4 live workers, then --sizes-recycled recycled ones (a steady scrape after folding
reads one archive whatever the number folded, so a few suffice), fewer scrapes at the larger sizes, and the
scraping process's memory from /proc/self/status: VmRSS before the exporter exists, VmRSS after the
scrapes and VmHWM (its peak). With --baseline REF the sizes table has REF's figures beside, one run each.

    python benchmarks/bench_scrape.py            # 4 live + 100 recycled, 2,000 series each
    python benchmarks/bench_scrape.py --quick    # tiny sizes (smoke test)
    python benchmarks/bench_scrape.py --baseline 63bccb3   # also ours as of that revision, side by side
    python benchmarks/bench_scrape.py --sizes 2000,20000   # other sizes for the per-size table

Prints tables and exits 0; it asserts nothing about timings.
"""

from __future__ import annotations

import os
import sys
import tempfile

# Before anything imports prometheus_client: the stock workers (forked from this process)
# must be in multiprocess mode. The scraping side reads files by path and does not care.
STOCK_DIR = tempfile.mkdtemp(prefix="bench-scrape-stock-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = STOCK_DIR

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from bisect import bisect_left  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from litellm_observe import settings as settings_mod  # noqa: E402
from litellm_observe.catalogue import BY_NAME  # noqa: E402

COUNTER, HISTOGRAM = BY_NAME["requests"], BY_NAME["request_duration_seconds"]
TRAFFIC_BATCH, TRAFFIC_PAUSE = 20, 0.01  # under traffic: each live worker ~2,000 increments/s, spread over its series
STATUSES = ("200", "429", "500")


def series(total: int) -> tuple[list[tuple], list[tuple]]:
    """3/4 counter series (model, provider, team, status; one endpoint), 1/4 histogram series (model, provider),
    each as a label tuple in the catalogue's order."""
    n_hist = total // 4
    n_counter = total - n_hist
    counters = []
    i = 0
    while len(counters) < n_counter:
        named = dict(
            model=f"model-{i % 10}",
            provider=f"provider-{i % 10 % 5}",
            team=f"team-{i // 10 % 50}",
            status_code=STATUSES[i // 500 % 3],
            endpoint="chat_completions",
        )
        counters.append(tuple(named[label] for label in COUNTER.labels))
        i += 1
    hists = [
        tuple(
            dict(model=f"model-{i // 5}", provider=f"provider-{i % 5}", endpoint="chat_completions")[label]
            for label in HISTOGRAM.labels
        )
        for i in range(n_hist)
    ]
    return counters, hists


# ---- workers (forked) -------------------------------------------------------------------------
def _write_ours(run_dir: str, total: int) -> None:
    from baseline import worker_store

    store = worker_store(run_dir)
    counters, hists = series(total)
    for labels in counters:
        store.inc(COUNTER.name, labels, 1.0)
    bucket = bisect_left(HISTOGRAM.buckets, 0.7)
    for labels in hists:
        store.observe(HISTOGRAM.name, labels, bucket, 0.7)
    return store  # kept open (and locked) while the worker lives


def _write_stock(total: int):
    from prometheus_client import Counter, Histogram

    c = Counter(f"litellm_{COUNTER.name}", COUNTER.help, list(COUNTER.labels), registry=None)
    h = Histogram(
        f"litellm_{HISTOGRAM.name}", HISTOGRAM.help, list(HISTOGRAM.labels), registry=None, buckets=HISTOGRAM.buckets
    )
    counters, hists = series(total)
    for labels in counters:
        c.labels(*labels).inc()
    for labels in hists:
        h.labels(*labels).observe(0.7)
    return c, h


def worker(kind: str, run_dir: str, total: int, conn) -> None:
    keep = _write_ours(run_dir, total) if kind == "ours" else _write_stock(total)
    if conn is not None:  # a live worker: stay until told to go
        conn.send("ready")
        _serve(kind, keep, total, conn)
    del keep


def _serve(kind: str, keep, total: int, conn) -> None:
    """A live worker until "stop" (or an hour): after "traffic", TRAFFIC_BATCH increments of random counter
    series of its own every TRAFFIC_PAUSE seconds, until "quiet"; it sends back how many it made."""
    counters, _ = series(total)
    rng = random.Random(os.getpid())
    if kind == "ours":
        name = COUNTER.name

        def inc(labels):
            keep.inc(name, labels, 1.0)

    else:

        def inc(labels):
            keep[0].labels(*labels).inc()

    writing, made, deadline = False, 0, time.monotonic() + 3600
    while time.monotonic() < deadline:
        if conn.poll(TRAFFIC_PAUSE if writing else 60):
            message = conn.recv()
            if message == "stop":
                return
            if message == "step":  # exactly one batch, then say so: the scraper reads a file nobody writes
                for _ in range(TRAFFIC_BATCH):
                    inc(rng.choice(counters))
                conn.send("stepped")
                continue
            if writing and message == "quiet":
                conn.send(made)
            writing = message == "traffic"
        if writing:
            for _ in range(TRAFFIC_BATCH):
                inc(rng.choice(counters))
            made += TRAFFIC_BATCH


class Workers:
    def __init__(self, ctx):
        self.ctx = ctx
        self.live: list[tuple] = []

    def start_live(self, kind: str, run_dir: str, total: int, n: int) -> None:
        started = []
        for _ in range(n):
            parent, child = self.ctx.Pipe()
            p = self.ctx.Process(target=worker, args=(kind, run_dir, total, child), daemon=True)
            p.start()
            started.append((p, parent, kind))
        self.live += started
        for _p, parent, _kind in started:  # each has written its series
            if not parent.poll(120):
                raise SystemExit(f"a live {kind} worker did not start")
            parent.recv()

    def recycle(self, kind: str, run_dir: str, total: int, n: int, batch: int = 4) -> None:
        """n workers that write their series and exit, `batch` at a time."""
        done = 0
        while done < n:
            procs = [
                self.ctx.Process(target=worker, args=(kind, run_dir, total, None)) for _ in range(min(batch, n - done))
            ]
            for p in procs:
                p.start()
            for p in procs:
                p.join(120)
                if p.exitcode != 0:
                    raise SystemExit(f"a recycled {kind} worker failed with exit code {p.exitcode}")
            done += len(procs)

    def _tell(self, kind: str, message: str, answered: bool) -> list:
        """Send `message` to every live worker of `kind`; their answers when `answered` (each within 60 s)."""
        mine = [parent for _p, parent, of in self.live if of == kind]
        for parent in mine:
            parent.send(message)
        answers = []
        for parent in mine if answered else ():
            if not parent.poll(60):
                raise SystemExit(f"a live {kind} worker did not answer")
            answers.append(parent.recv())
        return answers

    def traffic(self, kind: str, on: bool) -> int:
        """Start ("traffic") or end ("quiet") writing in the live workers of `kind`; on ending, the increments
        they made."""
        return sum(self._tell(kind, "traffic" if on else "quiet", answered=not on))

    def step(self, kind: str) -> None:
        """Each live worker of `kind` makes exactly TRAFFIC_BATCH increments; returns once all have."""
        self._tell(kind, "step", answered=True)

    def stop(self) -> None:
        for _p, parent, _kind in self.live:
            try:
                parent.send("stop")
            except OSError:
                pass
        for p, _parent, _kind in self.live:
            p.join(30)
            if p.is_alive():
                p.terminate()
                p.join(5)
        self.live.clear()


# ---- scraping -------------------------------------------------------------------------------
def under_traffic(workers: Workers, kind: str, scrape, n: int) -> dict:
    """`timed` while the live workers of `kind` write (Workers.traffic); with the increments they made."""
    workers.traffic(kind, True)
    try:
        time.sleep(TRAFFIC_PAUSE * 5)  # every worker has written since the last scrape
        out = timed(scrape, n, pause=TRAFFIC_PAUSE * 2)
    finally:
        out_made = workers.traffic(kind, False)
    out["made"] = out_made
    return out


def after_writes(workers: Workers, kind: str, scrape, n: int) -> dict:
    """`timed`, each scrape after every live worker of `kind` made exactly TRAFFIC_BATCH increments and
    stopped: the same work at every scrape and nothing running beside it, so B / A compares like with like
    (under traffic, how much changed and what runs beside the scrape vary from one scrape to the next). One
    scrape first, untimed: it reads what an earlier phase (traffic) left since its last scrape."""
    scrape()
    out = timed(scrape, n, before=lambda: workers.step(kind))
    out["made"] = n * TRAFFIC_BATCH * sum(1 for *_, of in workers.live if of == kind)
    return out


def timed(scrape, n: int, pause: float = 0.0, before=None) -> dict:
    walls, cpus, body = [], [], b""
    for _ in range(n):
        if pause:
            time.sleep(pause)  # under traffic: the files change between scrapes
        if before is not None:
            before()
        w, c = time.perf_counter(), time.process_time()
        body = scrape()
        cpus.append(time.process_time() - c)
        walls.append(time.perf_counter() - w)
    return {
        "wall": statistics.median(walls),
        "cpu": statistics.median(cpus),
        "bytes": len(body),
        "requests": requests_total(body),
        "n": n,
    }


def requests_total(body: bytes) -> float:
    """Sum of litellm_requests_total over all series: both sides must agree."""
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith("litellm_requests_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def concurrent(scrape, threads: int) -> float:
    """Wall time for `threads` scrapes started together."""
    barrier = threading.Barrier(threads)
    errors = []

    def run():
        barrier.wait()
        try:
            scrape()
        except Exception as e:  # reported, not raised in a thread
            errors.append(e)

    ts = [threading.Thread(target=run) for _ in range(threads)]
    w = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - w


def fmt_row(label: str, ours: dict | None, stock: dict | None) -> str:
    def cell(r):
        return f"{r['wall'] * 1e3:>9.1f} {r['cpu'] * 1e3:>9.1f}" if r else f"{'-':>9} {'-':>9}"

    return f"{label:<44} {cell(ours)}   {cell(stock)}"


def memory_mb() -> dict:
    """This process's resident memory now and at its peak (MB), from /proc/self/status."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(value.split()[0]) / 1024
    return out


def ours_only(args) -> dict:
    """Scenarios A and B for ours alone (run in a child, possibly on a baseline version), and the memory
    of the scraping process."""
    from baseline import exporter_class

    base = memory_mb()["VmRSS"]
    run_dir = tempfile.mkdtemp(prefix="bench-scrape-ours-")
    exporter = exporter_class()(run_dir, settings_mod.load(environ={}, section={}))
    workers = Workers(multiprocessing.get_context("fork"))
    try:
        workers.start_live("ours", run_dir, args.series, args.live)
        exporter.render(None)
        a = timed(lambda: exporter.render(None)[0], args.scrapes)
        a_traffic = under_traffic(workers, "ours", lambda: exporter.render(None)[0], args.scrapes)
        a_writes = after_writes(workers, "ours", lambda: exporter.render(None)[0], args.scrapes)
        workers.recycle("ours", run_dir, args.series, args.recycled)
        first = timed(lambda: exporter.render(None)[0], 1)
        b = timed(lambda: exporter.render(None)[0], args.scrapes)
        b_traffic = under_traffic(workers, "ours", lambda: exporter.render(None)[0], args.scrapes)
        b_writes = after_writes(workers, "ours", lambda: exporter.render(None)[0], args.scrapes)
        mem = memory_mb()
    finally:
        workers.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
    return {
        "A": a,
        "A traffic": a_traffic,
        "A writes": a_writes,
        "B first": first,
        "B steady": b,
        "B traffic": b_traffic,
        "B writes": b_writes,
        "rss_base": base,
        "rss": mem["VmRSS"],
        "hwm": mem["VmHWM"],
        # what B steady must sum to: every worker's initial series, and A's traffic and writes
        "expected": (args.live + args.recycled) * len(series(args.series)[0]) + a_traffic["made"] + a_writes["made"],
    }


def child(args, series: int, recycled: int, scrapes: int, path: str | None = None, timeout: int = 3600) -> dict:
    """`ours_only` in a fresh process; `path` first on PYTHONPATH (a baseline's package) when given."""
    env = dict(os.environ)
    if path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [path, env.get("PYTHONPATH")]))
    sizes = ["--live", str(args.live), "--recycled", str(recycled), "--series", str(series)]
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), *sizes, "--scrapes", str(scrapes), "--only-ours"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"child at {series} series ({path or 'this tree'}) failed")
    return json.loads(lines[-1][len("RESULT ") :])


def per_size(args) -> None:
    """Ours at each of --sizes, this tree (and --baseline, one run each)."""
    import baseline

    folder = baseline.extract(args.baseline) if args.baseline else None
    versions = [("this tree", None)] + ([(args.baseline, folder)] if folder else [])
    print(
        f"\nours per size: {args.live} live workers x N series, then + {args.sizes_recycled} recycled; "
        "wall ms (median), memory of the scraping process in MB (RSS before the exporter -> after the scrapes, peak)"
    )
    head = (
        f"{'series':>8} {'version':<10} {'A':>8} {'A traf':>8} {'B first':>9} {'B steady':>9} {'B traf':>8}"
        f" {'B/A traf':>8} {'B/A wr':>7}  {'RSS':>16} {'peak':>7}"
    )
    print(head)
    print("-" * len(head))
    try:
        for n in args.sizes:
            scrapes = args.scrapes  # fewer at large sizes made a median of the first two, which run slower
            for name, path in versions:
                r = child(args, n, args.sizes_recycled, scrapes, path)
                a, b = r["A"]["wall"] * 1e3, r["B steady"]["wall"] * 1e3
                at, bt = (r.get(k, {}).get("wall", float("nan")) * 1e3 for k in ("A traffic", "B traffic"))
                aw, bw = (r.get(k, {}).get("wall", float("nan")) for k in ("A writes", "B writes"))
                print(
                    f"{n:>8,} {name[:10]:<10} {a:>8.1f} {at:>8.1f} {r['B first']['wall'] * 1e3:>9.1f} {b:>9.1f}"
                    f" {bt:>8.1f} {bt / at:>7.2f}x {bw / aw:>6.2f}x"
                    f"  {r['rss_base']:>6.0f} -> {r['rss']:>6.0f} {r['hwm']:>7.0f}",
                    flush=True,
                )
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


def compare_baseline(args) -> None:
    import baseline

    folder = baseline.extract(args.baseline)
    runs: dict[str, list] = {"baseline": [], "this tree": []}
    try:  # alternate the two versions, so that both see the same machine over the same minutes
        for _ in range(args.repeat):
            for name, path in (("baseline", folder), ("this tree", None)):
                runs[name].append(child(args, args.series, args.recycled, args.scrapes, path, timeout=1800))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"\nbefore / after: ours as of {args.baseline} vs this tree, scrape wall ms; {args.repeat} runs of "
        "each, alternated; median (and range) of the runs' medians"
    )
    print(f"{'scenario':<28} {'baseline':>20} {'this tree':>20} {'change':>8}")
    for scenario in ("A", "A traffic", "A writes", "B first", "B steady", "B traffic", "B writes"):
        old = sorted(r[scenario]["wall"] * 1e3 for r in runs["baseline"])
        now = sorted(r[scenario]["wall"] * 1e3 for r in runs["this tree"])
        o, n = statistics.median(old), statistics.median(now)
        print(
            f"{scenario:<28} {o:>7.1f} ({old[0]:.0f}-{old[-1]:.0f}) {n:>9.1f} ({now[0]:.0f}-{now[-1]:.0f}) "
            f"{(n / o - 1) * 100:>+7.1f}%"
        )
    counted = {k: [f"{r['B steady']['requests']:,.0f} of {r.get('expected', 0):,}" for r in v] for k, v in runs.items()}
    print(f"litellm_requests_total in B (of the expected; a baseline that predates `expected` says 0): {counted}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    p.add_argument("--live", type=int, default=4)
    p.add_argument("--recycled", type=int, default=100)
    p.add_argument("--series", type=int, default=2_000, help="series each worker writes")
    p.add_argument("--scrapes", type=int, default=5, help="scrapes per measurement (median)")
    p.add_argument("--threads", type=int, default=8, help="concurrent scrapes")
    p.add_argument("--baseline", metavar="REF", help="also measure ours as of this git revision (before/after)")
    p.add_argument("--repeat", type=int, default=3, help="runs of each version with --baseline, alternated")
    p.add_argument(
        "--sizes",
        type=lambda text: [int(n) for n in text.split(",") if n],
        default=[2_000, 20_000, 100_000],
        help="series per worker for the per-size table (comma-separated; empty to skip it)",
    )
    p.add_argument("--sizes-recycled", type=int, default=8, help="recycled workers per size in the per-size table")
    p.add_argument("--only-ours", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.live, args.recycled, args.series, args.scrapes, args.threads, args.repeat = 2, 6, 200, 2, 4, 1
        args.sizes, args.sizes_recycled = [200, 400], 2
    if args.only_ours:
        print("RESULT " + json.dumps(ours_only(args)), flush=True)
        return 0

    from baseline import exporter_class, sample_files
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    started = time.time()
    ctx = multiprocessing.get_context("fork")
    run_dir = tempfile.mkdtemp(prefix="bench-scrape-ours-")
    exporter = exporter_class()(run_dir, settings_mod.load(environ={}, section={}))
    registry = CollectorRegistry()
    MultiProcessCollector(registry, STOCK_DIR)

    def ours():
        return exporter.render(None)[0]

    def stock():
        return generate_latest(registry)

    workers = Workers(ctx)
    try:
        workers.start_live("ours", run_dir, args.series, args.live)
        workers.start_live("stock", run_dir, args.series, args.live)
        ours(), stock()  # warm-up (imports, decode caches)
        a_ours, a_stock = timed(ours, args.scrapes), timed(stock, args.scrapes)
        a_ours_t = under_traffic(workers, "ours", ours, args.scrapes)
        a_stock_t = under_traffic(workers, "stock", stock, args.scrapes)
        a_ours_w = after_writes(workers, "ours", ours, args.scrapes)
        a_stock_w = after_writes(workers, "stock", stock, args.scrapes)

        t = time.time()
        workers.recycle("ours", run_dir, args.series, args.recycled)
        workers.recycle("stock", run_dir, args.series, args.recycled)
        recycle_s = time.time() - t
        files_ours = len(sample_files(exporter))
        files_stock = len([n for n in os.listdir(STOCK_DIR) if n.endswith(".db")])
        b_first_ours, b_first_stock = timed(ours, 1), timed(stock, 1)
        files_ours_after = len(sample_files(exporter))
        # stock scrapes in B take seconds each: fewer of them keep the run short
        b_ours, b_stock = timed(ours, args.scrapes), timed(stock, min(args.scrapes, 3))

        renders_before = exporter.render.renders
        rounds = 3
        conc_ours = statistics.median(concurrent(ours, args.threads) for _ in range(rounds))
        renders = exporter.render.renders - renders_before
        conc_stock = concurrent(stock, args.threads)  # one round: no sharing, each thread renders
        b_ours_t = under_traffic(workers, "ours", ours, args.scrapes)
        b_stock_t = under_traffic(workers, "stock", stock, min(args.scrapes, 3))
        b_ours_w = after_writes(workers, "ours", ours, args.scrapes)
        b_stock_w = after_writes(workers, "stock", stock, min(args.scrapes, 3))
    finally:
        workers.stop()

    n_workers = args.live + args.recycled
    print(
        f"\nScrape time, ms (median of {args.scrapes}, stock B steady: {min(args.scrapes, 3)}; "
        f"{args.live} live workers x {args.series:,} series; "
        f"then + {args.recycled} recycled workers)"
    )
    head = f"{'scenario':<44} {'ours wall':>9} {'ours cpu':>9}   {'stock wall':>9} {'stock cpu':>9}"
    print(head)
    print("-" * len(head))
    print(fmt_row(f"A  {args.live} live, no recycles", a_ours, a_stock))
    print(fmt_row("A  under traffic", a_ours_t, a_stock_t))
    print(fmt_row(f"B  {args.live} live + {args.recycled} recycled: first scrape", b_first_ours, b_first_stock))
    print(fmt_row(f"B  {args.live} live + {args.recycled} recycled: steady state", b_ours, b_stock))
    print(fmt_row("B  under traffic", b_ours_t, b_stock_t))
    print(fmt_row(f"A  after {TRAFFIC_BATCH} writes per live worker", a_ours_w, a_stock_w))
    print(fmt_row(f"B  after {TRAFFIC_BATCH} writes per live worker", b_ours_w, b_stock_w))
    for label, (a, b), (sa, sb) in (
        ("", (a_ours, b_ours), (a_stock, b_stock)),
        (" under traffic", (a_ours_t, b_ours_t), (a_stock_t, b_stock_t)),
        (f" after {TRAFFIC_BATCH} writes", (a_ours_w, b_ours_w), (a_stock_w, b_stock_w)),
    ):
        print(f"{'B / A (wall)' + label:<44} {b['wall'] / a['wall']:>8.2f}x {'':>9}   {sb['wall'] / sa['wall']:>8.2f}x")
    print(
        f"under traffic each live worker increments {TRAFFIC_BATCH} random counter series every "
        f"{TRAFFIC_PAUSE * 1e3:.0f} ms while the scraper waits {TRAFFIC_PAUSE * 2e3:.0f} ms between scrapes: "
        f"increments made ours {a_ours_t['made'] + b_ours_t['made']:,}, "
        f"stock {a_stock_t['made'] + b_stock_t['made']:,}; "
        f"after writes: before each scrape every live worker makes exactly {TRAFFIC_BATCH} and stops"
    )
    print(
        f"\nworker files before the first scrape after recycling: ours {files_ours} "
        f"(+ archive; {files_ours_after} after it), stock {files_stock} .db files"
    )
    print(
        f"litellm_requests_total summed over series (steady state, after A's traffic and writes): ours "
        f"{b_ours['requests']:,.0f} "
        f"(expected {n_workers * len(series(args.series)[0]) + a_ours_t['made'] + a_ours_w['made']:,}), "
        f"stock {b_stock['requests']:,.0f} "
        f"(expected {n_workers * len(series(args.series)[0]) + a_stock_t['made'] + a_stock_w['made']:,})"
    )
    print(
        f"exposition size: ours {b_ours['bytes']:,} bytes, stock {b_stock['bytes']:,} bytes "
        f"(ours also lists the catalogue's other, empty, families)"
    )
    print(f"\nconcurrent scrapes (scenario B, steady state): {args.threads} threads scrape at once")
    print(
        f"  ours : {rounds} rounds -> {renders} rendering(s) in all for {args.threads * rounds} scrapes "
        f"(SharedRender.renders); median wall per round {conc_ours * 1e3:.1f} ms"
    )
    print(f"  stock: 1 round -> {args.threads} renderings (no sharing); wall {conc_stock * 1e3:.1f} ms")
    print(
        "target (issue 24): ours under 20 ms at 4 x 2,000 series, B <= 1.1x A. "
        f"recycling {2 * args.recycled} workers took {recycle_s:.1f} s; "
        f"total wall time {time.time() - started:.1f} s"
    )
    shutil.rmtree(run_dir, ignore_errors=True)
    shutil.rmtree(STOCK_DIR, ignore_errors=True)
    if args.baseline:
        compare_baseline(args)
    if args.sizes:
        per_size(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
