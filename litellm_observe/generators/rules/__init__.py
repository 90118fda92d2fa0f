"""Prometheus alert and recording rules as code, with their promtool unit tests and runbooks.

`outputs()` is the generator `litellm_observe generate` calls: a pure function of the
options returning {relative path: text}. `lint.problems()` checks what promtool does not.
The alerts are those of the registry (alerts.ALERTS), in its order; the options are read through
`alerts.Inputs` only (generators.options imports this package, never the reverse).
"""

from __future__ import annotations

from . import alerts, callers, runbooks, slo, unit_tests
from .alerts import Inputs
from .model import Recording, Spec
from .yamlout import dump

ALERTS_FILE = "alerts/litellm-alerts.yaml"
RULES_FILE = "alerts/litellm-rules.yaml"
TESTS_DIR = "alerts/tests"
RUNBOOKS = "docs/runbooks.md"
KUBERNETES_FILE = "alerts/kubernetes/litellm-prometheusrule.yaml"
RECORDING_GROUP = "litellm-observe-slo.rules"
CALLER_GROUP = callers.GROUP
ALERT_GROUPS = ("litellm-observe.alerts", "litellm-observe-slo.alerts")


def slo_recording_rules(options: Inputs) -> list[Recording]:
    """The SLO's error ratios, one per window its burn-rate pairs use."""
    return slo.recording_rules(alerts.scope(options), alerts.objective(slo.Objective, options.alerts))


def recording_rules(options: Inputs) -> list[Recording]:
    """Every recording rule: the SLO's, then spend per caller."""
    return slo_recording_rules(options) + callers.recording_rules(alerts.scope(options))


def recording_groups(options: Inputs) -> list[dict]:
    def rules(recorded: list[Recording]) -> list[dict]:
        return [{"record": r.record, "expr": r.expr} for r in recorded]

    return [
        {"name": RECORDING_GROUP, "rules": rules(slo_recording_rules(options))},
        {"name": CALLER_GROUP, "rules": rules(callers.recording_rules(alerts.scope(options)))},
    ]


def alert_groups(specs: list[Spec]) -> list[dict]:
    plain = [a.rule() for sp in specs if sp.name != slo.ALERT for a in sp.alerts]
    burn = [a.rule() for sp in specs if sp.name == slo.ALERT for a in sp.alerts]
    return [{"name": ALERT_GROUPS[0], "rules": plain}, {"name": ALERT_GROUPS[1], "rules": burn}]


def prometheus_rule(groups: list[dict]) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "litellm-observe",
            "labels": {"app.kubernetes.io/name": "litellm-observe", "app.kubernetes.io/part-of": "litellm"},
        },
        "spec": {"groups": groups},
    }


def outputs(options: Inputs, kubernetes: bool = False) -> dict[str, str]:
    specs = alerts.specs(options)
    recording, alerting = recording_groups(options), alert_groups(specs)
    rule_files = [RULES_FILE.split("/")[-1], ALERTS_FILE.split("/")[-1]]
    order = [RECORDING_GROUP, CALLER_GROUP, *ALERT_GROUPS]
    files = {
        RULES_FILE: dump({"groups": recording}),
        ALERTS_FILE: dump({"groups": alerting}),
        RUNBOOKS: runbooks.render(specs),
    }
    cases = slo.recording_cases(
        alerts.scope(options), alerts.objective(slo.Objective, options.alerts), alerts.base_labels(options)
    )
    for step, case in cases.items():
        name = "recording-rules.yaml" if step == 1 else f"recording-rules-{step}m-steps.yaml"
        files[f"{TESTS_DIR}/{name}"] = dump(unit_tests.recording_tests(case, rule_files, order))
    caller_case = callers.recording_case(alerts.scope(options), alerts.base_labels(options))
    files[f"{TESTS_DIR}/recording-rules-callers.yaml"] = dump(
        unit_tests.recording_tests(caller_case, rule_files, order)
    )
    for spec in specs:
        files[f"{TESTS_DIR}/{unit_tests.file_name(spec.name)}"] = dump(unit_tests.alert_tests(spec, rule_files, order))
    if kubernetes:
        files[KUBERNETES_FILE] = dump(prometheus_rule(recording + alerting))
    return dict(sorted(files.items()))


def readme_blocks(options: Inputs) -> dict[str, str]:
    rows = ["| alert | severity | for | what it means |", "| --- | --- | --- | --- |"]
    for spec in alerts.specs(options):
        for a in spec.alerts:
            extra = ", ".join(f"{k}={v}" for k, v in a.labels.items())
            rows.append(
                f"| [`{a.name}`]({RUNBOOKS}#{a.name.lower()}){f' ({extra})' if extra else ''} | "
                f"{a.severity} | {a.for_} | {a.summary} |"
            )
    rows += ["", f"Recording rules (`{RULES_FILE}`; the dashboards may use them):", ""]
    rows += [f"- `{r.record}`: {r.meaning}" for r in recording_rules(options)]
    rows += [
        "",
        f"Alerting rules are in `{ALERTS_FILE}`, their promtool unit tests in `{TESTS_DIR}/`, runbooks in "
        f"`{RUNBOOKS}`. Each alert's threshold, `for` and severity are options of its group under `alerts:` "
        "(Generation options, above); "
        "`litellm_observe generate --kubernetes` also writes a `PrometheusRule` to `alerts/kubernetes/`, "
        "`litellm_observe check` runs promtool on it all.",
    ]
    return {"alerts": "\n".join(rows) + "\n"}
