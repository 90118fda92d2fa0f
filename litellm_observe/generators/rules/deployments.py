"""Alerts on single deployments of a model group (one key, region or provider behind a model name):
one that fails every call, and one the router keeps taking out of rotation; each with its options
group and its promtool cases.

A deployment that fails every call while its siblings answer is the classic rotated or revoked
provider key: the group's error rate looks moderate, clients see retries and latency, and only
the per-deployment view shows the cause.

`ALERTS`, at the end, declares them in output order (context.Declaration).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...catalogue import DEPLOYMENT_COOLDOWNS, PROVIDER_ERRORS, PROVIDER_REQUESTS
from .. import fields
from ..promql import durations
from ..promql.build import fmt
from .context import Context, Declaration
from .model import COUNT, MODEL, Expected, Inhibition, Spec, boundary, constant, counter, negative, series

PMD = ("provider", "model", "deployment")
WINDOW = "10m"


@dataclass(frozen=True)
class DeploymentDown:
    for_: str = fields.duration("5m")
    severity: str = fields.severity("warning")


@dataclass(frozen=True)
class DeploymentCoolingDownOften:
    cooldowns_per_hour: float = fields.positive(
        3.0, "fires when a deployment was put in cooldown more often than this over the last hour"
    )
    for_: str = fields.duration("5m")
    severity: str = fields.severity("warning")


def deployment_down(c: Context[DeploymentDown, None]) -> Spec:
    g, q, base = c.group, c.scope, c.base
    req, err = q.sample(PROVIDER_REQUESTS), q.sample(PROVIDER_ERRORS)
    answered = q.sum_increase(req, PMD, WINDOW, 'status_code=~"2.."')
    expr = f"{q.sum_increase(err, PMD, WINDOW)} > 0\nunless on ({', '.join(PMD)})\n{answered} > 0\n"
    alert = c.alert(
        expr,
        g.for_,
        g.severity,
        "A deployment fails every upstream call.",
        "Deployment {deployment} of model {model} ({provider}) failed all of its {value} upstream calls "
        "over the last 10 minutes.",
        COUNT,
        meaning=(
            "Every upstream call to this deployment failed over the last 10 minutes and none was answered, "
            "across all replicas. Its siblings in the model group may still serve, so the group looks "
            "degraded rather than down, at the cost of retries, cooldowns and latency."
        ),
        confirm=q.sum_increase(err, PMD + ("error_type",), WINDOW),
        action=(
            "Look at the error_type: `authentication` or `permission_denied` is a rotated, revoked or "
            "mistyped key (fix the key in the proxy config or the secret it reads); `not_found` a wrong model "
            "or api_base; `rate_limit` a quota; `connection`/`timeout` the network or the provider. Remove the "
            "deployment from the model group until it is fixed."
        ),
    )
    labels = {**base, **MODEL, "deployment": "gpt-4o-eu"}

    def calls(ok_per_minute: float, failed_per_minute: float, length: int = 40):
        return [
            (series(req, {**labels, "status_code": "200"}), counter(ok_per_minute, length)),
            (series(req, {**labels, "status_code": "401"}), counter(failed_per_minute, length)),
            (series(err, {**labels, "error_type": "authentication"}), counter(failed_per_minute, length)),
        ]

    down = {"provider": "openai", "model": "gpt-4o", "deployment": "gpt-4o-eu"}
    return Spec(
        (alert,),
        (
            # 2 failed calls a minute from minute 0: at the boundary (1 + for) the 10m window holds them all
            boundary(
                "every call fails",
                calls(0, 2),
                g.for_,
                1,
                (Expected(alert, down, 2.0 * min(1 + durations.minutes(g.for_), 10)),),
            ),
            negative("some calls fail, some are answered", calls(5, 2), g.for_),
            negative("no calls at all", calls(0, 0), g.for_),
            # two replicas: one only failed, the other answered: the deployment as a whole is not down
            negative(
                "one replica's calls failed, another's were answered",
                [
                    (series(err, {**labels, "error_type": "authentication"}), counter(2, 40)),
                    (series(req, {**labels, "instance": "proxy-b:9464", "status_code": "200"}), counter(5, 40)),
                ],
                g.for_,
            ),
        ),
    )


def deployment_cooling_down_often(c: Context[DeploymentCoolingDownOften, None]) -> Spec:
    g, q, base = c.group, c.scope, c.base
    cooldowns = q.sample(DEPLOYMENT_COOLDOWNS)
    expr = f"{q.sum_increase(cooldowns, PMD, '1h')} > {fmt(g.cooldowns_per_hour)}\n"
    alert = c.alert(
        expr,
        g.for_,
        g.severity,
        "The router keeps taking a deployment out of rotation.",
        "Deployment {deployment} of model {model} ({provider}) was put in cooldown {value} times over the last hour.",
        COUNT,
        meaning=(
            f"LiteLLM's router put this deployment in cooldown more than {fmt(g.cooldowns_per_hour)} times in "
            "an hour, summed over replicas: it fails often enough to trip `allowed_fails`, recovers, and "
            "fails again. Each cooldown moves its traffic to the siblings (or fails it when there is none)."
        ),
        confirm=q.sum_increase(cooldowns, PMD + ("reason",), "1h"),
        action=(
            "The `reason` label is the status code that cooled it down: 429 is a quota (raise it or spread "
            "load with router weights), 401/403 a key, 5xx the provider. Tune `allowed_fails` and "
            "`cooldown_time` in router_settings only once the cause is known."
        ),
    )
    labels = {**base, **MODEL, "deployment": "gpt-4o-eu", "reason": "429"}
    per_hour = g.cooldowns_per_hour
    flapping = {"provider": "openai", "model": "gpt-4o", "deployment": "gpt-4o-eu"}

    def replicas(count: int, per_replica: float):
        """Each replica counts `per_replica` cooldowns in one go at minute 60."""
        return [
            (series(cooldowns, {**labels, "instance": f"proxy-{i}:9464"}), f"0+0x59 {per_replica!r}+0x40")
            for i in range(count)
        ]

    # two replicas each under the threshold alone, over it together
    each = per_hour * 0.75
    return Spec(
        (alert,),
        (
            boundary(
                "two replicas' cooldowns together over the threshold",
                replicas(2, each),
                g.for_,
                60,
                (Expected(alert, flapping, 2 * each),),
            ),
            negative("one replica's cooldowns under the threshold", replicas(1, each), g.for_, 60),
            negative(
                "cooldowns long ago, none since", [(series(cooldowns, labels), constant(per_hour * 2, 130))], g.for_, 60
            ),
        ),
    )


ALERTS = (
    Declaration("LitellmDeploymentDown", DeploymentDown, deployment_down),
    Declaration("LitellmDeploymentCoolingDownOften", DeploymentCoolingDownOften, deployment_cooling_down_often),
)

INHIBITIONS = (
    Inhibition(
        "LitellmDeploymentDown",
        ("LitellmDeploymentCoolingDownOften",),
        ("cluster", "provider", "model", "deployment"),
        "a deployment in cooldown now also cools down often: the outage is the news",
    ),
)
