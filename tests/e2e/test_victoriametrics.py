"""The generated rules and dashboards on a scale-out backend (issue 26): VictoriaMetrics, for real.

One real proxy (two workers) in front of the fake upstream, scraped at once by a real Prometheus (with the
generated rules) and by vmagent writing to victoria-metrics, with vmalert evaluating the same rule files
against it, writing the recording rules' results back, and sending alerts to a real Alertmanager running
the generated configuration, with a webhook receiver behind it. Then, in phases (each bounded in time):

1. healthy traffic: nothing fires in either;
2. one provider's outage: LitellmHighErrorRate fires for it in both (in VictoriaMetrics through the
   recording rule vmalert wrote back), the same alerts fire in both, and Alertmanager delivers vmalert's;
3. every dashboard panel's query, as Grafana sends it: the same panels return data from victoria-metrics'
   Prometheus-compatible API as from Prometheus, and none is refused.

Options that differ from the defaults, and why: LitellmHighErrorRate's `for` 30s (a test cannot wait five
minutes), a 5s group interval, the machine-dependent thresholds raised (as in test_alert_delivery.py).
"""

from __future__ import annotations

import time

import pytest

from litellm_observe.demo.upstream import FakeUpstream
from litellm_observe.generators import alertmanager, rules
from litellm_observe.generators import options as options_mod
from tests.support.alertmanager_server import AlertmanagerServer, WebhookReceiver
from tests.support.grafana import panel_queries
from tests.support.outage import OUTAGE_MODEL, Traffic, two_model_config
from tests.support.prometheus_server import PrometheusAPI, PrometheusServer
from tests.support.proxy import Proxy
from tests.support.victoriametrics import VictoriaStack, missing
from tests.support.waiting import wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(bool(missing()), reason="victoria-metrics, vmagent, vmalert: apt-get install victoria-metrics"),
]
HEALTHY_SECONDS = 45
ALERT = "LitellmHighErrorRate"


def _config(api_base: str) -> dict:
    config = two_model_config(api_base)
    config["litellm_observe"]["attribution"] = ["end_user"]  # the spend-by-caller panels have a caller to show
    return config


def _options(webhook: str):
    return options_mod.load(
        environ={},
        section={
            "alerts": {
                "high_error_rate": {"for": "30s"},
                "high_proxy_overhead": {"seconds": 1.0},
                "event_loop_lag_high": {"seconds": 2.5},
                "alertmanager": {"webhook_url": webhook, "group_interval": "5s"},
            }
        },
    )


def _firing_in_prometheus(prom: PrometheusServer) -> set[tuple]:
    return {
        tuple(sorted((k, v) for k, v in row["metric"].items() if k not in ("__name__", "alertstate")))
        for row in prom.query('ALERTS{alertstate="firing"}')
    }


def _firing_in_vmalert(vm: VictoriaStack) -> set[tuple]:
    return {
        tuple(sorted((k, v) for k, v in a["labels"].items() if k not in ("alertgroup",)))
        for a in vm.alerts()
        if a["state"] == "firing"
    }


def _panels_with_data(api: PrometheusAPI) -> tuple[set[tuple[str, str, str]], list[str]]:
    """(the panel targets that return at least one number, the queries refused with the reason). A NaN is not a
    number here: MetricsQL drops NaN results where PromQL returns them (the cache hit rate with no cache
    lookups is 0/0), and Grafana shows neither as a value."""
    with_data, refused = set(), []
    for uid, panel, target, expr in panel_queries(api):
        try:
            if any(row["value"][1] != "NaN" for row in api.query(expr)):
                with_data.add((uid, panel["title"], target["refId"]))
        except Exception as e:  # noqa: BLE001 - collected, reported below
            refused.append(f"{uid} / {panel['title']} [{target['refId']}]: {e}\n  {expr}")
    return with_data, refused


def test_victoriametrics_fires_what_prometheus_fires_and_answers_every_panel(tmp_path):
    with FakeUpstream() as upstream, WebhookReceiver() as hook:
        options = _options(hook.url)
        out = tmp_path / "generated"
        for path, text in {**rules.outputs(options), **alertmanager.outputs(options)}.items():
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            (out / path).write_text(text)
        rule_files = tuple(str(out / f) for f in (rules.RULES_FILE, rules.ALERTS_FILE))
        proxy = Proxy(tmp_path / "replica", upstream.base_url, workers=2, config=_config(upstream.base_url))
        with (
            proxy,
            AlertmanagerServer((out / alertmanager.FILE).read_text()) as am,
            PrometheusServer({"litellm": [proxy.metrics_target]}, rule_files=rule_files) as prom,
            VictoriaStack(
                {"litellm": [proxy.metrics_target]}, rule_files=rule_files, alertmanager=f"127.0.0.1:{am.port}"
            ) as vm,
        ):
            prom.wait_for('up{job="litellm"} == 1', timeout=60)
            vm.wait_for('up{job="litellm"} == 1', timeout=60)
            traffic = Traffic([proxy], {"user": "svc-a"})
            traffic.start()
            try:
                # 1. healthy: nothing fires in either
                deadline = time.monotonic() + HEALTHY_SECONDS
                while time.monotonic() < deadline:
                    assert not _firing_in_prometheus(prom)
                    assert not _firing_in_vmalert(vm), vm.alerts()
                    time.sleep(3)
                # vmalert's recording rules reached victoria-metrics, and agree with Prometheus's
                ratio = 'provider:litellm_provider_errors:ratio_rate5m{provider="mistral"}'
                assert vm.wait_for(ratio, timeout=60) and prom.wait_for(ratio, timeout=60)

                # 2. the outage: the error rate fires for mistral in both; the same alerts fire in both
                upstream.outage.add(OUTAGE_MODEL)
                wanted = f'ALERTS{{alertname="{ALERT}", provider="mistral", alertstate="firing"}}'
                prom.wait_for(wanted, timeout=240)
                wait_until(
                    lambda: any(
                        dict(a).get("alertname") == ALERT and dict(a).get("provider") == "mistral"
                        for a in _firing_in_vmalert(vm)
                    ),
                    timeout=240,
                    what=f"{ALERT} firing in vmalert",
                    detail=lambda: f"{vm.alerts()}\n{vm.log_tail()}",
                )
                wait_until(
                    lambda: _firing_in_prometheus(prom) == _firing_in_vmalert(vm),
                    timeout=120,
                    what="the same alerts firing in Prometheus and vmalert",
                    detail=lambda: f"prometheus {_firing_in_prometheus(prom)}\nvmalert {_firing_in_vmalert(vm)}",
                )
                hook.wait_for(
                    lambda notes: any(
                        a["status"] == "firing" and a["labels"].get("alertname") == ALERT
                        for n in notes
                        for a in n["alerts"]
                    ),
                    timeout=120,
                    what="vmalert's alert delivered by Alertmanager",
                )

                # 3. every panel: the same ones return data, none refused
                on_prometheus, refused_by_prometheus = _panels_with_data(prom)
                on_victoria, refused_by_victoria = _panels_with_data(vm)
            finally:
                traffic.stop.set()
                traffic.join(60)
            assert not refused_by_prometheus, refused_by_prometheus
            assert not refused_by_victoria, "\n".join(refused_by_victoria)
            assert len(on_prometheus) > 40
            assert on_victoria == on_prometheus, (
                f"only in Prometheus: {sorted(on_prometheus - on_victoria)}\n"
                f"only in VictoriaMetrics: {sorted(on_victoria - on_prometheus)}"
            )
