"""The benchmarks run to the end with tiny sizes and print both sides. No timing thresholds:
benchmarks report figures, tests check behaviour."""

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from litellm_observe.generators import rules

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULE_GROUPS = [
    group["name"]
    for path in (rules.RULES_FILE, rules.ALERTS_FILE)
    for group in yaml.safe_load(pathlib.Path(ROOT, path).read_text())["groups"]
]


def run(script: str, *more: str, timeout: float = 300) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", script), "--quick", *more],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_bench_events_quick_prints_ours_and_builtin():
    out = run("bench_events.py")
    header = next(line for line in out.splitlines() if line.startswith("phase"))
    assert "ours" in header and "built-in" in header and "ratio" in header
    for phase in ("success request (all hooks)", "async_log_success_event only", "failure request (all hooks)"):
        row = next(line for line in out.splitlines() if line.startswith(phase))
        assert len(re.findall(r"-?\d+\.\d+", row)) == 8, row
    # every logger accepted every event: what it counted is what was sent
    for name in ("litellm_observe", "floor \\(benchmarks/floor.py\\)", "LiteLLM built-in"):
        counted, sent = re.search(rf"^{name}: ([\d,]+) requests counted of ([\d,]+) sent", out, re.M).groups()
        assert counted == sent


def _stores_by_metric(out: str) -> dict[tuple[str, str], float]:
    """count_writes.py's stores a request, by (kind of request, metric)."""
    found, kind = {}, None
    for line in out.splitlines():
        if line in ("success", "failure"):
            kind = line
        elif m := re.match(r"^ +stores: (\S+) +([\d.]+)$", line):
            found[(kind, m.group(1))] = float(m.group(2))
    return found


def test_the_floor_stores_what_ours_stores_with_every_write_at_once():
    """benchmarks/floor.py is a fair floor: a request of the replay makes the same 8-byte stores, metric by metric,
    as ours with event_batch_seconds 0 (ours in batches writes the budgets and in-flight gauges once a batch, fewer),
    so a change to what ours writes fails here until the floor follows it."""
    ours = _stores_by_metric(run("count_writes.py", "--batch", "0"))
    floor = _stores_by_metric(run("count_writes.py", "--floor"))
    assert {kind for kind, _ in ours} == {"success", "failure"}
    assert ("success", "spend_usd") in ours and ("failure", "errors") in ours
    assert floor == ours


def test_bench_events_baseline_measures_the_extracted_revision():
    """The baseline's children import the package extracted from git, not this tree's (the repository on sys.path
    once shadowed it, and a "before" measured the "after")."""
    out = run("bench_events.py", "--baseline", "HEAD", "--repeat", "1")
    package = re.search(r"^baseline package imported from the extracted HEAD: (\S+)$", out, re.M).group(1)
    assert "bench-baseline-" in package and not package.startswith(ROOT)
    assert re.search(r"^success request \(all hooks\) +[\d.]+ \(", out, re.M)


def test_bench_events_breakdown_times_every_hook_and_step_a_request_goes_through():
    """--breakdown: every hook of each kind of request, and the parse and record steps inside them, were timed
    (called once per request, or once per success that carries budgets)."""
    out = run("bench_events.py", "--breakdown")
    quick_success, quick_failure = 300, 100  # --quick's sizes
    table = re.compile(r"^(success|failure) request: where ours spends it.*?\n(.*?)(?:\n\n|\Z)", re.M | re.S)
    tables = dict(table.findall(out))
    calls = {
        kind: {line[:44].strip(): int(line[44:53].replace(",", "")) for line in table.splitlines()[2:]}
        for kind, table in tables.items()
    }
    for hook in ("async_pre_call_hook", "async_log_success_event", "async_post_call_success_hook"):
        assert calls["success"][hook] == quick_success
    for step in ("observations.success (parse)", "Recording.success (record)", "observations.request_start"):
        assert calls["success"][step] == quick_success
    assert 0 < calls["success"]["budgets"] <= quick_success  # cache hits carry none
    for hook in ("async_pre_call_hook", "async_log_failure_event", "async_post_call_failure_hook"):
        assert calls["failure"][hook] == quick_failure
    for step in ("observations.failure", "Recording.request_failed", "Recording.attempt_failed"):
        assert calls["failure"][step] == quick_failure


def test_bench_events_opcodes_counts_each_kind_of_request_by_module_and_function():
    """--opcodes: per kind of request, ours by module (the "ours, all" line their sum), apart from generated code and
    everything else, and the functions that execute most; the parse and record steps of each kind among them."""
    out = run("bench_events.py", "--opcodes")
    table = re.compile(
        r"^(success|failure) request: bytecodes executed per request.*?\n(.*?)\n\nthe \d+ functions"
        r".*?\n(.*?)(?:\n\n|\Z)",
        re.M | re.S,
    )
    found = {kind: (modules, functions) for kind, modules, functions in table.findall(out)}
    assert set(found) == {"success", "failure"}
    for kind, (modules, functions) in found.items():
        rows = {line[:40].strip(): float(line[40:].replace(",", "")) for line in modules.splitlines()[2:]}
        ours = {name: n for name, n in rows.items() if name.startswith("litellm_observe/")}
        assert rows["ours, all"] == pytest.approx(sum(ours.values()), abs=len(ours))  # each line rounded
        assert rows["litellm_observe/worker/observations.py"] > 0 and rows["litellm_observe/worker/logger.py"] > 0
        assert "(not ours)" in rows  # the replay's own loop
        top = [line.split()[-1] for line in functions.splitlines()]
        steps = ("success",) if kind == "success" else ("failure", "request_failed")
        assert all(step in top for step in steps), functions


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind missing (scripts/test installs it)")
def test_bench_events_instructions_counts_ours_above_the_loop():
    """--instructions: valgrind counts each arm's instructions in two runs of different sizes; the difference per
    request is ours above the no-op loop (--quick: success requests only)."""
    # valgrind runs each of three arms twice, one after another: minutes on a loaded machine (300 s was once too
    # few with the suite beside it); the timeout only stops a hang
    out = run("bench_events.py", "--instructions", timeout=1200)
    row = next(line for line in out.splitlines() if line.startswith("success "))
    loop, ours, net = (float(x.replace(",", "")) for x in row.split()[1:4])
    assert loop > 0 and ours > loop and net == pytest.approx(ours - loop, abs=1), row
    assert net > 1_000  # ours reads, books and records every request: thousands of instructions, not a few


