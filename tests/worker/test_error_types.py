"""error_types: any exception -> a status code in 400..599 and one error_type of a fixed set."""

from __future__ import annotations

import pytest
from fastapi import HTTPException  # noqa: E402
from hypothesis import given
from hypothesis import strategies as st
from litellm.proxy._types import ProxyException  # noqa: E402

from litellm_observe.catalogue import ERROR_TYPES  # noqa: E402
from litellm_observe.worker import error_types  # noqa: E402
from tests.support import events as ev  # noqa: F401  (no cost-map fetch when litellm is imported)
from tests.support import exceptions, rundirs


class Coded(Exception):
    def __init__(self, status_code=None, code=None):
        super().__init__("x")
        self.status_code = status_code
        self.code = code


@pytest.mark.parametrize(
    "exc, code, etype",
    [
        (ProxyException("m", "budget_exceeded", None, "400"), 400, "budget_exceeded"),
        (ProxyException("m", "auth_error", None, "401"), 401, "authentication"),
        (ProxyException("m", "whatever", None, "429"), 429, "rate_limit"),
        (ProxyException("m", "whatever", None, " 404 "), 404, "not_found"),
        (ProxyException("m", "whatever", None, "418"), 418, "bad_request"),  # other 4xx
        (ProxyException("m", "whatever", None, "501"), 501, "other"),
        (ProxyException("m", "whatever", None, None), 500, "internal_server_error"),
        (HTTPException(status_code=403, detail="no"), 403, "permission_denied"),
        (HTTPException(status_code=504, detail="slow"), 504, "timeout"),
        (HTTPException(status_code=302, detail="moved"), 500, "internal_server_error"),  # not a failure code
        (Exception("plain"), 500, "internal_server_error"),
        (Coded(status_code=True), 500, "internal_server_error"),  # a bool is not a status code
        (Coded(status_code=200, code="503"), 503, "service_unavailable"),  # 200 is not a failure: fall to `code`
        (Coded(status_code=429.0), 500, "internal_server_error"),
        (Coded(code="abc"), 500, "internal_server_error"),
        (Coded(status_code=10**400), 500, "internal_server_error"),
    ],
)
def test_status_and_type(exc, code, etype):
    assert error_types.status_code(exc) == code
    assert error_types.error_type(exc) == etype


def test_class_beats_status_code():
    exc = exceptions.EXCEPTIONS["RateLimitError"][0]()
    exc.status_code = 500
    assert error_types.error_type(exc) == "rate_limit"
    assert error_types.status_code(exc) == 500


def test_most_specific_class_wins():
    # ContextWindowExceededError is a BadRequestError: the subclass's own type wins.
    exc = exceptions.EXCEPTIONS["ContextWindowExceededError"][0]()
    assert isinstance(exc, exceptions.le.BadRequestError)
    assert error_types.error_type(exc) == "context_window_exceeded"


def test_subclass_of_a_known_class_is_classified_by_its_base():
    class MyTimeout(exceptions.le.Timeout):
        pass

    assert error_types.error_type(MyTimeout("m", "x", "openai")) == "timeout"


def test_every_mapped_status_is_in_range_and_every_type_is_known():
    assert set(error_types.BY_CLASS.values()) <= set(ERROR_TYPES)
    assert set(error_types.BY_STATUS.values()) <= set(ERROR_TYPES)
    assert all(400 <= c <= 599 for c in error_types.BY_STATUS)


anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
)
ascii_digits_or_garbage = st.one_of(
    anything, st.integers(0, 1000).map(str), st.from_regex(r"\s*[0-9]{1,4}\s*", fullmatch=True)
)


@given(ascii_digits_or_garbage, ascii_digits_or_garbage)
def test_any_attributes_give_a_failure_code_and_a_known_type(status, code):
    exc = Coded(status, code)
    c = error_types.status_code(exc)
    assert 400 <= c <= 599
    assert error_types.error_type(exc) in ERROR_TYPES
    assert error_types.error_type(exc, c) in ERROR_TYPES


@pytest.mark.parametrize("code", ["²", "①", "4²9"])
def test_unicode_digit_code_does_not_raise(code):
    exc = ProxyException("m", "x", None, code)
    assert error_types.status_code(exc) == 500
    assert error_types.error_type(exc) in ERROR_TYPES


def test_unicode_digit_code_failure_is_still_counted(tmp_path):
    import asyncio

    lg = ev.make_logger(tmp_path)
    asyncio.run(lg.async_post_call_failure_hook(ev.failure_request(), ProxyException("m", "x", None, "²"), ev.user()))
    data = rundirs.series(tmp_path)
    assert rundirs.total(data, "requests") == 1
