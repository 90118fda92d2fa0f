"""The demo's summary line: parsing the exporter's text, the quantile, the line."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from litellm_observe.demo import summary

TEXT = """# TYPE litellm_requests counter
litellm_requests_total{model="a",provider="openai",status_code="200",team="t"} 90
litellm_requests_total{model="b",provider="mistral",status_code="200",team="t"} 10
litellm_requests_total{model="b",provider="mistral",status_code="500",team="t"} 20
# TYPE litellm_request_duration_seconds histogram
litellm_request_duration_seconds_bucket{le="1.0",model="a",provider="openai"} 80
litellm_request_duration_seconds_bucket{le="2.0",model="a",provider="openai"} 100
litellm_request_duration_seconds_bucket{le="+Inf",model="a",provider="openai"} 100
litellm_request_duration_seconds_count{model="a",provider="openai"} 100
litellm_request_duration_seconds_sum{model="a",provider="openai"} 90
# TYPE litellm_spend_usd counter
litellm_spend_usd_total{model="a",provider="openai",team="t"} 0.25
litellm_spend_usd_total{model="b",provider="mistral",team="t"} 0.5
# TYPE litellm_tokens_used counter
litellm_tokens_used_total{model="a",provider="openai",team="t",token_type="input"} 1000
litellm_tokens_used_total{model="a",provider="openai",team="t",token_type="output"} 234
# TYPE litellm_current_load gauge
litellm_current_load 3
"""


def test_parse_sums_over_the_other_labels():
    s = summary.Sample.parse(TEXT, 10.0)
    assert s.requests == {"200": 100, "500": 20}
    assert s.buckets == {1.0: 80, 2.0: 100, math.inf: 100}
    assert (s.spend, s.tokens, s.in_flight) == (0.75, 1234, 3)


def test_the_line_shows_rates_over_the_interval_and_totals():
    before = summary.Sample(0.0)
    after = summary.Sample.parse(TEXT, 10.0)
    text = summary.line(before, after, 10.0, ['LitellmHighErrorRate{provider="mistral"}'])
    assert text == (
        "[  10s] 12.0 req/s (200 10.0 500 2.0) | errors 16.7% | p95 1.75s | in flight 3 | "
        'tokens 1,234 | spend $0.7500 | firing: LitellmHighErrorRate{provider="mistral"}'
    )


def test_no_traffic_and_no_prometheus():
    s = summary.Sample.parse(TEXT, 5.0)
    text = summary.line(s, summary.Sample.parse(TEXT, 10.0), 10.0, None)
    assert "0.0 req/s (none yet) | errors - | p95 -" in text and "firing" not in text


@pytest.mark.parametrize(
    "buckets, q, expected",
    [
        ({1.0: 0, 2.0: 10, math.inf: 10}, 0.5, 1.5),
        ({1.0: 10, 2.0: 10, math.inf: 10}, 0.95, 0.95),
        ({1.0: 0, 2.0: 0, math.inf: 10}, 0.5, 2.0),  # in +Inf: the highest finite edge, as Prometheus says
        ({1.0: 0, math.inf: 0}, 0.5, None),
    ],
)
def test_quantile_interpolates_as_prometheus_does(buckets, q, expected):
    assert summary.quantile(q, buckets) == expected


@given(st.lists(st.integers(0, 50), min_size=1, max_size=8), st.floats(0.01, 0.99))
def test_quantile_lies_inside_the_bucket_that_holds_its_rank(counts, q):
    edges = [0.1 * 2**i for i in range(len(counts))]
    cumulative, running = {}, 0
    for edge, n in zip(edges, counts):
        running += n
        cumulative[edge] = running
    cumulative[math.inf] = running
    value = summary.quantile(q, cumulative)
    if running == 0:
        assert value is None
        return
    rank = q * running
    i = next(i for i, e in enumerate(edges) if cumulative[e] >= rank)
    assert (edges[i - 1] if i else 0.0) <= value <= edges[i]


ALERTS = [
    {"state": "firing", "labels": {"alertname": "LitellmHighErrorRate", "provider": "mistral", "severity": "warning"}},
    {"state": "firing", "labels": {"alertname": "LitellmHighErrorRate", "provider": "mistral", "instance": "b"}},
    {"state": "pending", "labels": {"alertname": "LitellmMetricsAbsent", "instance": "a"}},
    {"state": "inactive", "labels": {"alertname": "LitellmDeploymentDown", "model": "m"}},
]


def test_alerts_by_state_once_each_with_their_provider_and_model():
    assert summary.alert_names(ALERTS, "firing") == ['LitellmHighErrorRate{provider="mistral"}']
    assert summary.alert_names(ALERTS, "pending") == ["LitellmMetricsAbsent"]
    assert summary.alert_names([], "firing") == []


def test_the_line_names_pending_alerts_and_what_was_notified():
    s = summary.Sample.parse(TEXT, 5.0)
    text = summary.line(s, s, 10.0, [], ["LitellmMetricsAbsent"], "none")
    assert text.endswith(" | firing: none | pending: LitellmMetricsAbsent | notified: none")
    assert summary.line(s, s, 10.0, [], [], None).endswith(" | firing: none | pending: none")
