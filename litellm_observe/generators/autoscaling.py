"""`--kubernetes`: autoscaling the proxy on its own traffic, as LiteLLM's scaling guide does: Prometheus Adapter
rules that expose each pod's request rate and token rate as custom metrics, and an HPA that uses them.

- `kubernetes/prometheus-adapter-values.yaml`: values for the prometheus-community `prometheus-adapter` chart
  (`rules.custom`). Each rule selects our counter where Kubernetes service discovery gave it `namespace` and
  `pod` labels (the PodMonitor does: monitors.py), maps those labels to the namespace and pod resources, and
  serves `sum by (pod) (rate(...[RATE_WINDOW]))` under a name of its own (CUSTOM_METRICS).
- `kubernetes/litellm-hpa.yaml`: an `autoscaling/v2` HorizontalPodAutoscaler for the chart's Deployment on
  both custom metrics (per-pod averages; the larger desired count wins, as the HPA always does).

The targets (TARGETS) are starting points, not options: a replica's capacity depends on the models behind it
and is measured, not guessed (README: Autoscaling). tests/generators/test_autoscaling.py evaluates the
adapter's queries, as the adapter expands them, over the fleet simulator's output (benchmarks/fleet.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..catalogue import REQUESTS, TOKENS_USED, Metric
from .options import Options
from .promql.build import Scope, selector
from .rules import alerts
from .rules.yamlout import dump

ADAPTER_VALUES = "kubernetes/prometheus-adapter-values.yaml"
HPA = "kubernetes/litellm-hpa.yaml"
DEPLOYMENT = "litellm"  # the chart's Deployment for a release named litellm (the README's helm command)
RATE_WINDOW = "2m"  # eight scrapes at the PodMonitor's 15 s: one missed scrape does not move the rate


@dataclass(frozen=True)
class CustomMetric:
    name: str  # what the HPA asks the custom metrics API for
    counter: Metric
    target: str  # per-pod average the HPA holds (a Kubernetes quantity)
    meaning: str


CUSTOM_METRICS = (
    CustomMetric("litellm_requests_per_second", REQUESTS, "10", "client requests per second, per pod"),
    CustomMetric("litellm_tokens_per_second", TOKENS_USED, "5k", "tokens billed per second (input + output), per pod"),
)
MIN_REPLICAS, MAX_REPLICAS = 2, 200


def adapter_rule(scope: Scope, metric: CustomMetric) -> dict:
    series = scope.sample(metric.counter)
    # the adapter fills in the pods it asks for (<<.LabelMatchers>>); the selector's matchers go beside them
    asked = selector("<<.Series>>", ("<<.LabelMatchers>>", *scope.matchers))
    return {
        "seriesQuery": scope.select(series, 'namespace!=""', 'pod!=""'),
        "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
        "name": {"matches": f"^{series}$", "as": metric.name},
        "metricsQuery": f"sum by (<<.GroupBy>>) (rate({asked}[{RATE_WINDOW}]))",
    }


def adapter_values(options: Options) -> dict:
    scope = alerts.scope(options)
    return {"rules": {"default": False, "custom": [adapter_rule(scope, m) for m in CUSTOM_METRICS]}}


def hpa(options: Options) -> dict:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": DEPLOYMENT, "labels": {"app.kubernetes.io/part-of": "litellm-observe"}},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": DEPLOYMENT},
            "minReplicas": MIN_REPLICAS,
            "maxReplicas": MAX_REPLICAS,
            "metrics": [
                {
                    "type": "Pods",
                    "pods": {"metric": {"name": m.name}, "target": {"type": "AverageValue", "averageValue": m.target}},
                }
                for m in CUSTOM_METRICS
            ],
            # scale up at once, down slowly: a proxy that sheds replicas mid-burst drops connections
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        },
    }


HEADER = """\
# Written by `litellm_observe generate --kubernetes`; see the README (Autoscaling).
"""


def outputs(options: Options, kubernetes: bool = False) -> dict[str, str]:
    if not kubernetes:
        return {}
    adapter = (
        HEADER + "#   helm upgrade --install prometheus-adapter prometheus-community/prometheus-adapter -f this-file\n"
        "# (set prometheus.url and prometheus.port to your Prometheus in your own values)\n"
    )
    return {ADAPTER_VALUES: adapter + dump(adapter_values(options)), HPA: HEADER + dump(hpa(options))}


def readme_blocks(options: Options) -> dict[str, str]:
    return {}
