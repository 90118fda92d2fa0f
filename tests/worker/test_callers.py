"""callers: the raw caller values of the enabled attribution dimensions, and what is never a label value."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from litellm_observe.worker import callers
from litellm_observe.worker.labels import REDACTED, LabelCaps, Labeller, clean

META = {
    "user_api_key_alias": "batch-jobs",
    "user_api_key_hash": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
    "user_api_key_user_id": "user-1",
    "user_api_key_end_user_id": "customer-7",
    "user_api_key_user_email": "ada@example.com",
    "tags": ["nightly", "batch", "nightly", "User-Agent: python-requests"],
    "requester_metadata": {"project": "atlas", "cost_center": 4711, "nested": {"a": 1}},
}


def test_each_dimension_reads_its_field():
    got = dict(
        callers.callers(
            META,
            ("key_alias", "user", "end_user", "tags", "metadata.project", "metadata.cost_center", "metadata.nested"),
        )
    )
    assert got == {
        "key_alias": ("batch-jobs",),
        "user": ("user-1",),
        "end_user": ("customer-7",),
        "tags": ("nightly", "batch"),  # each once, LiteLLM's user-agent tag dropped
        "metadata.project": ("atlas",),
        "metadata.cost_center": (4711,),
        "metadata.nested": (None,),  # not a scalar: unknown
    }


def test_nothing_is_read_when_no_dimension_is_on():
    assert callers.callers(META, ()) == callers.NONE == ()


def test_missing_values_are_one_unknown_so_a_dimension_still_sums_to_the_total():
    got = dict(callers.callers({}, ("key_alias", "tags", "metadata.project")))
    assert got == {"key_alias": (None,), "tags": (None,), "metadata.project": (None,)}
    assert callers.tags([]) == callers.tags("nightly") == callers.tags([None, 3]) == (None,)


def test_tags_are_bounded():
    many = [f"t{i}" for i in range(1000)]
    assert callers.tags(many) == tuple(many[: callers.MAX_TAGS])


def test_request_metadata_under_litellm_metadata_too():
    assert callers.request_metadata({"metadata": {"a": 1}}) == {"a": 1}
    assert callers.request_metadata({"litellm_metadata": {"b": 2}}) == {"b": 2}  # /v1/messages, /v1/responses
    assert callers.request_metadata({"metadata": "x"}) == {}


PRIVATE = [
    "sk-1234567890abcdef",
    "sk_live_abc",
    "Bearer abc.def",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
    "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",  # a key hash
    "ada@example.com",
    "contact: ada.lovelace@example.co.uk",
    "10.0.0.12",
    "2001:db8::1",
    "::1",
    "Mozilla/5.0 (X11; Linux x86_64)",
    "python-requests/2.31.0",
    "User-Agent: curl/8.5.0",
]
PUBLIC = [
    "2f1c9a6e4b8d4f0e9a7c3b5d1e6f8a2c",  # a UUID's hex: a customer id, not a key hash (40 hex digits and more)
    "batch-jobs",
    "user-1",
    "customer-7",
    "team@",
    "v1.2",
    "nightly",
    "atlas",
    "1234",
    "a.b",
    "default_user_id",
]


def test_private_looking_values():
    for value in PRIVATE:
        assert callers.private(clean(value)), value
    for value in PUBLIC:
        assert not callers.private(value), value


def _labeller(cap=100):
    return Labeller(LabelCaps(lambda label: cap), lambda: None)


def test_the_labeller_shows_a_private_value_as_redacted_and_it_takes_no_cap_room():
    labels = _labeller(cap=1)
    assert labels.caller("user", "ada@example.com") == REDACTED
    assert labels.caller("key_alias", "sk-abc") == REDACTED
    assert labels.caller("user", "user-1") == "user-1"  # the one value the cap admits: not taken by a redaction
    assert labels.caller("user", "user-2") == "overflow"


EMAILS = st.emails().map(str)
IPS = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)
KEYS = st.text("0123456789abcdefABCDEF", min_size=40, max_size=64) | st.text(min_size=1, max_size=40).map(
    lambda s: "sk-" + s
)


@given(st.one_of(EMAILS, IPS, KEYS), st.sampled_from(["key_alias", "user", "end_user", "tags", "metadata.x"]))
def test_no_email_ip_or_key_is_ever_a_caller_label(value, dimension):
    assert _labeller().caller(dimension, value) in (REDACTED, "unknown")


def test_an_address_cut_short_by_the_label_length_is_still_redacted():
    value = "a" * 118 + "@example.com"  # clean() keeps 120 characters: "aaa...a@e"
    assert _labeller().caller("user", value) == REDACTED
