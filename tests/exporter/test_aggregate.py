"""aggregate: dead writers folded into archive.lob; exact sums; transient errors never lose or lower a
value; only a dead writer's corrupt file is set aside."""

from __future__ import annotations

import errno
import logging
import math
import os
import shutil
import struct
import tempfile

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from litellm_observe.catalogue import BY_NAME
from litellm_observe.exporter import aggregate
from litellm_observe.exporter.aggregate import QUARANTINED, RETRIED, Aggregator, exact_sum
from litellm_observe.rundir import samplefile
from litellm_observe.rundir.files import write_atomically
from litellm_observe.rundir.layout import ARCHIVE, CORRUPT_SUFFIX, NEW_SUFFIX, Directory
from litellm_observe.rundir.writer import SampleWriter

REQ = ("requests", ("ok", "openai", "t", "chat_completions", "200"))
SPEND = ("spend_usd", ("openai", "ok", "t"))
HIST = ("request_duration_seconds", ("ok", "openai", "chat_completions"))
LOAD = ("current_load", ("chat_completions",))
REMAINING = ("requests_remaining", ("openai", "ok"))


def worker(d, requests=1.0, load=0.0, remaining=None, when=0.0, hist_bucket=None):
    w = SampleWriter(str(d))
    if requests:
        w.inc(*REQ, requests)
    if load:
        w.add(*LOAD, load, when)
    if remaining is not None:
        w.set(*REMAINING, remaining, when)
    if hist_bucket is not None:
        w.observe(*HIST, hist_bucket, 0.5)
    return w


def key(metric, labels):
    return samplefile.encode_key(metric, BY_NAME[metric].schema, labels)


def planted(path, *records):
    """A file written whole, never locked: a dead writer's."""
    write_atomically(str(path), samplefile.encode(list(records)))


class Errors:
    def __init__(self):
        self.seen = []

    def __call__(self, outcome, path, err):
        self.seen.append((outcome, os.path.basename(path)))


@pytest.fixture
def fail_open(monkeypatch):
    """Make os.open fail with an errno for paths whose name ends with a suffix."""
    real = os.open
    rules = {}

    def fake(path, *args, **kwargs):
        for suffix, code in rules.items():
            if str(path).endswith(suffix):
                raise OSError(code, os.strerror(code), str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake)
    return rules


def test_live_workers_are_summed(tmp_path):
    w1, w2 = worker(tmp_path, 2, load=1, hist_bucket=0), worker(tmp_path, 3, load=2, hist_bucket=0)
    out = Aggregator(str(tmp_path)).collect()
    assert out[REQ] == [5.0]
    assert out[LOAD] == [3.0]
    assert out[HIST][0] == 2.0 and out[HIST][-1] == 1.0
    w1.close(), w2.close()


def test_dead_worker_counters_survive_compaction_and_gauges_drop_out(tmp_path):
    live = worker(tmp_path, 1, load=1, remaining=10, when=1.0)
    dead = worker(tmp_path, 4, load=5, remaining=99, when=2.0, hist_bucket=2)
    dead.close()  # its lock is released: as if the process exited
    agg = Aggregator(str(tmp_path))
    assert agg.compact() == 1
    assert not os.path.exists(dead.path)
    assert os.path.exists(os.path.join(tmp_path, ARCHIVE))
    out = agg.collect()
    assert out[REQ] == [5.0]
    assert out[HIST][2] == 1.0
    assert out[LOAD] == [1.0]  # the dead worker's in-flight share is gone
    assert out[REMAINING] == [10.0]  # the dead worker's newer gauge is gone with it
    live.close()


def test_compaction_is_idempotent(tmp_path):
    for n in (1, 2, 3):
        worker(tmp_path, n, hist_bucket=1).close()
    agg = Aggregator(str(tmp_path))
    assert agg.compact() == 3
    first = agg.collect()
    assert agg.compact() == 0
    assert agg.collect() == first
    assert first[REQ] == [6.0] and first[HIST][1] == 3.0
    worker(tmp_path, 10).close()
    assert agg.compact() == 1
    assert agg.collect()[REQ] == [16.0]