def test_bench_scrape_quick_prints_ours_and_stock():
    out = run("bench_scrape.py")
    header = next(line for line in out.splitlines() if line.startswith("scenario"))
    assert "ours wall" in header and "stock wall" in header
    assert sum(line.startswith(("A ", "B ")) for line in out.splitlines()) == 10  # 7 scenarios, 3 ratios
    assert re.search(r"^A  under traffic +\d", out, re.M) and re.search(r"^B  under traffic +\d", out, re.M)
    assert re.search(r"^A  after \d+ writes per live worker +\d", out, re.M)
    assert re.search(r"^B / A \(wall\) after \d+ writes +[\d.]+x", out, re.M)
    ours, ours_expected, stock, stock_expected = re.search(
        r"summed over series .*: ours ([\d,]+) \(expected ([\d,]+)\), stock ([\d,]+) \(expected ([\d,]+)\)", out
    ).groups()
    assert ours == ours_expected and stock == stock_expected  # every increment made under traffic, counted
    made = re.search(r"increments made ours ([\d,]+), stock ([\d,]+)", out).groups()
    assert all(int(n.replace(",", "")) > 0 for n in made)
    renders = int(re.search(r"ours : \d+ rounds -> (\d+) rendering", out).group(1))
    assert renders >= 1


def test_bench_proxy_quick_prints_every_arm_and_ours_counted_every_request():
    out = run("bench_proxy.py")
    for arm in ("no callback", "no-op CustomLogger", "litellm_observe, hooks emptied", "litellm_observe"):
        row = next(line for line in out.splitlines() if line.startswith(arm + " "))
        assert len(re.findall(r"[-+]?\d+\.\d+%?", row)) == 5, row
    counted, sent = re.search(r"^litellm_observe: ([\d,]+) requests counted of ([\d,]+) sent", out, re.M).groups()
    assert counted == sent
    hooks, in_gc = re.search(
        r"hooks ([\d.]+) µs per request .*\n.*\n.*cyclic GC.*: ([\d.]+) µs per request", out
    ).groups()
    assert 0 <= float(in_gc) <= float(hooks)  # the collections timed are a part of the hooks' time
    assert re.search(r"^ours adds: -?\d+ µs of the proxy tree's CPU per request", out, re.M)
    assert re.search(r"^  of which LiteLLM calling our hooks.*: -?\d+ µs", out, re.M)
    assert re.search(r"^  and our hooks' work \(ours - hollow\): -?\d+ µs", out, re.M)
    # our hooks were timed inside the workers: about three hook calls per request (pre-call, attempt, success)
    calls = float(
        re.search(
            r"^litellm_observe, counted inside the proxy: hooks [\d.]+ µs per request \(([\d.]+) hook", out, re.M
        ).group(1)
    )
    assert calls >= 2
    # and each hook apart: the three every request goes through
    per_hook = re.search(r"^litellm_observe, counted inside.*\n  per hook, µs per call .*?: (.*)$", out, re.M).group(1)
    timed = dict(re.findall(r"(\w+) ([\d.]+)", per_hook))
    assert {"async_pre_call_hook", "log_pre_api_call", "async_log_success_event"} <= set(timed)
    assert "batch" in timed  # the batches the event loop ran (event_batch_seconds is on by default) are timed too


def test_bench_fleet_quick_scrapes_every_replica_and_times_every_panel_and_rule_group():
    out = run("bench_fleet.py")
    row = re.search(r"^ +3 +(\d+) +([\d,]+) +([\d,]+) ", out, re.M)
    assert row, out
    up, per_replica, head = (int(g.replace(",", "")) for g in row.groups())
    assert up == 3 and per_replica > 1000 and head >= 3 * per_replica  # every replica scraped, all of it kept
    for group in RULE_GROUPS:  # every group of the generated rule files, whatever its interval
        assert re.search(rf"^{re.escape(group)} +\d+\.\d", out, re.M), group
    for uid in ("litellm-overview", "litellm-providers", "litellm-spend", "litellm-exporter-health"):
        assert re.search(rf"^{uid} +\d+ +\d+\.\d", out, re.M), uid
    targets, empty = re.search(r"\((\d+) targets, (\d+) returned no series\)", out).groups()
    assert int(targets) > 50 and int(empty) == 0  # the simulated fleet lights every panel up
