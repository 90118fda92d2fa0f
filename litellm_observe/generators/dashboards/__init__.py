"""Grafana dashboards, one module per dashboard, written by `litellm_observe generate`.

`outputs` gives `dashboards/<uid>.json` per dashboard, `dashboards/provisioning.yaml` and,
with `kubernetes`, one Grafana-sidecar ConfigMap per dashboard under `dashboards/kubernetes/`.
`readme_blocks` lists every panel with the question it answers.
"""

from __future__ import annotations

import json

from grafanalib._gen import DashboardEncoder

from ...catalogue import BUILD_INFO
from . import exporter_health, overview, providers, spend
from .options import Inputs

MODULES = (overview, providers, spend, exporter_health)
FOLDER = "dashboards"
PROVISIONING = f"{FOLDER}/provisioning.yaml"
KUBERNETES_FOLDER = f"{FOLDER}/kubernetes"
GRAFANA_PATH = "/var/lib/grafana/dashboards/litellm"  # where provisioning.yaml expects the JSON files


def build_all(options: Inputs) -> dict[str, dict]:
    """{uid: dashboard JSON as a dict}, in MODULES order."""
    out = {}
    for module in MODULES:
        data = json.loads(json.dumps(module.build(options).to_json_data(), cls=DashboardEncoder))
        # grafanalib always writes `__inputs`; the datasource is a variable instead, so the same
        # file works for UI import and for file provisioning.
        data.pop("__inputs", None)
        out[module.UID] = clean(data)
    return out


# grafanalib writes Grafana 5/6 fields current Grafana ignores and its dashboard schema does not have (`style`
# only since Grafana 11); tests/generators/test_dashboard_schema.py checks the output against that schema
LEGACY_DASHBOARD = ("rows", "hideControls", "sharedCrosshair", "style", "gnetId")
LEGACY_PANEL = ("span", "height", "minSpan", "error", "cacheTimeout", "editable")
LEGACY_TABLE = ("color", "columns", "fontSize", "mappings")  # the old table panel's, now in fieldConfig
LEGACY_TARGET = ("metric", "query", "step", "target")  # other datasources'; Prometheus's query is `expr`
GAUGE_OPTIONS = ("calcs", "limit", "values")  # the gauge's options, copied by grafanalib into fieldConfig


def clean(data: dict) -> dict:
    """The one post-processing step after grafanalib: drop legacy fields and `null` where Grafana wants a
    value or nothing (a threshold step's `value` excepted: null is its -Infinity), keep the gauge's options
    in `options` only, and make the provisioned dashboard uneditable (dashboard-linter's uneditable-dashboard
    rule; edits belong in the generator)."""
    data = _without_nulls(data)
    for key in LEGACY_DASHBOARD:
        data.pop(key, None)
    data["editable"] = False
    # "has no effect on provisioned dashboard" (Grafana 10's schema); Grafana 11's schema dropped it
    data.get("timepicker", {}).pop("time_options", None)
    for panel in iter_panels(data):
        for key in LEGACY_PANEL + (LEGACY_TABLE if panel.get("type") == "table" else ()):
            panel.pop(key, None)
        if panel.get("hideTimeOverride") is False:  # the default, and unknown to Grafana 10.1's schema
            del panel["hideTimeOverride"]
        for target in panel.get("targets", []):
            for key in LEGACY_TARGET:
                target.pop(key, None)
        config = panel.get("fieldConfig")
        if isinstance(config, dict):
            defaults = config.setdefault("defaults", {})
            if panel.get("type") == "gauge":
                for key in GAUGE_OPTIONS + ("override",):
                    defaults.pop(key, None)
                config.pop("showThresholdLabels", None)
                config.pop("showThresholdMarkers", None)
    return data


def _without_nulls(value, keep: tuple[str, ...] = ()):
    """`value` without the keys whose value is null, except `keep`'s (a threshold step's `value`)."""
    if isinstance(value, dict):
        return {
            k: _without_nulls(v, ("value",) if k == "steps" else ())
            for k, v in value.items()
            if v is not None or k in keep
        }
    if isinstance(value, list):
        return [_without_nulls(v, keep) for v in value]
    return value


