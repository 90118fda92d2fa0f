"""The PodMonitor `generate --kubernetes` writes: the exporter port by name, the job label the alerts
and dashboards expect, credentials only by Secret reference."""

from __future__ import annotations

import pytest
import yaml

from litellm_observe.generators import generate, monitors
from litellm_observe.generators.options import load


def test_written_only_with_kubernetes():
    options = load(section={}, environ={})
    assert monitors.FILE not in generate.outputs(options)
    resource = yaml.safe_load(generate.outputs(options, kubernetes=True)[monitors.FILE])
    assert resource["apiVersion"] == "monitoring.coreos.com/v1" and resource["kind"] == "PodMonitor"
    endpoint = resource["spec"]["podMetricsEndpoints"][0]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    assert endpoint["relabelings"] == [{"action": "replace", "targetLabel": "job", "replacement": "litellm"}]
    assert resource["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": "litellm"}}
    assert "authorization" not in endpoint and "basicAuth" not in endpoint


def test_the_job_follows_the_alerts_scrape_job_and_secrets_stay_out():
    options = load(section={"bearer_token": "s3cret-token-value", "alerts": {"scrape_job": "llm-gw"}}, environ={})
    text = generate.outputs(options, kubernetes=True)[monitors.FILE]
    endpoint = yaml.safe_load(text)["spec"]["podMetricsEndpoints"][0]
    assert endpoint["relabelings"][0]["replacement"] == "llm-gw"
    assert endpoint["authorization"] == {
        "type": "Bearer",
        "credentials": {"name": "litellm-observe", "key": "bearer-token"},
    }
    assert "s3cret" not in text


# ---- the Helm values (issue 20) --------------------------------------------------------------------------------
def _render_pod(values: dict) -> dict:
    """The pod LiteLLM's chart (deploy/charts/litellm-helm/templates/deployment.yaml) renders for these values:
    its labels (nameOverride `litellm`), the proxy container with the chart's config mount plus `volumeMounts`,
    `extraContainers` after it, the chart's config volume plus `volumes`."""
    proxy = {
        "name": "litellm",
        "args": ["--config", "/etc/litellm/config.yaml"],
        "ports": [{"name": "http", "containerPort": 4000, "protocol": "TCP"}],
        "volumeMounts": [
            {"name": "litellm-config", "mountPath": "/etc/litellm/config.yaml", "subPath": "config.yaml"},
            *values.get("volumeMounts", []),
        ],
    }
    return {
        "metadata": {"labels": {"app.kubernetes.io/name": "litellm", "app.kubernetes.io/instance": "litellm"}},
        "spec": {
            "containers": [proxy, *values.get("extraContainers", [])],
            "volumes": [
                {"name": "litellm-config", "configMap": {"name": "litellm-config"}},
                *values.get("volumes", []),
            ],
        },
    }


@pytest.mark.parametrize("section", [{}, {"port": 9100, "namespace": "acme", "bearer_token": "s3cret-token-value"}])
def test_the_helm_values_render_a_pod_the_podmonitor_scrapes(section):
    from litellm_observe import cli
    from litellm_observe import settings as settings_mod

    options = load(section=section, environ={})
    files = generate.outputs(options, kubernetes=True)
    values = yaml.safe_load(files[monitors.HELM_VALUES])
    monitor = yaml.safe_load(files[monitors.FILE])
    pod = _render_pod(values)
    containers, volumes = pod["spec"]["containers"], {v["name"] for v in pod["spec"]["volumes"]}
    for c in containers:  # every mount names a volume of the pod
        assert {m["name"] for m in c.get("volumeMounts", [])} <= volumes, c["name"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    scraped = [
        (c, p)
        for c in containers
        for p in c.get("ports", [])
        if p["name"] == monitor["spec"]["podMetricsEndpoints"][0]["port"]
    ]
    assert len(scraped) == 1
    sidecar, port = scraped[0]
    # the proxy's settings, as its workers load them from the rendered config.yaml
    proxy_settings = settings_mod.load(section=values["proxy_config"]["litellm_observe"], environ={})
    assert proxy_settings.exporter is False
    assert "litellm_observe.proxy_handler" in values["proxy_config"]["litellm_settings"]["callbacks"]
    # the sidecar's command, as our CLI parses it: it serves the volume the proxy writes to, on the scraped port
    parsed = cli.parser().parse_args(sidecar["command"][1:])
    assert parsed.func is cli.cmd_serve and parsed.port == port["containerPort"] == options.settings.port
    proxy_mount = {m["name"]: m["mountPath"] for m in containers[0]["volumeMounts"]}
    sidecar_mount = {m["name"]: m["mountPath"] for m in sidecar["volumeMounts"]}
    shared = set(proxy_mount) & set(sidecar_mount)
    assert (
        len(shared) == 1
        and proxy_mount[shared.pop()] == sidecar_mount[monitors.VOLUME] == proxy_settings.metrics_dir == parsed.dir
    )
    # the sidecar's settings from its environment: the same namespace and credentials, secrets by reference
    env = {e["name"]: e for e in sidecar.get("env", [])}
    if section:
        assert env["LITELLM_OBSERVE_NAMESPACE"]["value"] == "acme"
        assert env["LITELLM_OBSERVE_BEARER_TOKEN"]["valueFrom"]["secretKeyRef"] == {
            "name": "litellm-observe",
            "key": "bearer-token",
        }
        assert "tcpSocket" in sidecar["readinessProbe"]  # /metrics answers 401 to a probe without credentials
    else:
        assert not env and sidecar["readinessProbe"]["httpGet"]["port"] == monitors.PORT_NAME
    assert "s3cret" not in files[monitors.HELM_VALUES]
