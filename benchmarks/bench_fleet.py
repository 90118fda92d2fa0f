"""What our series, rules and dashboards cost at fleet size: N simulated replicas (fleet.py) scraped by a real
Prometheus that evaluates the generated recording and alerting rules, then every dashboard panel's query
timed against it.

For each N in --replicas (10, 50, 200 by default), a fresh Prometheus scrapes the N replicas every --interval
(15 s, evaluation likewise) for --minutes, then:
  series      per replica (its exposition's samples) and in Prometheus's head (`prometheus_tsdb_head_series`);
  scrape      Prometheus's `scrape_duration_seconds` for the job (mean and max over the targets' last scrapes),
              and the simulator's own CPU per exposition written;
  rule groups `prometheus_rule_group_last_duration_seconds`, its mean and its largest over the run, per group; and all
              groups together, `rate(prometheus_rule_group_duration_seconds_sum)` over the run (seconds of
              evaluation per second: what splitting a group leaves unchanged);
  panels      every panel target of every dashboard, variables set to All as Grafana does
              (tests/support/grafana.py), as an instant query and as a range query over the run at the
              interval's step; wall time of the HTTP call (median of --repeat), per dashboard the slowest
              panel, and overall the slowest few;
  memory      Prometheus's `process_resident_memory_bytes`, the largest over the run.
History is only the run's minutes: a panel or rule over [1d] reads what a day-old Prometheus would have read
in its last --minutes only, so long-window figures are a lower bound.

    python benchmarks/bench_fleet.py                   # N = 10, 50, 200, 4 minutes each
    python benchmarks/bench_fleet.py --quick           # N = 3, 1 s interval, 20 s (the smoke test)
    python benchmarks/bench_fleet.py --replicas 200 --minutes 10

Prints tables and exits 0; it asserts nothing about timings. Goal reported against: at 200 replicas every
panel answers in under 1 s and every rule group evaluates in under 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

from fleet import FleetServer, scrape_config  # noqa: E402

from litellm_observe.generators import rules  # noqa: E402
from tests.support.grafana import panel_queries  # noqa: E402
from tests.support.prometheus_server import PrometheusServer  # noqa: E402

REPO = os.path.dirname(HERE)
RULE_FILES = tuple(os.path.join(REPO, path) for path in (rules.RULES_FILE, rules.ALERTS_FILE))


def _value(prom: PrometheusServer, expr: str) -> float:
    got = prom.query(expr)
    return float(got[0]["value"][1]) if got else float("nan")


def _per_group(prom: PrometheusServer, over_time: str, window: str) -> dict[str, float]:
    """Each rule group's `over_time` (max_over_time, avg_over_time) of its last evaluation's duration, seconds."""
    rows = prom.query(f"{over_time}(prometheus_rule_group_last_duration_seconds[{window}])")
    return {row["metric"]["rule_group"].split(";")[-1]: float(row["value"][1]) for row in rows}


def _timed(call, repeat: int) -> tuple[float, object]:
    walls, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = call()
        walls.append(time.perf_counter() - start)
    return statistics.median(walls), out


def panels(prom: PrometheusServer, minutes: float, step: str, repeat: int) -> list[tuple[str, str, float, int]]:
    """(dashboard uid, panel title and refId, seconds: the slower of instant and range, series returned)."""
    out = []
    end = time.time()
    start = end - minutes * 60
    for uid, panel, target, expr in panel_queries(prom):
        instant, got = _timed(lambda e=expr: prom.query(e), repeat)
        ranged, _ = _timed(
            lambda e=expr: prom.api("query_range", {"query": e, "start": start, "end": end, "step": step}),
            repeat,
        )
        out.append((uid, f"{panel['title']} [{target['refId']}]", max(instant, ranged), len(got or [])))
    return out


def run(n: int, args) -> dict:
    fleet = FleetServer(n).start()
    job = scrape_config(fleet, interval=args.interval)
    prom = PrometheusServer({}, scrape_interval=args.interval, rule_files=RULE_FILES, scrape_configs=(job,))
    try:
        prom.start()
        deadline = time.monotonic() + args.minutes * 60
        while time.monotonic() < deadline:
            time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
        window = f"{max(1, int(args.minutes * 60))}s"
        per_replica = _value(prom, 'max(scrape_samples_scraped{job="litellm"})')
        result = {
            "n": n,
            "targets up": _value(prom, 'sum(up{job="litellm"})'),
            "samples per replica": per_replica,
            "head series": _value(prom, "prometheus_tsdb_head_series"),
            "scrape mean s": _value(prom, 'avg(scrape_duration_seconds{job="litellm"})'),
            "scrape max s": _value(prom, f'max(max_over_time(scrape_duration_seconds{{job="litellm"}}[{window}]))'),
            "render ms": fleet.render_seconds / max(fleet.scrapes, 1) * 1e3,
            "rss MB": _value(prom, f'max_over_time(process_resident_memory_bytes{{job="prometheus"}}[{window}])')
            / 2**20,
            # every group's evaluations together, wall seconds per second of the run: what splitting groups
            # leaves unchanged and evaluating a group less often reduces
            "rule load": _value(prom, f"sum(rate(prometheus_rule_group_duration_seconds_sum[{window}]))"),
            "groups": _per_group(prom, "max_over_time", window),
            "groups mean": _per_group(prom, "avg_over_time", window),
        }
        result["rules"] = sorted(
            (
                (float(rule.get("evaluationTime", 0.0)), group["name"], rule.get("name", ""))
                for group in prom.api("rules", {})["groups"]
                for rule in group["rules"]
            ),
            reverse=True,
        )
        result["panels"] = panels(prom, args.minutes, args.interval, args.repeat)
        return result
    finally:
        prom.stop()
        fleet.stop()


def report(results: list[dict], top: int) -> None:
    print("\nfleet size: series, scrape and memory")
    head = (
        f"{'replicas':>8} {'up':>5} {'samples/replica':>15} {'head series':>11} {'scrape mean':>11} {'scrape max':>10}"
        f" {'render/replica':>14} {'Prometheus RSS':>14}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        print(
            f"{r['n']:>8} {r['targets up']:>5.0f} {r['samples per replica']:>15,.0f} {r['head series']:>11,.0f}"
            f" {r['scrape mean s'] * 1e3:>9.1f}ms {r['scrape max s'] * 1e3:>8.1f}ms {r['render ms']:>12.1f}ms"
            f" {r['rss MB']:>12.0f}MB"
        )
    groups = sorted({g for r in results for g in r["groups"]})
    print("\nrule group evaluation, prometheus_rule_group_last_duration_seconds over the run, mean / largest (ms)")
    print(f"{'group':<40}" + "".join(f"{'N=' + str(r['n']):>16}" for r in results))
    for g in groups:
        cells = (
            f"{r['groups mean'].get(g, float('nan')) * 1e3:.1f} / {r['groups'].get(g, float('nan')) * 1e3:.1f}"
            for r in results
        )
        print(f"{g:<40}" + "".join(f"{c:>16}" for c in cells))
    print(f"{'all groups, evaluation s per s':<40}" + "".join(f"{r['rule load']:>16.3f}" for r in results))
    last = results[-1]
    print(f"\nslowest rules at N={last['n']}, their last evaluation (`evaluationTime` of /api/v1/rules):")
    for seconds, group, name in last["rules"][:top]:
        print(f"  {seconds * 1e3:>8.1f} ms  {group}: {name}")
    print("\npanel queries, ms (the slower of the instant and the range query over the run; median of repeats)")
    uids = sorted({p[0] for r in results for p in r["panels"]})
    print(f"{'dashboard':<28}{'targets':>8}" + "".join(f"{'max N=' + str(r['n']):>12}" for r in results))
    for uid in uids:
        count = sum(1 for p in results[0]["panels"] if p[0] == uid)
        cells = "".join(f"{max(p[2] for p in r['panels'] if p[0] == uid) * 1e3:>12.1f}" for r in results)
        print(f"{uid:<28}{count:>8}{cells}")
    empty = sum(1 for p in last["panels"] if p[3] == 0)
    print(f"\nslowest panels at N={last['n']} ({len(last['panels'])} targets, {empty} returned no series):")
    for uid, title, seconds, series in sorted(last["panels"], key=lambda p: -p[2])[:top]:
        print(f"  {seconds * 1e3:>8.1f} ms  {uid}: {title} ({series} series)")
    worst_panel = max(p[2] for p in last["panels"])
    worst_group = max(last["groups"].values(), default=float("nan"))
    worst_mean = max(last["groups mean"].values(), default=float("nan"))
    print(
        f"goal at N={last['n']}: every panel < 1 s (slowest {worst_panel:.3f} s), every rule group < 1 s "
        f"(slowest {worst_group:.3f} s at worst, {worst_mean:.3f} s on average)"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--replicas", type=lambda t: [int(n) for n in t.split(",")], default=[10, 50, 200])
    p.add_argument("--minutes", type=float, default=4.0, help="scraping before the measurements, per fleet size")
    p.add_argument("--interval", default="15s", help="scrape and rule evaluation interval")
    p.add_argument("--repeat", type=int, default=3, help="times each panel query runs (median)")
    p.add_argument("--top", type=int, default=8, help="slowest panels listed")
    p.add_argument("--quick", action="store_true", help="N = 3, 1 s interval, 20 s: the smoke test")
    args = p.parse_args(argv)
    if args.quick:
        args.replicas, args.minutes, args.interval, args.repeat, args.top = [3], 20 / 60, "1s", 1, 3
    started = time.time()
    results = [run(n, args) for n in args.replicas]
    report(results, args.top)
    print(f"load average at the end {os.getloadavg()[0]:.2f}; total wall time {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
