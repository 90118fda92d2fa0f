"""`alertmanager/alertmanager.yml`: the Alertmanager configuration for the generated alerts (routing by
severity, one notification per incident, the inhibitions the alerts declare; rules/routing.py), and with
`--kubernetes` the same as a Prometheus Operator `AlertmanagerConfig`. `litellm_observe check` runs
`amtool check-config` on it.
"""

from __future__ import annotations

from .options import Options
from .rules import alerts, routing
from .rules.yamlout import dump

FILE = "alertmanager/alertmanager.yml"
KUBERNETES_FILE = "alertmanager/kubernetes/litellm-alertmanagerconfig.yaml"
HEADER = """\
# Written by `litellm_observe generate` from the alert rules and the `alerts.alertmanager` options: do not edit.
# Wire the receivers (litellm-page: critical, litellm-ticket: warning; litellm-default: nowhere) to your own
# integrations, or merge this route and the inhibit_rules into your Alertmanager's configuration.
"""


def config(options: Options) -> dict:
    return routing.config(options.alerts.alertmanager, alerts.inhibitions(options))


def outputs(options: Options, kubernetes: bool = False) -> dict[str, str]:
    cfg = config(options)
    files = {FILE: HEADER + dump(cfg)}
    if kubernetes:
        files[KUBERNETES_FILE] = dump(routing.alertmanager_config_resource(cfg))
    return files


def readme_blocks(options: Options) -> dict[str, str]:
    rows = ["| while this fires | these are not notified | for the same | why |", "| --- | --- | --- | --- |"]
    for i in alerts.inhibitions(options):
        source = f"`{i.source}`" + (f" ({i.source_severity})" if i.source_severity else "")
        targets = "every other alert" if i.targets == ("*",) else ", ".join(f"`{t}`" for t in i.targets)
        targets += f" ({i.target_severity})" if i.target_severity else ""
        rows.append(f"| {source} | {targets} | {', '.join(f'`{e}`' for e in i.equal)} | {i.why} |")
    return {"inhibitions": "\n".join(rows) + "\n"}
