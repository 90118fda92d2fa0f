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


# ---- Labeller: remembered answers are the ones the caps and the model list give now -------------------------
def _labeller(names, cap=100, overflows=None):
    from litellm_observe.worker.labels import Labeller

    caps = LabelCaps(lambda label: cap, None, (overflows if overflows is not None else []).append)
    return Labeller(caps, lambda: names)


def test_an_overflow_is_counted_at_every_sighting_of_a_remembered_label():
    overflows = []
    labeller = _labeller(None, cap=1, overflows=overflows)
    assert [labeller.label("provider", v) for v in ("a", "b", "a", "b", "b")] == [
        "a",
        OVERFLOW,
        "a",
        OVERFLOW,
        OVERFLOW,
    ]
    assert overflows == ["provider"] * 3


def test_a_model_the_list_lost_is_unlisted_after_the_list_is_read_again(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("litellm_observe.worker.labels.time.monotonic", lambda: clock[0])
    names = ["gpt", "claude"]
    labeller = _labeller(names)
    assert labeller.model("gpt") == "gpt" and labeller.model("mistral") == UNLISTED
    names.remove("gpt")
    names.append("mistral")
    assert labeller.model("gpt") == "gpt"  # remembered, as before: the list is read only for a name not in it
    clock[0] += 60
    assert labeller.model("mistral") == "mistral"  # not remembered as unlisted: looked up, the list read again
    assert labeller.model("gpt") == UNLISTED  # what was remembered from the old list is forgotten


def test_remembered_answers_are_bounded(monkeypatch):
    from litellm_observe.worker import labels as labels_mod

    monkeypatch.setattr(labels_mod, "MAX_REMEMBERED", 16)
    labeller = _labeller(None, cap=10_000)
    for n in range(500):
        assert labeller.label("deployment", f"d-{n}") == f"d-{n}"
        assert labeller.model(f"m-{n}") == f"m-{n}"
    assert len(labeller._remembered) <= 16


def test_a_missing_value_is_unknown_and_takes_no_room_under_the_cap():
    overflows = []
    labeller = _labeller(None, cap=1, overflows=overflows)
    assert [labeller.label("team", v) for v in (None, 0, None, "search", "", "ads")] == [
        "unknown",
        "0",
        "unknown",
        OVERFLOW,
        "unknown",
        OVERFLOW,
    ]
    assert overflows == ["team", "team"]