def test_sums_do_not_depend_on_what_is_folded_yet(tmp_path):
    amounts = [0.1, 1e16, 0.3, -0.0, 1e-9, 7.7, 0.1]
    writers = []
    for a in amounts:
        w = SampleWriter(str(tmp_path))
        w.inc(*SPEND, a)
        writers.append(w)
    agg = Aggregator(str(tmp_path))
    exact = math.fsum(amounts)
    assert agg.collect()[SPEND] == [exact]
    for w in writers[:-1]:  # fold one at a time: the total never moves by an ulp
        w.close()
        agg.compact()
        assert agg.collect()[SPEND] == [exact]


def test_crash_between_archive_and_unlink_does_not_count_twice(tmp_path):
    w = worker(tmp_path, 7)
    w.close()
    saved = str(tmp_path / "saved")
    shutil.copy(w.path, saved)
    agg = Aggregator(str(tmp_path))
    assert agg.compact() == 1
    shutil.copy(saved, w.path)  # the file the crashed compaction had not yet deleted
    os.unlink(saved)
    assert agg.compact() == 1  # removed, not folded again
    assert not os.path.exists(w.path)
    assert agg.collect()[REQ] == [7.0]


def test_abandoned_new_file_is_removed_and_a_locked_one_left(tmp_path):
    (tmp_path / ("w-1-dead.lob" + NEW_SUFFIX)).write_bytes(b"")
    live = worker(tmp_path, 1)
    Aggregator(str(tmp_path)).compact()
    assert not (tmp_path / ("w-1-dead.lob" + NEW_SUFFIX)).exists()
    assert os.path.exists(live.path)
    live.close()


def test_mostrecent_picks_newest_timestamp(tmp_path):
    a = worker(tmp_path, 0, remaining=50, when=200.0)
    b = worker(tmp_path, 0, remaining=70, when=100.0)
    c = worker(tmp_path, 0, remaining=60, when=150.0)
    assert Aggregator(str(tmp_path)).collect()[REMAINING] == [50.0]
    b.set(*REMAINING, 80.0, 300.0)
    assert Aggregator(str(tmp_path)).collect()[REMAINING] == [80.0]
    for w in (a, b, c):
        w.close()


def test_dead_writers_corrupt_files_quarantined_counted_logged_once(tmp_path, caplog):
    good = worker(tmp_path, 2)
    (tmp_path / "w-1-zero.lob").write_bytes(b"")
    full = samplefile.encode([(key(*REQ), (5.0,))])
    (tmp_path / "w-2-trunc.lob").write_bytes(full[: samplefile.HEADER.size + 5] + bytes(3))
    errors = Errors()
    agg = Aggregator(str(tmp_path), on_error=errors)
    with caplog.at_level(logging.ERROR, logger="litellm_observe.exporter"):
        for _ in range(3):
            agg.compact()
            assert agg.collect()[REQ] == [2.0]
    assert sorted(errors.seen) == [(QUARANTINED, "w-1-zero.lob"), (QUARANTINED, "w-2-trunc.lob")]
    assert len([r for r in caplog.records if "unreadable" in r.getMessage()]) == 2
    assert sorted(p for p in os.listdir(tmp_path) if p.endswith(CORRUPT_SUFFIX)) == [
        "w-1-zero.lob" + CORRUPT_SUFFIX,
        "w-2-trunc.lob" + CORRUPT_SUFFIX,
    ]
    good.close()


def test_a_live_writers_file_is_never_set_aside(tmp_path):
    """A reader can catch a live file mid-append or see garbage: retry, serve the last values."""
    holder = worker(tmp_path, 3)
    errors = Errors()
    agg = Aggregator(str(tmp_path), on_error=errors)
    assert agg.collect()[REQ] == [3.0]
    with open(holder.path, "r+b") as f:
        original = f.read(16)
        f.seek(8)
        f.write(struct.pack("<Q", 3))  # `used` garbage
    fresh = Aggregator(str(tmp_path), on_error=errors)  # and one that must open it now: bad magic too
    with open(holder.path, "r+b") as f:
        f.write(b"JUNK")
    for _ in range(3):
        agg.compact()
        assert agg.collect()[REQ] == [3.0]  # the last good value, not 0
        assert REQ not in fresh.collect()  # nothing read yet: nothing to serve, nothing set aside
    assert os.path.exists(holder.path) and not [p for p in os.listdir(tmp_path) if p.endswith(CORRUPT_SUFFIX)]
    assert {o for o, _ in errors.seen} == {RETRIED}
    with open(holder.path, "r+b") as f:
        f.write(original)
    holder.inc(*REQ)
    assert agg.collect()[REQ] == [4.0] and fresh.collect()[REQ] == [4.0]
    holder.close()


