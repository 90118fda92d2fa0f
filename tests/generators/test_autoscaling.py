"""autoscaling: the Prometheus Adapter rules select the fleet simulator's series and serve each pod's rate;
the HPA asks for exactly the metrics the adapter serves.

The adapter's queries are expanded as the adapter expands them (`<<.Series>>`, `<<.LabelMatchers>>`,
`<<.GroupBy>>`) and evaluated in promtool over the simulator's expositions (benchmarks/fleet.py) a minute
apart, with the target labels a PodMonitor gives; the expected per-pod rates come from the simulator's own
per-series rates."""

from __future__ import annotations

import os
import re
import sys

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from litellm_observe.generators import autoscaling, monitors, promtool
from litellm_observe.generators import options as options_mod

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
import fleet  # noqa: E402

PODS = 3
MINUTES = 6


def load(alert_options: dict | None = None) -> options_mod.Options:
    return options_mod.load(environ={}, section={"alerts": alert_options} if alert_options else {})


def test_written_only_with_kubernetes_and_the_hpa_asks_for_what_the_adapter_serves():
    o = load()
    assert autoscaling.outputs(o) == {}
    files = autoscaling.outputs(o, kubernetes=True)
    adapter = yaml.safe_load(files[autoscaling.ADAPTER_VALUES])
    hpa = yaml.safe_load(files[autoscaling.HPA])
    served = {rule["name"]["as"] for rule in adapter["rules"]["custom"]}
    asked = {m["pods"]["metric"]["name"] for m in hpa["spec"]["metrics"]}
    assert served == asked == {m.name for m in autoscaling.CUSTOM_METRICS}
    assert adapter["rules"]["default"] is False
    assert hpa["apiVersion"] == "autoscaling/v2" and hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    assert all(m["pods"]["target"]["type"] == "AverageValue" for m in hpa["spec"]["metrics"])
    for rule in adapter["rules"]["custom"]:
        assert set(rule["resources"]["overrides"]) == {"namespace", "pod"}
        assert re.fullmatch(rule["name"]["matches"], rule["seriesQuery"].split("{")[0])
    # the labels the adapter maps are the ones the generated PodMonitor's targets get from Kubernetes
    assert monitors.pod_monitor(o)["kind"] == "PodMonitor"


def _input_series(options: options_mod.Options) -> list[dict]:
    """Every sample of the simulator's replicas for the two counters, a minute apart, with a PodMonitor's
    target labels (and the selector's label, when one is set); plus one replica scraped without them."""
    started = 1_000_000.0
    wanted = {m.counter.family(options.namespace) for m in autoscaling.CUSTOM_METRICS}
    values: dict[str, list[float]] = {}
    for index in range(PODS + 1):
        replica = fleet.Replica(index, started)
        writer = fleet.writer(options.namespace)
        extra = {"namespace": "litellm", **({"pod": fleet.pod(index)} if index < PODS else {})}  # the last: no pod
        extra.update({"job": "litellm", "instance": f"{fleet.pod(index)}:9464"})
        if options.alerts.selector:
            extra["cluster"] = "prod"
        for minute in range(MINUTES + 1):
            now = started + 60 * minute
            text = writer(replica.series(now), now).decode()
            for family in text_string_to_metric_families(text):
                if family.name not in wanted:
                    continue
                for sample in family.samples:
                    if not sample.name.endswith("_total"):
                        continue
                    labels = {**sample.labels, **extra}
                    body = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
                    values.setdefault(f"{sample.name}{{{body}}}", []).append(sample.value)
    return [{"series": s, "values": " ".join(repr(v) for v in vs)} for s, vs in values.items()]


def _expected_rate(metric: autoscaling.CustomMetric, index: int) -> float:
    replica = fleet.Replica(index, 0.0)
    return sum(rate for (name, _), rate in replica.rates.items() if name == metric.counter.name) * replica.scale


@pytest.mark.parametrize("alert_options", [None, {"selector": 'cluster="prod"'}], ids=["default", "selector"])
def test_adapter_queries_select_the_simulated_fleet_and_give_each_pod_its_rate(tmp_path, alert_options):
    o = load(alert_options)
    adapter = yaml.safe_load(autoscaling.outputs(o, kubernetes=True)[autoscaling.ADAPTER_VALUES])
    cases = []
    pods = "|".join(fleet.pod(i) for i in range(PODS))
    for metric, rule in zip(autoscaling.CUSTOM_METRICS, adapter["rules"]["custom"]):
        series = rule["seriesQuery"].split("{")[0]
        query = (
            rule["metricsQuery"]
            .replace("<<.Series>>", series)
            .replace("<<.LabelMatchers>>", f'namespace="litellm",pod=~"{pods}"')
            .replace("<<.GroupBy>>", "pod")
        )
        per_replica = len(fleet.label_rows(metric.counter))
        cases.append(  # what the seriesQuery discovers: every pod's series, not the one scraped without a pod
            {
                "expr": f"count by (pod) ({rule['seriesQuery']})",
                "eval_time": f"{MINUTES}m",
                "exp_samples": [{"labels": f'{{pod="{fleet.pod(i)}"}}', "value": per_replica} for i in range(PODS)],
            }
        )
        cases.append(  # asked for every pod at once: one series per pod, labelled by pod alone
            {
                "expr": f"{query} > bool 0",
                "eval_time": f"{MINUTES}m",
                "exp_samples": [{"labels": f'{{pod="{fleet.pod(i)}"}}', "value": 1} for i in range(PODS)],
            }
        )
        for i in range(PODS):
            expected = _expected_rate(metric, i)
            one = query.replace(f'pod=~"{pods}"', f'pod="{fleet.pod(i)}"')  # the adapter asking for one pod
            cases.append(
                {
                    "expr": f"abs(({one}) / {expected!r} - 1) < bool 1e-4",
                    "eval_time": f"{MINUTES}m",
                    "exp_samples": [{"labels": f'{{pod="{fleet.pod(i)}"}}', "value": 1}],
                }
            )
    tests = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": _input_series(o), "promql_expr_test": cases}],
    }
    path = tmp_path / "adapter-test.yaml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    ok, out = promtool.test_rules(str(path))
    assert ok, out[-3000:]
