"""Where the alerts go: the Alertmanager routing, grouping and receivers, as options beside the rules
(`alerts.alertmanager`), and the configuration built from them and the inhibitions the alerts declare
(model.Inhibition, beside each source alert).

Policy: critical alerts page (receiver `litellm-page`), warnings make a ticket (`litellm-ticket`), info goes
nowhere (`litellm-default`, a receiver with no integration) unless `info_receiver` names one. The receivers
are named for the user to wire to their own integrations (or all to one webhook, `webhook_url`). One
notification per incident: alerts are grouped by name and by the provider, model and deployment they carry
(and `cluster`, when remote-write external labels add it), so an outage of one provider is one notification
however many replicas and rules see it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import fields
from .model import Inhibition

PAGE, TICKET, DEFAULT = "litellm-page", "litellm-ticket", "litellm-default"
GROUP_BY = ("alertname", "cluster", "provider", "model", "deployment")
ALERT_NAMES = 'alertname=~"Litellm.+"'


@dataclass(frozen=True)
class AlertmanagerOptions:
    group_wait: str = fields.duration("30s", "how long a new group waits for more alerts before its first notification")
    group_interval: str = fields.duration("5m", "how long a group waits before notifying of alerts added to it")
    repeat_interval: str = fields.duration("4h", "how often a still-firing group is notified again")
    info_receiver: str = fields.option(
        "", "empty, or a receiver name", lambda v: v == "" or v.strip() == v, "where info alerts go (empty: nowhere)"
    )
    webhook_url: str = fields.url(
        "", "a webhook the page and ticket receivers post to (empty: receivers with no integration)"
    )


def matcher(label: str, value: str, regex: bool = False, negative: bool = False) -> str:
    op = {(False, False): "=", (True, False): "=~", (False, True): "!=", (True, True): "!~"}[(regex, negative)]
    return f'{label}{op}"{value}"'


def _targets(i: Inhibition) -> list[str]:
    if i.targets == ("*",):
        out = [ALERT_NAMES, matcher("alertname", i.source, negative=True)]
    elif len(i.targets) == 1:
        out = [matcher("alertname", i.targets[0])]
    else:
        out = [matcher("alertname", "|".join(i.targets), regex=True)]
    return out + ([matcher("severity", i.target_severity)] if i.target_severity else [])


def inhibit_rule(i: Inhibition) -> dict:
    source = [matcher("alertname", i.source)] + ([matcher("severity", i.source_severity)] if i.source_severity else [])
    return {"source_matchers": source, "target_matchers": _targets(i), "equal": list(i.equal)}


def config(o: AlertmanagerOptions, inhibitions: list[Inhibition]) -> dict:
    """Alertmanager's configuration file, as a mapping."""

    def receiver(name: str) -> dict:
        """`litellm-default` is nowhere: no integration, whatever `webhook_url` says."""
        hook = {"webhook_configs": [{"url": o.webhook_url, "send_resolved": True}]} if o.webhook_url else {}
        hook = {} if name == DEFAULT else hook
        return {"name": name, **hook}

    routes = [
        {"receiver": PAGE, "matchers": [ALERT_NAMES, matcher("severity", "critical")]},
        {"receiver": TICKET, "matchers": [ALERT_NAMES, matcher("severity", "warning")]},
    ]
    names = [DEFAULT, PAGE, TICKET]
    if o.info_receiver:
        routes.append({"receiver": o.info_receiver, "matchers": [ALERT_NAMES, matcher("severity", "info")]})
        if o.info_receiver not in names:
            names.append(o.info_receiver)
    return {
        "route": {
            "receiver": DEFAULT,
            "group_by": list(GROUP_BY),
            "group_wait": o.group_wait,
            "group_interval": o.group_interval,
            "repeat_interval": o.repeat_interval,
            "routes": routes,
        },
        "inhibit_rules": [inhibit_rule(i) for i in inhibitions],
        "receivers": [receiver(n) for n in names],
    }


def _crd_matchers(matchers: list[str]) -> list[dict]:
    """`a=~"b"` strings as the operator's AlertmanagerConfig matcher objects."""
    out = []
    for m in matchers:
        for op in ("!~", "=~", "!=", "="):
            if op in m:
                name, value = m.split(op, 1)
                out.append({"name": name, "value": value.strip('"'), "matchType": op})
                break
    return out


def alertmanager_config_resource(cfg: dict) -> dict:
    """The same configuration as a Prometheus Operator AlertmanagerConfig (monitoring.coreos.com/v1alpha1;
    the operator adds a matcher on the object's namespace to its routes and inhibitions)."""

    def route(r: dict) -> dict:
        return {"receiver": r["receiver"], "matchers": _crd_matchers(r["matchers"])}

    top = cfg["route"]
    receivers = []
    for r in cfg["receivers"]:
        hooks = [{"url": h["url"], "sendResolved": h["send_resolved"]} for h in r.get("webhook_configs", [])]
        receivers.append({"name": r["name"], **({"webhookConfigs": hooks} if hooks else {})})
    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": {"name": "litellm-observe", "labels": {"app.kubernetes.io/part-of": "litellm-observe"}},
        "spec": {
            "route": {
                "receiver": top["receiver"],
                "groupBy": top["group_by"],
                "groupWait": top["group_wait"],
                "groupInterval": top["group_interval"],
                "repeatInterval": top["repeat_interval"],
                "routes": [route(r) for r in top["routes"]],
            },
            "receivers": receivers,
            "inhibitRules": [
                {
                    "sourceMatch": _crd_matchers(i["source_matchers"]),
                    "targetMatch": _crd_matchers(i["target_matchers"]),
                    "equal": i["equal"],
                }
                for i in cfg["inhibit_rules"]
            ],
        },
    }
