"""Prometheus alert and recording rules as code, with their promtool unit tests and runbooks.

`outputs()` is the generator `litellm_observe generate` calls: a pure function of the
options returning {relative path: text}. `lint.problems()` checks what promtool does not.
The alerts are those of the registry (alerts.ALERTS), in its order; the options are read through
`alerts.Inputs` only (generators.options imports this package, never the reverse).
"""

from __future__ import annotations

import re

from ..promql.durations import seconds
from . import alerts, callers, runbooks, slo, unit_tests
from .alerts import Inputs
from .context import Declaration
from .model import Recording, Spec
from .yamlout import dump

ALERTS_FILE = "alerts/litellm-alerts.yaml"
RULES_FILE = "alerts/litellm-rules.yaml"
TESTS_DIR = "alerts/tests"
RUNBOOKS = "docs/runbooks.md"
KUBERNETES_FILE = "alerts/kubernetes/litellm-prometheusrule.yaml"
RECORDING_GROUP = "litellm-observe-slo.rules"
SLOW_GROUP = "litellm-observe-slo-slow.rules"
CALLER_GROUP = callers.GROUP


def alert_group(declaration: Declaration) -> str:
    """The group of a declaration's alert: one per topic module (rules/upstream.py: litellm-observe-upstream.alerts),
    as kubernetes-mixin groups by area. Prometheus evaluates groups side by side and each group's rules one after
    the other, so a group holds one topic's few rules and its evaluation time stays that of its own rules."""
    return f"litellm-observe-{declaration.build.__module__.rsplit('.', 1)[-1]}.alerts"


def slo_recording_rules(options: Inputs, among: list[str] | None = None) -> list[Recording]:
    """The SLO's error ratios, one per window its burn-rate pairs use (or per window of `among`)."""
    return slo.recording_rules(alerts.scope(options), alerts.objective(slo.Objective, options.alerts), among)


def recording_rules(options: Inputs) -> list[Recording]:
    """Every recording rule: the SLO's, then spend per caller."""
    return slo_recording_rules(options) + callers.recording_rules(alerts.scope(options))


def slow_windows(options: Inputs, alerting: list[dict]) -> list[str]:
    """The SLO windows whose ratio every alert that reads it holds `for` slo.PATIENT or longer (slo.SLOW_INTERVAL)."""
    q = alerts.scope(options)

    def patient(window: str) -> bool:
        reads = re.compile(rf"\b{re.escape(slo.ratio_record(window, q))}\b")
        readers = [r for g in alerting for r in g["rules"] if reads.search(r["expr"])]
        return all(seconds(r.get("for", "0s")) >= seconds(slo.PATIENT) for r in readers)

    return [w for w in slo.windows() if patient(w)]


def recording_groups(options: Inputs, alerting: list[dict]) -> list[dict]:
    """The SLO's ratios (those only patient alerts read in SLOW_GROUP), then spend per caller. `alerting`: the
    alert groups (alert_groups) that read them."""

    def rules(recorded: list[Recording]) -> list[dict]:
        return [{"record": r.record, "expr": r.expr} for r in recorded]

    slow = slow_windows(options, alerting)
    fast = [w for w in slo.windows() if w not in slow]
    return [
        {"name": RECORDING_GROUP, "rules": rules(slo_recording_rules(options, fast))},
        {"name": SLOW_GROUP, "interval": slo.SLOW_INTERVAL, "rules": rules(slo_recording_rules(options, slow))},
        {"name": CALLER_GROUP, "rules": rules(callers.recording_rules(alerts.scope(options)))},
    ]


def alert_groups(specs: list[Spec]) -> list[dict]:
    """The alerts of `specs` (one per declaration, in ALERTS order), one group per topic, in ALERTS order."""
    if [s.name for s in specs] != [d.name for d in alerts.ALERTS]:
        raise ValueError("alert_groups takes the specs of every declaration, in ALERTS order")
    groups: dict[str, list[dict]] = {}
    for declaration, spec in zip(alerts.ALERTS, specs):
        groups.setdefault(alert_group(declaration), []).extend(a.rule() for a in spec.alerts)
    return [{"name": name, "rules": rules} for name, rules in groups.items()]


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
    alerting = alert_groups(specs)
    recording = recording_groups(options, alerting)
    rule_files = [RULES_FILE.split("/")[-1], ALERTS_FILE.split("/")[-1]]
    # promtool evaluates the groups in this order each step (unit_tests._header): recording rules first
    order = [g["name"] for g in recording + alerting]
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
    specs = alerts.specs(options)
    for spec in specs:
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
        f"Rule groups: the alerts in one group per topic (`{alert_group(alerts.ALERTS[0])}`, ...; Prometheus "
        "evaluates groups side by side and a group's rules one after another); the SLO ratios that only alerts "
        f"holding `for` {slo.PATIENT} or longer read ({', '.join(slow_windows(options, alert_groups(specs)))}) "
        f"in `{SLOW_GROUP}`, evaluated every {slo.SLOW_INTERVAL}, the others in `{RECORDING_GROUP}` at your "
        "evaluation interval.",
        "",
        f"Alerting rules are in `{ALERTS_FILE}`, their promtool unit tests in `{TESTS_DIR}/`, runbooks in "
        f"`{RUNBOOKS}`. Each alert's threshold, `for` and severity are options of its group under `alerts:` "
        "(Generation options, above); "
        "`litellm_observe generate --kubernetes` also writes a `PrometheusRule` to `alerts/kubernetes/`, "
        "`litellm_observe check` runs promtool on it all.",
    ]
    return {"alerts": "\n".join(rows) + "\n"}