def render(data: dict) -> str:
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def provisioning_yaml() -> str:
    return f"""# Grafana dashboard provider for litellm-observe: copy this file to
# /etc/grafana/provisioning/dashboards/ and the dashboards/*.json files to {GRAFANA_PATH}/.
apiVersion: 1
providers:
  - name: litellm-observe
    orgId: 1
    folder: LiteLLM
    type: file
    disableDeletion: false
    allowUiUpdates: false
    updateIntervalSeconds: 60
    options:
      path: {GRAFANA_PATH}
"""


def configmap_yaml(uid: str, text: str) -> str:
    """A ConfigMap the Grafana sidecar (kiwigrid k8s-sidecar) loads: it looks for this label."""
    body = "".join(f"    {line}\n" if line else "\n" for line in text.splitlines())
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {uid}-dashboard\n  labels:\n"
        f'    grafana_dashboard: "1"\n    app.kubernetes.io/part-of: litellm-observe\n'
        f"data:\n  {uid}.json: |\n{body}"
    )


def outputs(options: Inputs, kubernetes: bool = False) -> dict[str, str]:
    files = {}
    for uid, data in build_all(options).items():
        text = render(data)
        files[f"{FOLDER}/{uid}.json"] = text
        if kubernetes:
            files[f"{KUBERNETES_FOLDER}/{uid}.yaml"] = configmap_yaml(uid, text)
    files[PROVISIONING] = provisioning_yaml()
    return files


def iter_panels(data: dict):
    """Every panel of a dashboard's JSON, rows' nested panels included."""
    for panel in data.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


LOADING = """`litellm_observe generate` writes one Grafana JSON file per dashboard into `dashboards/`
(committed; regenerate after changing options, CI runs `litellm_observe generate --check`). Every panel
and query uses the `datasource` variable (`${{datasource}}`), so the same file works everywhere:

- **UI import**: Grafana → Dashboards → New → Import → upload a `dashboards/*.json` file, then pick the
  Prometheus data source in the `Data source` drop-down at the top of the dashboard.
- **File provisioning**: copy `dashboards/provisioning.yaml` to `/etc/grafana/provisioning/dashboards/` and
  the `dashboards/*.json` files to `{path}/`, then restart Grafana. The dashboards
  appear in the `LiteLLM` folder, read-only; change the generator options instead of editing them.
- **Kubernetes** (Grafana Helm chart with `sidecar.dashboards.enabled: true`):
  `litellm_observe generate --kubernetes` also writes `dashboards/kubernetes/<uid>.yaml`, one ConfigMap per
  dashboard labelled `grafana_dashboard: "1"`; `kubectl apply -f dashboards/kubernetes/` in the namespace
  the sidecar watches.

Options (flags or the `dashboards:` keys of the `litellm_observe:` config section): `--datasource` (the
default data source name), `--selector 'namespace="llm"'` (label matchers added to every query),
`--title-prefix`, `--tags a,b`, `--refresh 30s`, `--out DIR`.

Template variables: `job` and `instance` (the targets exporting `{build_info}`; All means those),
`provider`, `model`, `team` (All matches any value). Every query is filtered by them and sums across
proxy replicas, so a fleet of proxies reads as one service.

The files carry none of grafanalib's legacy fields (top-level `rows`, per-panel `span`, targets' `step`) and
no `null` value, except where Grafana's own convention wants one: the base step of each threshold is
`{{"color": ..., "value": null}}` (it has no lower bound). The tests check every file against Grafana's
dashboard schema, as the `grafana-foundation-sdk` package models it. The files are not editable (they are
provisioned: change the generator options instead).
`litellm_observe check` lints them with the rules of Grafana's dashboard-linter that apply (datasource, job
and instance variables, units, titles and descriptions, `$__rate_interval`, counter aggregation, uneditable
dashboards; listed in `litellm_observe/generators/dashboards/lint.py`) and checks every query against the
metric catalogue.
"""


def readme_blocks(options: Inputs) -> dict[str, str]:
    parts = [LOADING.format(path=GRAFANA_PATH, build_info=BUILD_INFO.family(options.namespace))]
    for _module, (uid, data) in zip(MODULES, build_all(options).items()):
        parts.append(
            f"\n### {data['title']}\n\n{data['description']} (`{FOLDER}/{uid}.json`, uid `{uid}`)\n\n"
            "| panel | the question it answers |\n| --- | --- |\n"
        )
        parts += [
            f"| {pn['title']} | {pn['description']} |\n".replace("`overflow`", "overflow") for pn in iter_panels(data)
        ]
    return {"dashboard-panels": "".join(parts)}
