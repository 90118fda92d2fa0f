"""store: per-worker mmap file, its parser, and is_dead through the worker's flock."""
from __future__ import annotations

import multiprocessing
import os
import struct

import pytest
from hypothesis import given, settings, strategies as st

from litellm_observe import store
from litellm_observe.catalogue import CATALOGUE
from litellm_observe.store import CorruptStore, WorkerStore

SLOTS = {m.name: m.value_slots() for m in CATALOGUE}


def test_round_trip(tmp_path):
    w = WorkerStore(str(tmp_path), SLOTS)
    w.inc("requests", ("ok", "openai", "t", "200"))
    w.inc("requests", ("ok", "openai", "t", "200"), 2.5)
    w.inc("spend_usd", ("openai", "ok", "t"), 0.25)
    w.observe("request_duration_seconds", ("ok", "openai"), 3, 0.1)
    w.observe("request_duration_seconds", ("ok", "openai"), 3, 0.05)
    w.set("requests_remaining", ("openai", "ok"), 990.0, 123.0)
    w.add("current_load", (), 1.0, 5.0)
    w.add("current_load", (), -1.0, 6.0)
    got = dict(store.read(w.path))
    assert got[store.encode_key("requests", ("ok", "openai", "t", "200"))] == (3.5,)
    assert got[store.encode_key("spend_usd", ("openai", "ok", "t"))] == (0.25,)
    hist = got[store.encode_key("request_duration_seconds", ("ok", "openai"))]
    assert len(hist) == SLOTS["request_duration_seconds"]
    assert hist[3] == 2.0 and sum(hist[:-1]) == 2.0 and hist[-1] == pytest.approx(0.15)
    assert got[store.encode_key("requests_remaining", ("openai", "ok"))] == (990.0, 123.0)
    assert got[store.encode_key("current_load", ())] == (0.0, 6.0)
    assert len(got) == 5
    assert os.path.basename(w.path).startswith(store.WORKER_PREFIX) and w.path.endswith(store.SUFFIX)
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".new")]
    w.close()


def test_unicode_keys(tmp_path):
    w = WorkerStore(str(tmp_path), SLOTS)
    labels = ('模型🙂', 'a"b\\c', "t", "200")
    w.inc("requests", labels)
    assert dict(store.read(w.path)) == {store.encode_key("requests", labels): (1.0,)}


def test_growth_past_initial_size(tmp_path):
    w = WorkerStore(str(tmp_path), SLOTS)
    n = 3000  # ~3000 x (8 + ~60 key + 8) bytes: well past 64 KiB
    for i in range(n):
        w.inc("requests", (f"model-{i}", "openai", "team", "200"), i)
    w.observe("request_duration_seconds", ("late", "openai"), 0, 1.0)
    assert os.path.getsize(w.path) > store.INITIAL_SIZE
    got = dict(store.read(w.path))
    assert len(got) == n + 1
    assert all(got[store.encode_key("requests", (f"model-{i}", "openai", "team", "200"))] == (float(i),)
               for i in range(n))
    # increments after growth land in the existing records
    w.inc("requests", ("model-0", "openai", "team", "200"), 7)
    assert dict(store.read(w.path))[store.encode_key("requests", ("model-0", "openai", "team", "200"))] == (7.0,)


def test_write_then_read(tmp_path):
    records = [(store.encode_key("requests", ("a",)), (1.0,)), (b"x" * 13, (1.0, 2.0, 3.0)), (b"", ())]
    path = str(tmp_path / "archive.lob")
    store.write(path, records)
    assert store.read(path) == records


def _valid_bytes(tmp_path) -> tuple[bytes, int]:
    w = WorkerStore(str(tmp_path), SLOTS)
    w.inc("requests", ("ok", "openai", "t", "200"))
    w.observe("request_duration_seconds", ("ok", "openai"), 3, 0.1)
    with open(w.path, "rb") as f:
        data = f.read()
    used = struct.unpack_from("<Q", data, 8)[0]
    return data, used


def test_parse_rejects_zero_bytes_and_short_header():
    for data in (b"", b"LOB1", b"LOB1\0\0\0\0"):
        with pytest.raises(CorruptStore):
            store.parse(data)


def test_parse_rejects_truncated(tmp_path):
    data, used = _valid_bytes(tmp_path)
    assert len(store.parse(data)) == 2
    for cut in (used - 1, used - 8, store.HEADER.size + 3, 20):
        with pytest.raises(CorruptStore):
            store.parse(data[:cut])


def test_parse_rejects_bad_magic_and_bad_used(tmp_path):
    data, used = _valid_bytes(tmp_path)
    with pytest.raises(CorruptStore, match="magic"):
        store.parse(b"XXXX" + data[4:])
    for bad_used in (len(data) + 1, 3, 2**63):
        with pytest.raises(CorruptStore):
            store.parse(data[:8] + struct.pack("<Q", bad_used) + data[16:])
    # `used` pointing into the middle of a record
    with pytest.raises(CorruptStore):
        store.parse(data[:8] + struct.pack("<Q", used - 4) + data[16:])


def test_parse_rejects_record_running_past_end():
    body = bytearray(store.HEADER.size) + store.RECORD.pack(3, 5000) + b"abc" + b"\0" * 5
    store.HEADER.pack_into(body, 0, store.MAGIC, 0, len(body))
    with pytest.raises(CorruptStore):
        store.parse(bytes(body))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_parse_of_garbage_raises_only_corrupt_store(data):
    try:
        store.parse(data)
    except CorruptStore:
        pass


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_parse_of_mutated_file_raises_only_corrupt_store(tmp_path_factory, data):
    raw, used = _valid_bytes(tmp_path_factory.mktemp("s"))
    raw = bytearray(raw[:used])
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    try:
        out = store.parse(bytes(raw))
    except CorruptStore:
        return
    assert isinstance(out, list)


def _hold_store_then_exit(directory, q, go):
    w = WorkerStore(directory, SLOTS)
    w.inc("requests", ("ok", "openai", "t", "200"))
    q.put(w.path)
    go.wait(60)  # hold the lock until told to exit


def test_is_dead_after_child_exits(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    q, go = ctx.Queue(), ctx.Event()
    child = ctx.Process(target=_hold_store_then_exit, args=(str(tmp_path), q, go))
    child.start()
    try:
        path = q.get(timeout=60)
        assert not store.is_dead(path)  # the child is alive and holds its lock
        go.set()
        child.join(60)
        assert child.exitcode == 0
        assert store.is_dead(path)
        assert dict(store.read(path)) == {store.encode_key("requests", ("ok", "openai", "t", "200")): (1.0,)}
    finally:
        go.set()
        child.join(10)


def test_is_dead_own_store_and_missing(tmp_path):
    w = WorkerStore(str(tmp_path), SLOTS)
    assert not store.is_dead(w.path)  # held by this process: flock is per open file, not per process
    assert not store.is_dead(str(tmp_path / "gone.lob"))
    w.close()
    assert store.is_dead(w.path)
    unlocked = tmp_path / "w-never-locked.lob"
    unlocked.write_bytes(b"")
    assert store.is_dead(str(unlocked))
