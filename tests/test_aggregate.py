"""aggregate: dead workers folded into archive.lob; collect sums archive and live files;
corrupt files quarantined, counted and logged once."""
from __future__ import annotations

import logging
import os
import shutil

from litellm_observe import store
from litellm_observe.aggregate import CORRUPT_SUFFIX, Aggregator
from litellm_observe.catalogue import CATALOGUE
from litellm_observe.rundir import ARCHIVE
from litellm_observe.store import WorkerStore

SLOTS = {m.name: m.value_slots() for m in CATALOGUE}
REQ = ("requests", ("ok", "openai", "t", "200"))
HIST = ("request_duration_seconds", ("ok", "openai"))
LOAD = ("current_load", ())
REMAINING = ("requests_remaining", ("openai", "ok"))


def worker(d, requests=1.0, load=0.0, remaining=None, when=0.0, hist_bucket=None):
    w = WorkerStore(str(d), SLOTS)
    if requests:
        w.inc(*REQ, requests)
    if load:
        w.add(*LOAD, load, when)
    if remaining is not None:
        w.set(*REMAINING, remaining, when)
    if hist_bucket is not None:
        w.observe(*HIST, hist_bucket, 0.5)
    return w


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
    # more deaths later add on top of the archive
    worker(tmp_path, 10).close()
    assert agg.compact() == 1
    assert agg.collect()[REQ] == [16.0]


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


def test_mostrecent_picks_newest_timestamp(tmp_path):
    a = worker(tmp_path, 0, remaining=50, when=200.0)
    b = worker(tmp_path, 0, remaining=70, when=100.0)
    c = worker(tmp_path, 0, remaining=60, when=150.0)
    assert Aggregator(str(tmp_path)).collect()[REMAINING] == [50.0]
    b.set(*REMAINING, 80.0, 300.0)
    assert Aggregator(str(tmp_path)).collect()[REMAINING] == [80.0]
    for w in (a, b, c):
        w.close()


def test_corrupt_files_skipped_quarantined_counted_logged_once(tmp_path, caplog):
    good = worker(tmp_path, 2)
    zero = tmp_path / "w-1-zero.lob"
    zero.write_bytes(b"")
    dead = worker(tmp_path, 5)
    dead.close()
    truncated = tmp_path / "w-2-trunc.lob"
    with open(dead.path, "rb") as f:
        data = f.read()
    truncated.write_bytes(data[:store.HEADER.size + 5])
    os.unlink(dead.path)
    corrupt = []
    agg = Aggregator(str(tmp_path), on_corrupt=lambda path, err: corrupt.append(os.path.basename(path)))
    with caplog.at_level(logging.ERROR, logger="litellm_observe.exporter"):
        for _ in range(3):
            agg.compact()
            out = agg.collect()
            assert out[REQ] == [2.0]
    assert sorted(corrupt) == ["w-1-zero.lob", "w-2-trunc.lob"]
    logged = [r for r in caplog.records if "unreadable" in r.getMessage()]
    assert len(logged) == 2
    assert {os.path.basename(p) for p in os.listdir(tmp_path) if p.endswith(CORRUPT_SUFFIX)} == {
        "w-1-zero.lob" + CORRUPT_SUFFIX, "w-2-trunc.lob" + CORRUPT_SUFFIX}
    good.close()


def test_corrupt_live_file_in_collect(tmp_path, caplog):
    """A corrupt file not (yet) seen by compact: collect skips and quarantines it once."""
    good = worker(tmp_path, 1)
    holder = worker(tmp_path, 0)  # alive, so compact leaves it; then its bytes are garbage
    with open(holder.path, "r+b") as f:
        f.write(b"JUNK")
    corrupt = []
    agg = Aggregator(str(tmp_path), on_corrupt=lambda p, e: corrupt.append(p))
    with caplog.at_level(logging.ERROR, logger="litellm_observe.exporter"):
        assert agg.collect()[REQ] == [1.0]
        assert agg.collect()[REQ] == [1.0]
    assert corrupt == [holder.path]
    assert len([r for r in caplog.records if "unreadable" in r.getMessage()]) == 1
    good.close()


def test_corrupt_archive_is_quarantined(tmp_path):
    (tmp_path / ARCHIVE).write_bytes(b"garbage!")
    w = worker(tmp_path, 3)
    corrupt = []
    out = Aggregator(str(tmp_path), on_corrupt=lambda p, e: corrupt.append(os.path.basename(p))).collect()
    assert out[REQ] == [3.0] and corrupt == [ARCHIVE]
    w.close()


def test_unknown_metric_records_are_ignored(tmp_path):
    store.write(str(tmp_path / "w-9-x.lob"), [(store.encode_key("not_in_catalogue", ("a",)), (1.0,)),
                                              (b"not json", (1.0,)), (store.encode_key(*REQ), (4.0,))])
    agg = Aggregator(str(tmp_path))
    assert agg.compact() == 1  # never locked: dead
    assert agg.collect() == {REQ: [4.0]}


def test_empty_and_missing_directory(tmp_path):
    assert Aggregator(str(tmp_path)).collect() == {}
    missing = tmp_path / "gone"
    assert Aggregator(str(missing)).worker_files() == []
