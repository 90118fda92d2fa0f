"""Every panel query of every dashboard, run by a real Prometheus scraping a real proxy.

Prometheus starts first; then a mixed load (streaming, errors, a fallback, cache hits, ...)
goes through a 4-worker proxy while Prometheus scrapes its exporter every second, so rates
and increases see the traffic. Grafana's variables are substituted
the way Grafana does it with every variable set to All, and each query must parse and return
at least one series, except the panels in NO_DATA, each with the reason it cannot have data here.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from litellm_observe.catalogue import metric
from litellm_observe.demo.upstream import FakeUpstream
from litellm_observe.generators import dashboards
from litellm_observe.generators.options import Options as Settings  # what the generators read
from tests.support import load
from tests.support.grafana import grafana_regex_escape, interpolate, panel_queries, panel_scope, resolve_variables
from tests.support.metrics import total
from tests.support.prometheus_server import PrometheusError, PrometheusServer
from tests.support.proxy import PRICE, Proxy, default_config, free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
SUPPORT = Path(__file__).parent.parent / "support"

JOB = "litellm"
NO_DATA = {
    (
        "litellm-spend",
        "Budget resets by entity type",
    ): "budget resets happen in LiteLLM's database jobs; the test proxy runs without a database",
    (
        "litellm-exporter-health",
        "Label overflow by label",
    ): "counts label values beyond the cap (200 per label by default); the load uses a handful",
}

# Panels whose right answer after the load is 0; they still must return a series.
ZERO_IS_RIGHT = {
    ("litellm-overview", "Requests in flight"): "the load is over when the queries run: nothing is in flight",
    (
        "litellm-overview",
        "Worker starts and exits",
    ): "the workers started before Prometheus's first scrape and none is recycled here (tests/e2e/test_workers.py "
    "recycles and kills workers); each worker creates the exit series at 0, so the panel shows 0",
    (
        "litellm-exporter-health",
        "Internal errors by hook",
    ): "counts events the logger failed to record: a healthy run has none; every worker's store creates the "
    "series at 0, so the panel shows 0 rather than no data",
}
INF = float("inf")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """Prometheus scraping a 4-worker proxy from before its first request, through a mixed load.

    The proxy is this module's own, built with the shared harness: the session's `loaded_proxy`
    has had its load before any Prometheus could watch, so every rate there would be 0, and more
    load through it would break the exact counts other tests assert on it.
    """
    requests = metric("requests").sample_names(Settings().namespace)[0]
    build_info = metric("observe_build_info").sample_names(Settings().namespace)[0]
    files = {name: (SUPPORT / name).read_text() for name in ("custom_auth.py", "guardrails.py")}
    with (
        FakeUpstream() as upstream,
        Proxy(
            tmp_path_factory.mktemp("dashboards-proxy"),
            upstream.base_url,
            workers=4,
            config=_config(upstream.base_url),
            files=files,
        ) as proxy,
        PrometheusServer({JOB: [proxy.metrics_target]}) as prom,
    ):
        prom.wait_for(f'{build_info}{{job="{JOB}"}}', timeout=60)  # scraped before any traffic
        expected = 0
        # Twice: a series is born on its first event, and rate() cannot see the step from
        # nothing to its first value; the second round moves every series Prometheus already has.
        for tag in ("first-", "second-"):
            expected += sum(load.run(proxy, load.mixed_jobs(tag) + _signal_jobs(tag)).values())
            wait_until(
                lambda expected=expected: total(proxy.scrape(), "requests") == expected,
                timeout=60,
                what=f"the exporter to count {expected} requests",
            )
            prom.wait_for(f'sum({requests}{{job="{JOB}"}}) == {expected}', timeout=60)
        time.sleep(3)  # a few more scrapes, so every rate window holds samples after the last increment
        yield prom


def _config(api_base: str) -> dict:
    """The harness's config, plus what the deployment, budget, guardrail and token panels need: a group of
    two deployments (one failing: the router cools it down after more than allowed_fails failures a minute
    on a worker, for cooldown_time), budgets from a custom auth, two guardrails, a model with every usage
    detail and one without a price."""
    config = default_config(api_base, free_port())

    def entry(name: str, upstream: str, priced: bool = True, **info) -> dict:
        params = {"model": f"openai/{upstream}", "api_base": api_base, "api_key": "fake", **(PRICE if priced else {})}
        return {"model_name": name, "litellm_params": params, **({"model_info": info} if info else {})}

    config["model_list"] += [
        entry("pair", "fake-500--pair", id="pair-bad"),
        entry("pair", "fake-ok", id="pair-good"),
        entry("rich", "fake-rich"),
        entry("free", "fake-ok--free", priced=False),
    ]
    config["router_settings"].update({"allowed_fails": 1, "cooldown_time": 5})
    # allowed_fails on the router cools down even a group's only deployment after its second failure on a
    # worker within the minute; then `flaky`'s retries never reach the upstream, and in some runs the
    # Retries panel had no series at all. A deployment's own allowed_fails keeps a single-deployment group
    # out of cooldown (LiteLLM 1.106: router_utils/cooldown_handlers.py).
    for entry in config["model_list"]:
        if entry["model_name"] == "flaky":
            entry["model_info"] = {"allowed_fails": 1000}
    config["guardrails"] = [
        {
            "guardrail_name": "block-word",
            "litellm_params": {"guardrail": "guardrails.BlockWord", "mode": "pre_call", "default_on": True},
        },
        {
            "guardrail_name": "passes",
            "litellm_params": {"guardrail": "guardrails.Passes", "mode": "post_call", "default_on": True},
        },
    ]
    config["general_settings"]["custom_auth"] = "custom_auth.user_api_key_auth"
    # the Spend dashboard's caller section: its dimension variable lists these, and shows the first one
    config["litellm_observe"]["attribution"] = ["key_alias", "end_user", "tags"]
    return config


def _signal_jobs(tag: str) -> list[dict]:
    jobs = [dict(model="pair", content=f"{tag}pair {i}") for i in range(40)]
    jobs += [dict(model="ok", key="sk-budget", content=f"{tag}budget {i}") for i in range(5)]
    jobs += [dict(model="rich", content=f"{tag}rich {i}") for i in range(3)]
    jobs += [dict(model="free", content=f"{tag}free {i}") for i in range(3)]
    jobs += [dict(model="ok", key="sk-alias-nightly", content=f"{tag}alias {i}") for i in range(3)]
    return jobs + [dict(model="ok", content=f"{tag}BLOCKME {i}") for i in range(3)]


def run_all_panels(prom: PrometheusServer):
    results = []  # (uid, panel title, refId, expr, series, error)
    for uid, panel, target, expr in panel_queries(prom):
        try:
            series, error = prom.query(expr), None
        except Exception as e:  # noqa: BLE001 - reported per query below
            series, error = [], str(e)
        results.append((uid, panel["title"], target["refId"], expr, series, error))
    return results


def test_variables_list_the_load(prometheus):
    for uid, data in dashboards.build_all(Settings()).items():
        scope, options = resolve_variables(prometheus, data)
        assert options["job"] == [JOB], uid  # only targets exporting build info: not Prometheus itself
        assert len(options["instance"]) == 1 and scope["instance"] == grafana_regex_escape(options["instance"][0])
        assert (
            "ok" in options["model"]
            and "openai" in options["provider"]
            and sorted(options["team"]) == ["budgeted", "unknown"]
            and "chat_completions" in options["endpoint"]
        )
        if "dimension" in options:
            assert options["dimension"] == ["end_user", "key_alias", "tags"], uid


def test_every_panel_query_parses_and_returns_data(prometheus):
    results = run_all_panels(prometheus)
    panels = {(uid, title) for uid, title, *_ in results}
    assert set(NO_DATA) <= panels, "NO_DATA names a panel that no longer exists"
    report, failures = [], []
    for uid, title, ref, expr, series, error in results:
        values = [float(s["value"][1]) for s in series]
        nonzero = sum(1 for v in values if v == v and v != 0)  # v == v: not NaN
        report.append(f"{uid:26} {title[:44]:44} {ref} series={len(series):3} nonzero={nonzero:3}")
        if error:
            failures.append(f"{uid} / {title} / {ref}: Prometheus rejected the query: {error}\n  {expr}")
        elif (uid, title) in NO_DATA:
            if series:
                failures.append(
                    f"{uid} / {title}: listed in NO_DATA but returned {len(series)} series; update the list"
                )
        elif not series:
            failures.append(f"{uid} / {title} / {ref}: no series\n  {expr}")
    print("\n".join(report))
    assert not failures, "\n".join(failures)


def test_every_panel_with_traffic_shows_a_real_number(prometheus):
    """Stronger than "a series": some series of the panel is a finite, non-zero number."""
    shown: dict[tuple[str, str], bool] = {}
    for uid, title, _, _, series, _ in run_all_panels(prometheus):
        values = [float(s["value"][1]) for s in series]
        shown[(uid, title)] = shown.get((uid, title), False) or any(v == v and v not in (0, INF, -INF) for v in values)
    blank = [panel for panel, ok in shown.items() if not ok and panel not in NO_DATA and panel not in ZERO_IS_RIGHT]
    assert not blank, f"panels showing only 0 or NaN: {blank}"
    for panel in ZERO_IS_RIGHT:
        assert panel in shown, f"ZERO_IS_RIGHT names a panel that no longer exists: {panel}"


@pytest.fixture(scope="module")
def bare_prometheus():
    """Prometheus scraping only itself: enough to parse queries and to test the helper."""
    with PrometheusServer({}) as prom:
        prom.wait_for('up{job="prometheus"} == 1', timeout=30)
        yield prom


def test_prometheus_helper_reports_bad_queries_and_stops(bare_prometheus):
    with pytest.raises(PrometheusError, match="bad_data"):
        bare_prometheus.query("sum(rate(up[1m])")
    assert bare_prometheus.query("vector(1)")[0]["value"][1] == "1"
    with PrometheusServer({}) as other:
        proc = other._proc
        assert other.port != bare_prometheus.port and proc.poll() is None
    assert proc.poll() is not None  # stopped and reaped on exit
    assert bare_prometheus._proc.poll() is None  # stopping one server leaves the other running


@pytest.mark.parametrize(
    "options",
    [
        {"namespace": "acme_llm", "dashboards": {"selector": 'namespace="llm", cluster!~"dev.*"'}},
        {"dashboards": {"selector": 'env="prod",'}},
    ],
)
def test_queries_with_options_parse(bare_prometheus, options):
    """Options change every query; Prometheus must still accept every one of them."""
    from litellm_observe.generators import options as settings_mod

    settings = settings_mod.load(environ={}, section=options)
    scope = {name: ".*" for name in ("job", "instance", "provider", "model", "team", "endpoint")}
    scope["dimension"] = "key_alias"
    for data in dashboards.build_all(settings).values():
        for panel in dashboards.iter_panels(data):
            for target in panel["targets"]:
                bare_prometheus.query(interpolate(target["expr"], panel_scope(panel, scope)))  # raises if rejected
        for variable in data["templating"]["list"][1:]:
            match = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"]).group(1)
            bare_prometheus.label_values(variable["name"], interpolate(match, scope))
