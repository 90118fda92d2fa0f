"""`--kubernetes`: a Prometheus Operator PodMonitor that scrapes every proxy pod's exporter, and values for
LiteLLM's Helm chart that run the exporter as a sidecar container.

The PodMonitor selects the pods of LiteLLM's Helm chart (`app.kubernetes.io/name: litellm`), scrapes the
container port named `metrics`, and sets the `job` label to `alerts.scrape_job`, so the generated alerts
(LitellmMetricsAbsent) and the dashboards' `job` variable see the targets as they would with a plain
scrape config. A ServiceMonitor variant is in the README.

The Helm values (the chart's `proxy_config`, `volumes`, `volumeMounts` and `extraContainers`) give the pod
the Kubernetes sidecar pattern: the proxy writes its samples to an `emptyDir` (`metrics_dir`, with
`exporter: false`), and a `serve-metrics` container on the same volume serves them on the port named
`metrics`. The sidecar keeps totals across proxy restarts (it folds ended runs) and judges runs by their
directory locks, which hold across the two containers (rundir/runs.py).
"""

from __future__ import annotations

from ..settings import Settings
from .options import Options
from .rules.yamlout import dump

FILE = "kubernetes/litellm-podmonitor.yaml"
HELM_VALUES = "kubernetes/litellm-helm-values.yaml"
POD_LABELS = {"app.kubernetes.io/name": "litellm"}
PORT_NAME = "metrics"
VOLUME = "litellm-observe"
MOUNT = "/var/run/litellm-observe"
IMAGE = "your-registry/litellm-with-observe:tag"  # the proxy's image, with litellm-observe installed (README)


SECRET = "litellm-observe"


def _secret(key: str) -> dict:
    return {"name": SECRET, "key": key}


def pod_monitor(options: Options) -> dict:
    endpoint: dict[str, object] = {
        "port": PORT_NAME,
        "path": "/metrics",
        "interval": "15s",
        "relabelings": [{"action": "replace", "targetLabel": "job", "replacement": options.alerts.scrape_job}],
    }
    # the secret itself never goes into a generated file: name the Secret that holds it
    if options.settings.bearer_token:
        endpoint["authorization"] = {"type": "Bearer", "credentials": _secret("bearer-token")}
    elif options.settings.basic_auth_username:
        endpoint["basicAuth"] = {"username": _secret("username"), "password": _secret("password")}
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "litellm-observe", "labels": {"app.kubernetes.io/part-of": "litellm-observe"}},
        "spec": {"selector": {"matchLabels": dict(POD_LABELS)}, "podMetricsEndpoints": [endpoint]},
    }


def helm_values(options: Options) -> dict:
    """Values for LiteLLM's Helm chart: the callback, the shared volume, the `serve-metrics` sidecar."""
    s = options.settings
    probe: dict[str, object] = {"httpGet": {"path": "/metrics", "port": PORT_NAME}, "periodSeconds": 10}
    env: list[dict[str, object]] = []  # the sidecar's settings that differ from the defaults; secrets only by reference
    if s.namespace != Settings().namespace:
        env.append({"name": "LITELLM_OBSERVE_NAMESPACE", "value": s.namespace})
    if s.bearer_token:
        env.append({"name": "LITELLM_OBSERVE_BEARER_TOKEN", "valueFrom": {"secretKeyRef": _secret("bearer-token")}})
    elif s.basic_auth_username:
        env += [
            {"name": "LITELLM_OBSERVE_BASIC_AUTH_USERNAME", "valueFrom": {"secretKeyRef": _secret("username")}},
            {"name": "LITELLM_OBSERVE_BASIC_AUTH_PASSWORD", "valueFrom": {"secretKeyRef": _secret("password")}},
        ]
    if s.bearer_token or s.basic_auth_username:
        probe = {"tcpSocket": {"port": PORT_NAME}, "periodSeconds": 10}  # /metrics answers 401 without credentials
    sidecar = {
        "name": "litellm-observe",
        "image": IMAGE,
        "command": ["litellm_observe", "serve-metrics", "--dir", MOUNT, "--address", "0.0.0.0", "--port", str(s.port)],
        **({"env": env} if env else {}),
        "ports": [{"name": PORT_NAME, "containerPort": s.port, "protocol": "TCP"}],
        "volumeMounts": [{"name": VOLUME, "mountPath": MOUNT}],
        "readinessProbe": probe,
        "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False},
        "resources": {"requests": {"cpu": "10m", "memory": "48Mi"}, "limits": {"memory": "256Mi"}},
    }
    return {
        "proxy_config": {
            "litellm_settings": {"callbacks": ["litellm_observe.proxy_handler"]},
            "litellm_observe": {"metrics_dir": MOUNT, "exporter": False},
        },
        "volumes": [{"name": VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}],
        "volumeMounts": [{"name": VOLUME, "mountPath": MOUNT}],
        "extraContainers": [sidecar],
    }


HELM_HEADER = """\
# Values for LiteLLM's Helm chart (deploy/charts/litellm-helm), written by `litellm_observe generate --kubernetes`:
#   helm upgrade --install litellm litellm/litellm-helm -f your-values.yaml -f litellm-helm-values.yaml
# The proxy writes its samples to the `litellm-observe` emptyDir (metrics_dir, exporter: false); the sidecar
# container serves them on the port named `metrics`, which litellm-podmonitor.yaml scrapes. Both containers
# must run as the same user (they do unless you give them different securityContexts).
# Helm merges maps but replaces lists: if your values set proxy_config.litellm_settings.callbacks, add
# "litellm_observe.proxy_handler" to your list instead. `image` must be your proxy's image, with
# litellm-observe installed (README: In LiteLLM's container image).
"""


def outputs(options: Options, kubernetes: bool = False) -> dict[str, str]:
    if not kubernetes:
        return {}
    return {FILE: dump(pod_monitor(options)), HELM_VALUES: HELM_HEADER + dump(helm_values(options))}


def readme_blocks(options: Options) -> dict[str, str]:
    return {}