@pytest.mark.parametrize("code", [errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.EINTR])
def test_transient_error_on_a_worker_file_never_lowers_or_discards(tmp_path, fail_open, monkeypatch, code):
    live, other = worker(tmp_path, 5, load=2), worker(tmp_path, 1)
    errors = Errors()
    agg = Aggregator(str(tmp_path), on_error=errors)
    assert agg.collect()[REQ] == [6.0]
    for i in range(2000):  # the live file grows: its reader must map it again ...
        live.inc("requests", (f"m{i}", "openai", "t", "chat_completions", "200"))
    real_mmap = samplefile.mmap.mmap

    def no_memory(*args, **kwargs):
        raise OSError(errno.ENOMEM, "Cannot allocate memory")

    monkeypatch.setattr(samplefile.mmap, "mmap", no_memory)  # ... and cannot
    fail_open[os.path.basename(live.path)] = code  # nor open it again
    other.inc(*REQ, 10)
    out = agg.collect()
    monkeypatch.setattr(samplefile.mmap, "mmap", real_mmap)  # from here only opening the live file fails
    assert out[REQ] == [16.0]  # the readable file moved on; the unreadable one keeps its last value
    assert out[LOAD] == [2.0]  # a gauge keeps its last value rather than drop the unread share
    live.close()  # even dead, an unreadable file is not folded (or lost) until it can be read
    assert agg.compact() == 0
    assert os.path.exists(live.path)
    del fail_open[os.path.basename(live.path)]
    assert agg.compact() == 1
    assert agg.collect()[REQ] == [16.0] and ev_total(agg.collect(), "requests") == 2016.0
    assert (RETRIED, os.path.basename(live.path)) in errors.seen
    assert not [o for o, _ in errors.seen if o == QUARANTINED]
    other.close()


def ev_total(series, metric):
    return sum(v[0] for (m, _), v in series.items() if m == metric)


def test_transient_error_on_an_unchanged_archive_uses_the_copy_last_read(tmp_path, fail_open):
    worker(tmp_path, 4).close()
    agg = Aggregator(str(tmp_path))
    agg.compact()
    assert agg.collect()[REQ] == [4.0]
    late = worker(tmp_path, 3)
    late.close()
    fail_open[ARCHIVE] = errno.EMFILE
    assert agg.compact() == 1  # the archive provably did not change since it was read: fold onto that copy
    del fail_open[ARCHIVE]
    assert agg.collect()[REQ] == [7.0]


def test_transient_error_on_a_changed_archive_folds_nothing_and_lowers_nothing(tmp_path, fail_open):
    worker(tmp_path, 4).close()
    agg = Aggregator(str(tmp_path))
    agg.compact()
    assert agg.collect()[REQ] == [4.0]
    worker(tmp_path, 2).close()
    assert Aggregator(str(tmp_path)).compact() == 1  # another reader (a sidecar) folds: the archive changes
    late = worker(tmp_path, 3)
    late.close()
    fail_open[ARCHIVE] = errno.EMFILE
    assert agg.compact() == 0  # folding now would write an archive without the counts it cannot read
    assert os.path.exists(late.path)
    # the archive as last read (4) and the files readable now (3): the 2 folded meanwhile are not
    # seen yet, but nothing is lower than before or more than was written
    assert agg.collect()[REQ] == [7.0]
    del fail_open[ARCHIVE]
    assert agg.compact() == 1
    assert agg.collect()[REQ] == [9.0]


def test_corrupt_archive_is_quarantined(tmp_path):
    (tmp_path / ARCHIVE).write_bytes(b"garbage!")
    w = worker(tmp_path, 3)
    errors = Errors()
    out = Aggregator(str(tmp_path), on_error=errors).collect()
    assert out[REQ] == [3.0] and errors.seen == [(QUARANTINED, ARCHIVE)]
    w.close()


def test_records_of_unknown_metrics_or_another_schema_are_skipped(tmp_path):
    planted(
        tmp_path / "w-9-x.lob",
        (samplefile.encode_key("not_in_catalogue", "x", ("a",)), (1.0,)),
        (b"not json", (1.0,)),
        (samplefile.encode_key("requests", "0000beef", REQ[1]), (100.0,)),  # another catalogue's requests
        (key(*REQ), (4.0,)),
    )
    agg = Aggregator(str(tmp_path))
    assert agg.compact() == 1  # never locked: dead
    assert agg.collect() == {REQ: [4.0]}


