"""samplefile: the format, its parser on hostile bytes, and single-store writes a concurrent reader never sees torn."""

from __future__ import annotations

import errno
import multiprocessing
import os
import struct
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from litellm_observe.rundir import samplefile as sf

KEY = sf.encode_key("requests", "abcd1234", ("ok", "openai", "t", "chat_completions", "200"))


def _mapped(tmp_path, size=4096) -> tuple[sf.MappedFile, str]:
    path = str(tmp_path / "w-1.lob")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    return sf.MappedFile(fd, size), path


def test_round_trip_through_a_mapped_file(tmp_path):
    f, path = _mapped(tmp_path)
    i = f.append(KEY, 3)
    f.put(i, 2.5)
    f.put(i + 2, 7.0)
    j = f.append(b'["x","s",["\xc3\xa9"]]', 1)
    f.put(j, 1.0)
    parsed = sf.read(path)
    assert parsed.complete
    assert parsed.records == [(KEY, (2.5, 0.0, 7.0)), (b'["x","s",["\xc3\xa9"]]', (1.0,))]
    assert sf.decode_key(KEY) == ("requests", "abcd1234", ("ok", "openai", "t", "chat_completions", "200"))


def test_growth_keeps_every_record_and_value(tmp_path):
    f, path = _mapped(tmp_path, 4096)
    index = [f.append(sf.encode_key("m", "s", (str(n),)), 2) for n in range(500)]
    for n, i in enumerate(index):
        f.put(i, float(n))
    assert os.path.getsize(path) > 4096
    records = sf.read(path).records
    assert [v[0] for _, v in records] == [float(n) for n in range(500)]


def test_growth_failure_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    f, path = _mapped(tmp_path, 4096)
    i = f.append(KEY, 1)
    f.put(i, 5.0)

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    with pytest.raises(OSError) as e:
        for n in range(1000):  # until the file must grow
            f.append(sf.encode_key("m", "s", (str(n),)), 8)
    assert e.value.errno == errno.ENOSPC
    f.put(i, 6.0)  # the existing record keeps counting
    parsed = sf.read(path)
    assert parsed.complete and parsed.records[0] == (KEY, (6.0,))


def test_encode_then_parse():
    records = [(KEY, (1.0,)), (b"x" * 13, (1.0, 2.0, 3.0)), (b"", ())]
    parsed = sf.parse(sf.encode(records))
    assert parsed.complete and parsed.records == records


@pytest.mark.parametrize("data", [b"", b"LOB2", b"LOB2\1\0\0\0", b"LOB1" + bytes(20), b"XXXX" + bytes(20)])
def test_header_that_is_not_ours_raises(data):
    with pytest.raises(sf.CorruptSampleFile):
        sf.parse(data)


def test_used_past_the_end_or_mid_record_is_an_incomplete_parse():
    data = sf.encode([(KEY, (1.0,)), (KEY, (2.0,))])
    used = len(data)
    grown = data[:8] + struct.pack("<Q", used + 64) + data[16:]
    assert not sf.parse(grown).complete
    mid = data[:8] + struct.pack("<Q", used - 8) + data[16:]
    parsed = sf.parse(mid)
    assert not parsed.complete and parsed.records == [(KEY, (1.0,))]  # the good prefix


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_raises_only_corrupt_sample_file(data):
    try:
        parsed = sf.parse(data)
    except sf.CorruptSampleFile:
        return
    assert isinstance(parsed.records, list)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_file_parses_or_raises_corrupt(data):
    raw = bytearray(sf.encode([(KEY, (1.0, 2.0)), (b'["y","s",[]]', (3.0,))]))
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        parsed = sf.parse(bytes(raw))
    except sf.CorruptSampleFile:
        return
    assert all(isinstance(k, bytes) and isinstance(v, tuple) for k, v in parsed.records)


@pytest.mark.parametrize("key", [b"", b"not json", b'["m","s"]', b'["m","s",[1]]', b'[1,"s",[]]', b'{"a":1}'])
def test_keys_of_another_shape_are_refused(key):
    assert sf.decode_key(key) is None


# ---- the single-store invariant, attacked -------------------------------------------------------------------
def _writer(path: str, ready, stop) -> None:
    f = sf.MappedFile(os.open(path + ".new", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600), 4096)
    i = f.append(KEY, 1)
    os.rename(path + ".new", path)
    n = 0
    ready.set()
    while not stop.is_set():
        for _ in range(10_000):
            n += 1
            f.put(i, float(n))  # 1, 2, 3, ...: a reader must never see a value go down
        if n % 50_000 == 0:  # append now and then: `used` moves and the file grows while the reader reads
            f.append(sf.encode_key("m", "s", (str(n),)), 1)


