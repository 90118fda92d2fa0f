"""`--kubernetes`: a Prometheus Operator PodMonitor that scrapes every proxy pod's exporter.

It selects the pods of LiteLLM's Helm chart (`app.kubernetes.io/name: litellm`), scrapes the container
port named `metrics` (declare `containerPort: <port>` with that name beside the proxy's own port), and
sets the `job` label to `alerts.scrape_job`, so the generated alerts (LitellmMetricsAbsent) and the
dashboards' `job` variable see the targets as they would with a plain scrape config. A ServiceMonitor
variant is in the README.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .rules.yamlout import dump

if TYPE_CHECKING:
    from .options import Options

FILE = "kubernetes/litellm-podmonitor.yaml"
POD_LABELS = {"app.kubernetes.io/name": "litellm"}
PORT_NAME = "metrics"


SECRET = "litellm-observe"


def _secret(key: str) -> dict:
    return {"name": SECRET, "key": key}


def pod_monitor(options: Options) -> dict:
    endpoint = {"port": PORT_NAME, "path": "/metrics", "interval": "15s",
                "relabelings": [{"action": "replace", "targetLabel": "job",
                                 "replacement": options.alerts.scrape_job}]}
    # the secret itself never goes into a generated file: name the Secret that holds it
    if options.settings.bearer_token:
        endpoint["authorization"] = {"type": "Bearer", "credentials": _secret("bearer-token")}
    elif options.settings.basic_auth_username:
        endpoint["basicAuth"] = {"username": _secret("username"), "password": _secret("password")}
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
            "metadata": {"name": "litellm-observe", "labels": {"app.kubernetes.io/part-of": "litellm-observe"}},
            "spec": {"selector": {"matchLabels": dict(POD_LABELS)}, "podMetricsEndpoints": [endpoint]}}


def outputs(options: Options, kubernetes: bool = False) -> dict[str, str]:
    return {FILE: dump(pod_monitor(options))} if kubernetes else {}


def readme_blocks(options: Options) -> dict[str, str]:
    return {}
