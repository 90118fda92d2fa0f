"""The PodMonitor `generate --kubernetes` writes: the exporter port by name, the job label the alerts
and dashboards expect, credentials only by Secret reference."""
from __future__ import annotations

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
    assert endpoint["authorization"] == {"type": "Bearer", "credentials": {"name": "litellm-observe",
                                                                           "key": "bearer-token"}}
    assert "s3cret" not in text