def test_a_reader_never_sees_a_value_go_down_while_a_writer_runs_at_full_speed(tmp_path):
    """struct.pack_into zero-fills before it writes: that read as 0 thousands of times in 700,000 reads."""
    seconds = float(os.environ.get("TEST_TORTURE_SECONDS", "3"))
    path = str(tmp_path / "w-torture.lob")
    ctx = multiprocessing.get_context("fork")
    ready, stop = ctx.Event(), ctx.Event()
    writer = ctx.Process(target=_writer, args=(path, ready, stop))
    writer.start()
    try:
        assert ready.wait(30)
        last, reads, drops = 0.0, 0, []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            parsed = sf.read(path)
            value = parsed.records[0][1][0]
            if value < last:
                drops.append((last, value))
            last = value
            reads += 1
        assert reads > 100 and last > 0
        assert drops == [], f"{len(drops)} of {reads} reads went down, e.g. {drops[:3]}"
    finally:
        stop.set()
        writer.join(30)


def test_a_reader_returns_its_last_read_while_the_bits_are_unchanged(tmp_path):
    f, path = _mapped(tmp_path)
    a = f.append(sf.encode_key("m", "s", ("x",)), 2)
    f.append(sf.encode_key("m", "s", ("y",)), 1)
    reader = sf.FileReader(path)
    first = reader.read()
    assert reader.read() is first  # nothing written: the same object
    for value in (-0.0, 0.0, 5.0, float("nan"), 0.0):  # == would call -0.0 and 0.0 the same, and NaN not itself
        f.put(a, value)
        got = reader.read()
        assert got is not first and struct.pack("<d", got.records[0][1][0]) == struct.pack("<d", value)
        assert reader.read() is got
        first = got
    f.append(sf.encode_key("m", "s", ("z",)), 1)  # a new record is a change too
    assert [k for k, _ in reader.read().records][-1] == sf.encode_key("m", "s", ("z",))
    reader.close()
    f.close()


def test_a_reader_reuses_each_unchanged_record_and_loads_each_changed_one(tmp_path):
    f, path = _mapped(tmp_path)
    slots = [f.append(sf.encode_key("m", "s", (name,)), 2) for name in ("x", "y", "z")]
    reader = sf.FileReader(path)
    first = reader.read().records
    f.put(slots[1] + 1, 3.0)
    second = reader.read().records
    assert second[0] is first[0] and second[2] is first[2]  # unchanged: the very records
    assert second[1] is not first[1] and second[1][1] == (0.0, 3.0)
    f.put(slots[1] + 1, -0.0)
    third = reader.read().records
    f.put(slots[1] + 1, 0.0)  # bits, not ==: 0.0 after -0.0 is a change
    fourth = reader.read().records
    assert fourth[1] is not third[1] and struct.pack("<d", fourth[1][1][1]) == struct.pack("<d", 0.0)
    assert fourth[0] is first[0] and fourth[2] is first[2]
    reader.close()
    f.close()


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.integers(0, 63), st.floats(allow_nan=True, allow_infinity=True)),
        st.tuples(st.just("append"), st.integers(1, 4), st.just(0.0)),
        st.tuples(st.just("read"), st.just(0), st.just(0.0)),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(OPERATIONS)
def test_a_followed_file_reads_as_a_fresh_parse_and_reuses_exactly_the_unchanged_records(tmp_path_factory, ops):
    """Whatever the writes between reads, a FileReader's records have the bits a fresh parse of the file has,
    a record is the last read's very object exactly when its bits did not change, and the read names those
    that are not (`changed`, since the last read)."""
    f, path = _mapped(tmp_path_factory.mktemp("follow"), size=1024)
    cells = [f.append(sf.encode_key("m", "s", ("0",)), 2)]
    width = {cells[0]: 2}
    reader = sf.FileReader(path)
    last = reader.read().records

    def bits(records):
        return [(k, struct.pack(f"<{len(v)}d", *v)) for k, v in records]

    for op, n, value in ops + [("read", 0, 0.0)]:
        if op == "put":
            start = cells[n % len(cells)]
            f.put(start + n % width[start], value)
        elif op == "append":
            start = f.append(sf.encode_key("m", "s", (str(len(cells)),)), n)
            cells.append(start)
            width[start] = n
        else:
            parsed = reader.read()
            now = parsed.records
            assert bits(now) == bits(sf.read_whole(path).records)
            for i, record in enumerate(now[: len(last)]):
                assert (record is last[i]) == (bits([record]) == bits([last[i]]))
            if now is not last:  # `changed` names exactly the records that are not the last read's
                assert parsed.since is last
                assert parsed.changed == [i for i, r in enumerate(now) if i >= len(last) or r is not last[i]]
            last = now
    reader.close()
    f.close()
