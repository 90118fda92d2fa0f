"""The PromQL toolkit both generators share: the builders (promql/build.py) and the linter
(promql/lint.py), on hand-written expressions; the generated ones are linted in test_dashboards
and test_lint."""

from __future__ import annotations

import pytest

from litellm_observe.catalogue import CURRENT_LOAD, REQUEST_DURATION, REQUESTS
from litellm_observe.generators.promql import lint
from litellm_observe.generators.promql.build import Scope, aggregate, fmt, regex_matcher, selector

S = Scope("litellm", ('env="prod"',))


def test_a_selection_lists_its_own_matchers_then_the_scopes():
    assert S.select(S.sample(REQUESTS), 'model="a"') == 'litellm_requests_total{model="a", env="prod"}'
    assert Scope("litellm").select("up") == "up"
    assert selector("x", ["", 'a="b"']) == 'x{a="b"}'


def test_samples_come_from_the_catalogue_and_respect_the_namespace():
    assert Scope("acme").sample(REQUESTS) == "acme_requests_total"
    assert S.sample(REQUEST_DURATION) == "litellm_request_duration_seconds_bucket"
    assert S.sample(REQUEST_DURATION, "_count") == "litellm_request_duration_seconds_count"
    with pytest.raises(ValueError, match="no _bucket series"):
        S.sample(REQUESTS, "_bucket")
    with pytest.raises(ValueError, match="gauge"):
        S.counted(CURRENT_LOAD)


def test_quantiles_and_gauges_are_built_one_way_and_refuse_the_wrong_kind():
    assert S.quantile(0.99, REQUEST_DURATION, ("model", "le"), "5m") == (
        'histogram_quantile(0.99, sum by (model, le) (rate(litellm_request_duration_seconds_bucket{env="prod"}[5m])))'
    )
    assert (
        S.gauge("max", CURRENT_LOAD, ("model",), 'a="b"') == 'max by (model) (litellm_current_load{a="b", env="prod"})'
    )
    with pytest.raises(ValueError, match="not a histogram"):
        S.quantile(0.5, REQUESTS, ("le",), "5m")
    with pytest.raises(ValueError, match="by le"):
        S.quantile(0.5, REQUEST_DURATION, ("model",), "5m")
    with pytest.raises(ValueError, match="not a gauge"):
        S.gauge("sum", REQUESTS, ())


def test_aggregations_are_written_one_way():
    assert aggregate("sum", (), "x") == "sum (x)"
    assert aggregate("max", ("a", "b"), "x") == "max by (a, b) (x)"
    assert S.sum_rate("r_total", ("model",), "5m") == 'sum by (model) (rate(r_total{env="prod"}[5m]))'
    assert S.sum_increase("r_total", (), "1h", 'a="b"') == 'sum (increase(r_total{a="b", env="prod"}[1h]))'
    assert regex_matcher("e", ("b", "a")) == 'e=~"a|b"'
    assert [fmt(x) for x in (14.4, 6.0, 0.995, 0.1 + 0.2)] == ["14.4", "6", "0.995", "0.3"]


@pytest.mark.parametrize(
    "expr, complaint",
    [
        ("sum(rate(litellm_no_such_metric_total[5m]))", "unknown series 'litellm_no_such_metric_total'"),
        ("sum(litellm_requests)", "unknown series 'litellm_requests'"),  # counter without _total
        ("sum(rate(litellm_current_load[$__rate_interval]))", "rate() on 'litellm_current_load', a gauge"),
        ('sum(increase(litellm_tokens_remaining{model=~"$model"}[1h]))', "increase() on 'litellm_tokens_remaining'"),
        ("SUM(IRATE(litellm_current_load[5m]))", "irate() on 'litellm_current_load'"),  # keywords in any case
        ("sum(rate(litellm_request_duration_seconds_sum[5m]))", "a histogram _sum series"),
        ("sum(rate(litellm_current_load[5m])) + sum(rate(litellm_request_duration_seconds_count[5m]))", "a gauge"),
        ("sum(rate(up[5m]))", "rate() on 'up', a Prometheus gauge"),
        ("sum(rate(litellm_provider_latency_seconds_bucket[5m]))", "read outside histogram_quantile"),
        (
            "histogram_quantile(0.9, sum by (model) (rate(litellm_provider_latency_seconds_bucket[5m])))",
            "read outside histogram_quantile(q, sum by (le, ...)",
        ),
        (
            "histogram_quantile(0.9, sum by (le) (rate(litellm_request_duration_seconds_sum[5m])))",
            "not a histogram's _bucket series",
        ),
        (
            "histogram_quantile(0.99, sum by (le) (rate(litellm_request_duration_seconds_bucket[5m]))) > 25",
            "threshold 25 on 'litellm_request_duration_seconds_bucket' is not a bucket edge",
        ),
        (
            "histogram_quantile(0.99, sum by (le) (rate(litellm_request_duration_seconds_bucket[5m]))) > 327.68",
            "is not a bucket edge below the last",
        ),
        ("rate(litellm_requests_total[5m]) > 1", "selected without aggregating over replicas"),
        (
            "provider:litellm_provider_errors:ratio_rate7m > 0.05",
            "'provider:litellm_provider_errors:ratio_rate7m' is recorded by no rule",
        ),
        ("sum(rate(other_requests_total[5m]))", "unknown series 'other_requests_total'"),  # wrong namespace
        ("sum(rate(litellm_requests_total[5m])", "cannot read this expression: unbalanced ("),
        ("1 + 1", "no series found"),
    ],
)
def test_the_linter_catches(expr, complaint):
    found = lint.problems(expr, "litellm")
    assert any(complaint in p for p in found), found


@pytest.mark.parametrize(
    "expr",
    [
        'sum by (le) (litellm_requests_total{status_code=~"5.."} offset 5m) or vector(0)',
        "histogram_quantile(0.99, sum by (model, le) (rate(litellm_request_duration_seconds_bucket[5m]))) > 30",
        "histogram_quantile(0.99, sum(rate(litellm_request_duration_seconds_bucket[5m])) by (le))",
        "max without (instance) (litellm_current_load) and on (model) sum(up)",
        "sum(rate(litellm_requests_total[5m])) / sum(rate(litellm_requests_total[1h] offset 1d))",
    ],
)
def test_the_linter_accepts(expr):
    assert lint.problems(expr, "litellm") == []


def test_recording_rules_are_known_when_recorded():
    name = "provider:litellm_provider_errors:ratio_rate5m"
    assert lint.problems(f"{name} > 0.1", "litellm", frozenset({name})) == []


def test_names_are_read_from_expressions_not_functions_labels_or_strings():
    expr = (
        'histogram_quantile(0.99, sum by (model, le) (rate(a_bucket{model="sum", le=~"1.0"}[5m]))) '
        "> 30 and on (model) b:c:d unless ignoring (x) up offset 5m"
    )
    assert lint.series_names(expr) == ["a_bucket", "b:c:d", "up"]
    assert lint.series_names('sum by (model) (rate(litellm_requests_total{model="rate(x)"}[1m])) / 1e3') == [
        "litellm_requests_total"
    ]