def test_sums_past_the_float_range_are_inf_for_that_series_alone(tmp_path):
    a, b = SampleWriter(str(tmp_path)), SampleWriter(str(tmp_path))
    a.inc(*SPEND, 1e308)
    b.inc(*SPEND, 1e308)
    a.inc(*REQ, 2)
    agg = Aggregator(str(tmp_path))
    out = agg.collect()
    assert out[SPEND] == [math.inf] and out[REQ] == [2.0]
    b.close()
    assert agg.compact() == 1  # folding a share of an infinite sum works too
    out = agg.collect()
    assert out[SPEND] == [math.inf] and out[REQ] == [2.0]
    planted(tmp_path / "w-8-inf.lob", (key(*REQ), (math.inf,)))
    assert agg.compact() == 1
    assert agg.collect()[REQ] == [math.inf]
    a.close()


def test_exact_sum_never_raises():
    assert exact_sum([1e308, 1e308]) == math.inf
    assert exact_sum([-1e308, -1e308]) == -math.inf
    assert math.isnan(exact_sum([math.inf, -math.inf]))
    assert exact_sum([0.1] * 10) == 1.0


def test_fold_directories_keeps_totals_exact_and_removes_them(tmp_path):
    base, runs = tmp_path / "base", []
    for i in range(3):
        run = Directory(str(base / f"run-{100 + i}-1"))
        os.makedirs(run.path)
        w = SampleWriter(run)
        w.inc(*SPEND, [0.1, 1e16, 0.3][i])
        w.close()
        runs.append(Aggregator(run))
    top = Aggregator(Directory(str(base)))
    before = top.collect(runs)[SPEND]
    assert before == [math.fsum([0.1, 1e16, 0.3])]
    assert top.fold_directories(runs[:2], lambda d: shutil.rmtree(d.path)) == 2
    assert top.collect(runs[2:])[SPEND] == before
    assert sorted(os.listdir(base)) == sorted([ARCHIVE, "compact.lock", "run-102-1"])


def test_empty_and_missing_directory(tmp_path):
    assert Aggregator(str(tmp_path)).collect() == {}
    assert Aggregator(str(tmp_path / "gone")).collect() == {}


# ---- a directory removed under a live run (issue 20) ----------------------------------------------------------
def _series(agg):
    return agg.collect()


