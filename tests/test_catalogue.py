"""catalogue: every metric declared once, with names, labels and buckets Prometheus accepts."""

from __future__ import annotations

import re

import pytest

from litellm_observe import catalogue as c

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def test_names_unique_and_valid():
    names = [m.name for m in c.CATALOGUE]
    assert len(names) == len(set(names))
    for m in c.CATALOGUE:
        assert NAME.match(m.family()), m.name
        assert not m.name.endswith("_total"), "counters are declared without _total"
        assert m.help and "\n" not in m.help
        assert m.level in {"request", "attempt", "cost", "caller", "resilience", "capacity", "worker", "self"}


def test_labels_valid_and_not_reserved():
    for m in c.CATALOGUE:
        assert len(m.labels) == len(set(m.labels)), m.name
        for label in m.labels:
            assert LABEL.match(label) and not label.startswith("__"), (m.name, label)
            assert label not in ("le", "quantile"), (m.name, label)


def test_sample_names():
    req = c.metric("requests")
    assert req.sample_names() == ("litellm_requests_total",)
    assert req.sample_names("acme") == ("acme_requests_total",)
    assert req.family("") == "requests"
    h = c.metric("request_duration_seconds")
    assert h.sample_names() == tuple(f"litellm_request_duration_seconds_{s}" for s in ("bucket", "sum", "count"))
    assert c.metric("current_load").sample_names() == ("litellm_current_load",)


def test_every_kind_has_what_it_needs():
    for m in c.CATALOGUE:
        if m.kind is c.Kind.HISTOGRAM:
            assert m.buckets and list(m.buckets) == sorted(set(m.buckets)) and m.buckets[0] > 0, m.name
            assert m.value_slots() == len(m.buckets) + 2
        else:
            assert not m.buckets, m.name
        if m.kind is c.Kind.GAUGE:
            assert m.gauge_mode is not None and m.value_slots() == 2
        else:
            assert m.gauge_mode is None
        if m.kind is c.Kind.COUNTER:
            assert m.value_slots() == 1


def test_alert_thresholds_are_bucket_edges():
    # The p99 latency alert uses 30 s; the p95 TTFT alert 5 s (the defaults of their alert options).
    from litellm_observe.generators.rules.alerts import AlertOptions

    a = AlertOptions()
    assert a.high_p99_latency.seconds in c.DURATION_BUCKETS
    assert a.high_time_to_first_token.seconds in c.TTFT_BUCKETS


def test_errors_labels_extend_requests_labels():
    # errors_total must be summable against requests_total{status_code=~"[45].."}.
    assert set(c.metric("requests").labels) <= set(c.metric("errors").labels)


def test_lookup_and_all_labels():
    with pytest.raises(KeyError):
        c.metric("no_such_metric")
    labels = c.all_labels()
    assert list(labels) == sorted(set(labels))
    assert {"model", "provider", "team", "status_code", "error_type", "token_type"} <= set(labels)
    assert c.BY_NAME["spend_usd"] is c.metric("spend_usd")


def test_fixed_value_sets():
    assert len(set(c.ERROR_TYPES)) == len(c.ERROR_TYPES) and "other" in c.ERROR_TYPES
    assert c.TOKEN_TYPES == ("input", "output")  # sum(tokens_used_total) is the tokens billed (issue 23)
    assert set(c.TOKEN_DETAILS_OF.values()) <= set(c.TOKEN_TYPES) and not set(c.TOKEN_DETAILS_OF) & set(c.TOKEN_TYPES)
    assert len(set(c.ENDPOINTS)) == len(c.ENDPOINTS) and c.ENDPOINTS[-1] == "other"
    assert set(c.ENTITY_TYPES) == {"key", "user", "team", "end_user"}


def test_the_client_request_level_carries_the_endpoint_and_callers_sum_per_dimension():
    for m in (c.REQUESTS, c.ERRORS, c.REQUEST_DURATION, c.CURRENT_LOAD):
        assert "endpoint" in m.labels, m.name
    for m in (c.CALLER_REQUESTS, c.CALLER_SPEND, c.CALLER_TOKENS):
        assert m.labels[:2] == ("dimension", "caller") and m.kind is c.Kind.COUNTER, m.name
    assert c.CALLER_TOKENS.labels[2] == c.TOKENS_USED.labels[3] == "token_type"  # the same two values
    assert c.TOKEN_DETAILS.labels[-1] == "detail"  # never token_type: a detail is not summed with the types
