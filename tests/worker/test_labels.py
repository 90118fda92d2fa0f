"""labels: `clean` always gives a valid bounded value; LabelCaps caps distinct values per label,
shared by every worker of a run through files."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from litellm_observe.worker.labels import MAX_LENGTH, OVERFLOW, SENTINELS, UNKNOWN, UNLISTED, LabelCaps, clean

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True),
    st.text(),
    st.text(min_size=100, max_size=400),
    st.binary(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.builds(object),
    st.sampled_from(["", " ", "None", "NULL", "nan", "undefined", "\n", '"', "\\", "\ud800", "a\x00b", "\u2028"]),
)


def valid(v: str) -> bool:
    return (
        isinstance(v, str)
        and 0 < len(v) <= MAX_LENGTH
        and v.lower() not in ("none", "null", "")
        and v.isprintable()
        and v.encode("utf-8").decode("utf-8") == v
    )


@given(anything)
def test_clean_is_always_valid(value):
    assert valid(clean(value))


@given(
    st.one_of(anything, st.text(max_size=MAX_LENGTH)).filter(lambda v: not isinstance(v, str) or len(v) <= MAX_LENGTH)
)
def test_clean_is_idempotent(value):
    once = clean(value)
    assert clean(once) == once


def test_clean_is_idempotent_after_cutting():
    value = "0" * 118 + "\u00a1 0"  # 121 characters, not ASCII: the slow path
    once = clean(value)
    assert clean(once) == once


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=MAX_LENGTH))
def test_ordinary_names_pass_unchanged(name):
    if name.lower() in ("none", "null", "nil", "undefined", "nan"):
        assert clean(name) == UNKNOWN
    else:
        assert clean(name) == name


@given(st.text(min_size=MAX_LENGTH + 1, max_size=1000))
def test_long_values_are_cut(name):
    assert len(clean(name)) <= MAX_LENGTH


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "None",
        "none",
        "null",
        "NULL",
        "nil",
        "undefined",
        "NaN",
        float("nan"),
        "\n",
        "\x00",
        [],
        {},
        object(),
        b"bytes",
    ],
)
def test_missing_becomes_unknown(value):
    assert clean(value) == UNKNOWN


@pytest.mark.parametrize(
    "value, expected",
    [
        (True, "true"),
        (False, "false"),
        (429, "429"),
        (1.5, "1.5"),
        ('a"b\\c', 'a"b\\c'),
        ("two\nlines", "two lines"),
        ("模型🙂", "模型🙂"),
        ("\ud800x", "?x"),
    ],
)
def test_values(value, expected):
    assert clean(value) == expected


def test_clean_huge_int_does_not_raise():
    assert valid(clean(10**5000))


@pytest.mark.parametrize("value", ["   ", " None", "None ", " null"])
def test_padded_none_is_unknown(value):
    assert clean(value) == UNKNOWN


# ---- caps ---------------------------------------------------------------------------------------
def test_cap_in_memory_and_overflow_counted():
    overflowed = []
    caps = LabelCaps(lambda label: 2, None, overflowed.append)
    assert [caps.admit("team", v) for v in ("a", "b", "c", "a", "d", "b")] == ["a", "b", OVERFLOW, "a", OVERFLOW, "b"]
    assert overflowed == ["team", "team"]
    assert caps.admitted("team") == {"a", "b"}
    assert caps.admit("model", "m1") == "m1"  # caps are per label


def test_sentinels_never_take_a_slot():
    overflowed = []
    caps = LabelCaps(lambda label: 1, None, overflowed.append)
    for s in sorted(SENTINELS):
        assert caps.admit("team", s) == s
    assert caps.admit("team", "real") == "real"
    assert UNKNOWN in SENTINELS and UNLISTED in SENTINELS and OVERFLOW in SENTINELS
    assert overflowed == []


def test_cap_per_label(tmp_path):
    caps = LabelCaps({"team": 1, "model": 3}.__getitem__, str(tmp_path))
    assert caps.admit("team", "a") == "a"
    assert caps.admit("team", "b") == OVERFLOW
    assert [caps.admit("model", m) for m in "xyzw"] == ["x", "y", "z", OVERFLOW]


def test_two_workers_share_one_cap(tmp_path):
    """Two LabelCaps on one directory behave as two workers of one proxy run."""
    over1, over2 = [], []
    w1 = LabelCaps(lambda label: 3, str(tmp_path), over1.append)
    w2 = LabelCaps(lambda label: 3, str(tmp_path), over2.append)
    assert w1.admit("team", "a") == "a"
    assert w2.admit("team", "b") == "b"
    assert w1.admit("team", "c") == "c"
    assert w2.admit("team", "d") == OVERFLOW  # 3 distinct values admitted over both workers
    assert w1.admit("team", "e") == OVERFLOW
    assert w2.admit("team", "a") == "a"  # admitted by the other worker: still admitted here
    assert w1.admit("team", "b") == "b"
    assert over1 == ["team"] and over2 == ["team"]
    assert w1.admitted("team") == w2.admitted("team") == {"a", "b", "c"}


def test_a_recycled_worker_sees_what_was_admitted(tmp_path):
    w1 = LabelCaps(lambda label: 2, str(tmp_path))
    w1.admit("provider", "openai")
    w1.admit("provider", "anthropic")
    del w1
    fresh = LabelCaps(lambda label: 2, str(tmp_path))
    assert fresh.admit("provider", "anthropic") == "anthropic"
    assert fresh.admit("provider", "azure") == OVERFLOW


def test_torn_line_is_skipped(tmp_path):
    w1 = LabelCaps(lambda label: 3, str(tmp_path))
    w1.admit("team", "a")
    with open(os.path.join(tmp_path, "labels", "team.values"), "ab") as f:
        f.write(b'"b"\n{not json\n"c')  # a garbage line, then a torn last line from a killed writer
    w2 = LabelCaps(lambda label: 3, str(tmp_path))
    assert w2.admit("team", "z") == "z"
    assert "a" in w2.admitted("team") and "b" in w2.admitted("team")


@given(st.lists(st.sampled_from("abcdefgh"), max_size=40), st.integers(1, 5))
def test_never_more_than_cap_distinct_values(values, cap):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        workers = [LabelCaps(lambda label: cap, d) for _ in range(3)]
        out = {workers[i % 3].admit("team", v) for i, v in enumerate(values)}
        assert len(out - {OVERFLOW}) <= cap
        assert len(out - {OVERFLOW}) == min(cap, len(set(values)))