def test_a_removed_directory_serves_its_last_values_and_restores_them_when_made_again(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    alive = worker(d, requests=3)  # a live writer
    dead = worker(d, requests=4, hist_bucket=2)
    dead.close()  # a dead writer, folded into the archive
    agg = Aggregator(str(d))
    second = Aggregator(str(d))  # another reader of the same run (a sidecar), seeing the same removal
    agg.compact()
    before = _series(agg)
    assert before[REQ] == [7.0] and _series(second)[REQ] == [7.0] and os.path.exists(d / ARCHIVE)
    shutil.rmtree(d)  # a cleaner that ignores locks
    assert _series(agg) == before  # missing: the last values stand
    d.mkdir()  # made again by the run's processes
    assert _series(agg)[REQ] == [7.0]  # archive restored, the live file stands in until published again
    assert _series(second)[REQ] == [7.0]  # restored once: the second reader adds nothing
    alive.republish(Directory(str(d)))
    alive.inc(*REQ, 1)
    assert _series(agg)[REQ] == [8.0] and _series(second)[REQ] == [8.0]
    # a writer that died while the directory was gone never publishes again: its stand-in is folded once
    lost = worker(d, requests=2)
    assert _series(agg)[REQ] == [10.0]
    shutil.rmtree(d)
    assert _series(agg)[REQ] == [10.0]
    d.mkdir()
    lost.close()  # died meanwhile
    alive.republish(Directory(str(d)))
    assert _series(agg)[REQ] == [10.0]
    for name in list(agg._orphans):  # VANISHED_SECONDS later
        agg._orphans[name] = (0.0, agg._orphans[name][1])
    agg.compact()
    data = _series(agg)
    assert data[REQ] == [10.0] and not agg._orphans
    assert os.path.basename(lost.path) in _merged_names(d)  # folded under its name: never twice
    alive.close()


def _merged_names(d) -> set:
    from litellm_observe.exporter.aggregate import MERGED

    names = set()
    for key, _ in samplefile.read(str(d / ARCHIVE)).records:
        metric, _, labels = samplefile.decode_key(key)
        if metric == MERGED:
            names.add(labels[0])
    return names


def test_collect_returns_its_last_dict_only_while_no_file_changed(tmp_path):
    live = worker(tmp_path, 2, hist_bucket=0)
    worker(tmp_path, 3).close()
    agg = Aggregator(str(tmp_path))
    agg.compact()
    first = agg.collect()
    assert agg.collect() is first  # archive and live file unchanged: nothing combined again
    live.inc(*REQ, 1.0)
    second = agg.collect()
    assert second is not first and second[REQ] == [6.0] and first[REQ] == [5.0]
    assert agg.collect() is second
    other = worker(tmp_path, 4)  # a new file is a change
    assert agg.collect()[REQ] == [10.0]
    other.close()
    assert agg.compact() == 1  # a new archive is a change
    third = agg.collect()
    assert third[REQ] == [10.0] and agg.collect() is third
    live.close()


def test_collect_with_children_or_after_an_incomplete_read_combines_again(tmp_path, fail_open):
    live = worker(tmp_path, 2)
    agg = Aggregator(str(tmp_path))
    child_dir = tmp_path / "child"
    child_dir.mkdir()
    child = Aggregator(str(child_dir))
    first = agg.collect([child])
    assert agg.collect([child]) is not first and agg.collect([child]) == first
    fail_open[os.path.basename(live.path)] = errno.EMFILE
    agg._forget(live.path)  # its reader reopens the file: that fails now
    partial = agg.collect()
    assert partial[REQ] == [2.0]  # the last values, served
    fail_open.clear()
    live.inc(*REQ, 1.0)
    assert agg.collect()[REQ] == [3.0]
    live.close()


def test_a_scrape_that_finds_one_record_changed_combines_only_its_series_again(tmp_path, monkeypatch):
    a, b = worker(tmp_path, 2.0), worker(tmp_path, 3.0)
    a.inc(*SPEND, 0.5)
    agg = Aggregator(str(tmp_path))
    first = agg.collect()
    combined = []
    monkeypatch.setattr(aggregate, "combine_one", lambda key, *rest: combined.append(key) or [0.0])
    b.inc(*REQ, 1.0)
    second = agg.collect()
    assert combined == [REQ] and second[SPEND] is first[SPEND]  # the other series: the very list
    b.inc(*SPEND, 0.25)  # a series b never wrote: a record appended to b's file
    agg.collect()
    assert combined == [REQ, SPEND]
    monkeypatch.undo()
    b.inc(*REQ, 1.0)
    b.inc(*SPEND, 0.25)
    assert agg.collect() == Aggregator(str(tmp_path)).collect() == {REQ: [7.0], SPEND: [1.0]}
    a.close()
    b.close()


def test_a_gauge_a_planted_archive_holds_reads_the_same_stepped_or_whole(tmp_path):
    """No archive written here holds a gauge (dead writers' gauges drop out); one planted by hand does, and a
    scrape that recombines only changed series serves it as a whole read would."""
    gauge = ("worker_resident_memory_max_bytes", ())
    planted(tmp_path / ARCHIVE, (key(*gauge), (7.0, 0.0)))
    w = worker(tmp_path)
    w.set(*gauge, 3.0, 1.0)
    agg = Aggregator(str(tmp_path))
    agg.collect()
    w.set(*gauge, 9.0, 2.0)
    assert agg.collect()[gauge] == Aggregator(str(tmp_path)).collect()[gauge]
    w.close()


_SERIES = (REQ, SPEND, ("requests", ("other", "openai", "t", "chat_completions", "200")))
# one gauge of each way workers' values combine; a "set" op writes one at a time of only three values, so that
# two workers' latest writes tie (the first in read order wins)
_GAUGES = (
    ("budget_max_usd", ("key", "k")),
    ("worker_resident_memory_max_bytes", ()),
    ("workers_resident_memory_bytes", ()),
    ("budget_max_usd", ("key", "j")),
)


_ONE = 1.0
# a series only folded writers wrote, folded again: the archive's halves change, nothing else does
_REFOLDED = [("new", 0, 0, _ONE), ("inc", 0, 0, _ONE), ("die", 0, 0, _ONE), ("compact", 0, 0, _ONE)] * 2
_REFOLDED.insert(4, ("collect", 0, 0, _ONE))
# a series a live writer keeps unchanged while the archive's halves of it change
_BESIDE_A_LIVE_ONE = [("new", 0, 0, _ONE), ("inc", 0, 0, _ONE)] + [
    ("new", 0, 0, _ONE),
    ("inc", 1, 0, 2.0),
    ("die", 1, 0, _ONE),
    ("compact", 0, 0, _ONE),
    ("collect", 0, 0, _ONE),
] * 2

# two writers' latest sets of a gauge tie (when 2 = int(2.0) % 3 = int(5.0) % 3): the first in read order wins.
# Two gauges, set by the two writers in opposite orders: whichever file is read first (names are random), one
# of them gains, in a scrape that recombines only it, a contribution that comes before the one it had
_TIED = [("new", 0, 0, _ONE), ("new", 0, 0, _ONE), ("inc", 0, 0, _ONE), ("inc", 1, 0, _ONE)]  # both files made
_TIED += [("set", 1, 0, 2.0), ("set", 0, 0, 5.0), ("set", 0, 3, 2.0), ("set", 1, 3, 5.0)]


@settings(max_examples=200, deadline=None)
@example(_REFOLDED)
@example(_BESIDE_A_LIVE_ONE)
@example(_TIED)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["new", "inc", "observe", "set", "die", "compact", "collect"]),
            st.integers(0, 3),
            st.integers(0, len(_GAUGES) - 1),
            st.floats(min_value=1e-9, max_value=1e12, allow_nan=False),
        ),
        max_size=40,
    )
)
def test_what_collect_reuses_equals_a_fresh_read_bit_for_bit(ops):
    """collect() keeps the last sums of every series whose contributions are unchanged, and the archive's halves
    apart from the live files' records (Snapshot.base); where only some records changed, it combines only their
    series again (Aggregator._stepped); a fresh Aggregator has nothing to reuse. After any sequence of writes,
    gauge sets, writer deaths, folds and collects, both give the same bits for every series."""
    d = tempfile.mkdtemp(prefix="agg-reuse-")
    live: list[SampleWriter] = []
    agg = Aggregator(d)
    try:
        for op, who, series, amount in ops:
            if op == "new" and len(live) < 4:
                live.append(SampleWriter(d))
            elif op in ("inc", "observe", "set") and live:
                w = live[who % len(live)]
                if op == "inc":
                    w.inc(*_SERIES[series % len(_SERIES)], amount)
                elif op == "observe":
                    w.observe(*HIST, who, amount)
                else:
                    w.set(*_GAUGES[series], amount, float(int(amount) % 3))
            elif op == "die" and live:
                live.pop(who % len(live)).close()
            elif op == "compact":
                agg.compact()
            elif op == "collect":
                agg.collect()  # once more with nothing changed, then as after every op
            got, fresh = agg.collect(), Aggregator(d).collect()
            assert got.keys() == fresh.keys()
            for k in got:
                assert [struct.pack("<d", v) for v in got[k]] == [struct.pack("<d", v) for v in fresh[k]], (op, k)
    finally:
        for w in live:
            w.close()
        shutil.rmtree(d, ignore_errors=True)


def test_an_unchanged_archive_is_not_read_again_and_one_written_in_place_is(tmp_path, monkeypatch):
    """The archive is replaced whole, never written in place: while its identity (inode, size, mtime) is the one
    last read, its records as last read stand without copying and comparing its bytes; a change of identity,
    even in place, reads it again."""
    planted(tmp_path / ARCHIVE, (key(*REQ), (5.0, 0.0)))
    agg = Aggregator(str(tmp_path))
    reads = []
    read = samplefile.FileReader.read
    monkeypatch.setattr(samplefile.FileReader, "read", lambda self: reads.append(self.path) or read(self))
    assert agg.collect()[REQ] == [5.0]
    assert agg.collect()[REQ] == [5.0] and len(reads) == 1
    data = bytearray((tmp_path / ARCHIVE).read_bytes())
    at = data.rindex(struct.pack("<d", 5.0))
    data[at : at + 8] = struct.pack("<d", 6.0)
    with open(tmp_path / ARCHIVE, "r+b") as f:  # in place: same inode
        f.write(data)
    os.utime(tmp_path / ARCHIVE, ns=(1, 1))
    assert agg.collect()[REQ] == [6.0] and len(reads) == 2
