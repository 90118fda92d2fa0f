"""alertmanager and rules/routing: the generated Alertmanager configuration is valid for amtool, routes each
alert by its severity, and a real Alertmanager running it groups and inhibits as the alerts' meaning says."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from litellm_observe.generators import alertmanager, generate
from litellm_observe.generators import options as options_mod
from litellm_observe.generators.promtool import find_amtool
from litellm_observe.generators.rules import alerts, routing
from tests.support.alertmanager_server import AlertmanagerServer, WebhookReceiver

AMTOOL = find_amtool()
needs_amtool = pytest.mark.skipif(AMTOOL is None, reason="amtool missing (scripts/test installs it)")


def _options(**am):
    return options_mod.load(environ={}, section={"alerts": {"alertmanager": am}} if am else {})


def _write(tmp_path, options) -> str:
    path = tmp_path / "alertmanager.yml"
    path.write_text(alertmanager.outputs(options)[alertmanager.FILE])
    return str(path)


@needs_amtool
@pytest.mark.parametrize("am", [{}, {"webhook_url": "http://127.0.0.1:9/hook", "info_receiver": "chat"}])
def test_amtool_accepts_the_configuration(tmp_path, am):
    proc = subprocess.run([AMTOOL, "check-config", _write(tmp_path, _options(**am))], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _receiver(config: str, labels: dict[str, str]) -> str:
    args = [f"{k}={v}" for k, v in labels.items()]
    proc = subprocess.run(
        [AMTOOL, "config", "routes", "test", f"--config.file={config}", *args], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.strip()


@needs_amtool
def test_every_alert_is_routed_by_its_severity(tmp_path):
    options = _options()
    config = _write(tmp_path, options)
    expected = {"critical": routing.PAGE, "warning": routing.TICKET, "info": routing.DEFAULT}
    for spec in alerts.specs(options):
        for a in spec.alerts:
            labels = {"alertname": a.name, **a.labels, "severity": a.severity}
            assert _receiver(config, labels) == expected[a.severity], a.name
    assert _receiver(config, {"alertname": "SomeoneElsesAlert", "severity": "critical"}) == routing.DEFAULT


@needs_amtool
def test_info_goes_where_info_receiver_says(tmp_path):
    config = _write(tmp_path, _options(info_receiver="chat"))
    assert _receiver(config, {"alertname": "LitellmCacheHitRateLow", "severity": "info"}) == "chat"


def test_the_inhibitions_name_declared_alerts_and_follow_the_burn_severities():
    rules = routing.config(_options().alerts.alertmanager, alerts.inhibitions(_options()))["inhibit_rules"]
    burn = next(r for r in rules if 'alertname="LitellmProviderErrorBudgetBurn"' in r["source_matchers"])
    assert 'severity="critical"' in burn["source_matchers"] and 'severity="warning"' in burn["target_matchers"]
    same = options_mod.load(
        environ={}, section={"alerts": {"provider_error_budget_burn": {"ticket_severity": "critical"}}}
    )
    assert not [i for i in alerts.inhibitions(same) if i.source == "LitellmProviderErrorBudgetBurn"]


def test_kubernetes_writes_an_alertmanagerconfig_with_the_same_routes_and_inhibitions():
    files = alertmanager.outputs(_options(), kubernetes=True)
    resource = yaml.safe_load(files[alertmanager.KUBERNETES_FILE])
    plain = yaml.safe_load(files[alertmanager.FILE])
    assert resource["kind"] == "AlertmanagerConfig" and resource["apiVersion"] == "monitoring.coreos.com/v1alpha1"
    spec = resource["spec"]
    assert [r["receiver"] for r in spec["route"]["routes"]] == [r["receiver"] for r in plain["route"]["routes"]]
    assert len(spec["inhibitRules"]) == len(plain["inhibit_rules"])
    assert {"name": "severity", "value": "critical", "matchType": "="} in spec["route"]["routes"][0]["matchers"]


def test_generate_writes_it_and_the_readme_lists_the_inhibitions():
    files = generate.outputs(_options())
    assert alertmanager.FILE in files
    block = alertmanager.readme_blocks(_options())["inhibitions"]
    for i in alerts.inhibitions(_options()):
        assert f"`{i.source}`" in block


# ---- a real Alertmanager running the generated configuration -----------------------------------------------
def _alert(name: str, severity: str, **labels: str) -> dict:
    return {"labels": {"alertname": name, "severity": severity, **labels}, "annotations": {"summary": name}}


@pytest.mark.e2e
def test_a_real_alertmanager_groups_and_inhibits_as_declared():
    with WebhookReceiver() as hook:
        options = _options(webhook_url=hook.url, group_wait="1s", group_interval="1s")
        with AlertmanagerServer(alertmanager.outputs(options)[alertmanager.FILE]) as am:
            burn = dict(long_window="1h", short_window="5m")
            posted = [
                _alert("LitellmProviderErrorBudgetBurn", "critical", provider="openai", **burn),
                _alert("LitellmProviderErrorBudgetBurn", "warning", provider="openai", long_window="1d"),
                _alert("LitellmHighErrorRate", "warning", provider="openai"),
                _alert("LitellmHighErrorRate", "warning", provider="anthropic"),  # another provider: notified
                _alert("LitellmMetricsAbsent", "critical", job="litellm", instance="proxy-a:9464"),
                _alert("LitellmWorkersKilled", "warning", instance="proxy-a:9464"),  # the silent target's
                _alert("LitellmWorkersKilled", "warning", instance="proxy-b:9464"),  # another target's
                _alert("LitellmDeploymentDown", "warning", provider="azure", model="gpt-4o", deployment="eu"),
                _alert("LitellmDeploymentDown", "warning", provider="openai", model="gpt-4o", deployment="us"),
                _alert(
                    "LitellmDeploymentCoolingDownOften", "warning", provider="azure", model="gpt-4o", deployment="eu"
                ),
                _alert("LitellmCacheHitRateLow", "info", model="gpt-4o"),  # info: nowhere
            ]
            am.post(posted)
            am.post(posted[:1])  # a second Prometheus of an HA pair sends the same alert: still one notification

            def key(alert: dict) -> tuple:
                labels = alert["labels"]
                return (labels["alertname"], labels["severity"], labels.get("provider", ""), labels.get("instance", ""))

            page = {
                ("LitellmProviderErrorBudgetBurn", "critical", "openai", ""),
                ("LitellmMetricsAbsent", "critical", "", "proxy-a:9464"),
            }
            ticket = {
                ("LitellmHighErrorRate", "warning", "anthropic", ""),
                ("LitellmWorkersKilled", "warning", "", "proxy-b:9464"),
                ("LitellmDeploymentDown", "warning", "azure", ""),
            }

            def notified(notes: list[dict]) -> set[tuple]:
                return {key(a) for n in notes for a in n["alerts"] if a["status"] == "firing"}

            notes = hook.wait_for(lambda n: notified(n) >= page | ticket, what=str(sorted(page | ticket)))
            states = {key(a): a["status"]["state"] for a in am.alerts()}
            assert {k for k, state in states.items() if state == "suppressed"} == {
                ("LitellmProviderErrorBudgetBurn", "warning", "openai", ""),  # a page-level burn of the provider
                ("LitellmHighErrorRate", "warning", "openai", ""),
                ("LitellmWorkersKilled", "warning", "", "proxy-a:9464"),  # its target sends no data
                ("LitellmDeploymentCoolingDownOften", "warning", "azure", ""),  # the deployment is down
                ("LitellmDeploymentDown", "warning", "openai", ""),  # its provider's page says it
            }
            assert notified(notes) == page | ticket, sorted(notified(notes))
            by_receiver: dict[str, set] = {}
            for n in notes:
                by_receiver.setdefault(n["receiver"], set()).update(key(a) for a in n["alerts"])
            assert by_receiver == {routing.PAGE: page, routing.TICKET: ticket}  # info went nowhere
            assert len([n for n in notes if n["groupLabels"].get("alertname") == "LitellmProviderErrorBudgetBurn"]) == 1
