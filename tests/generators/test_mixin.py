"""mixin/mixin.libsonnet, evaluated by a real jsonnet (the `jsonnet` package): it yields exactly the
generated dashboards, alerts and recording rules, and mixes as monitoring-mixins expect."""

from __future__ import annotations

import json
from pathlib import Path

import _jsonnet
import yaml

from litellm_observe.generators import dashboards, generate, mixin, rules
from litellm_observe.generators.options import load

REPO = Path(__file__).resolve().parents[2]


def _evaluate(path: Path, snippet: str) -> dict:
    # imports resolve beside the snippet first: name it inside `path`
    return json.loads(_jsonnet.evaluate_snippet(str(path / "test.jsonnet"), snippet))


def test_the_committed_mixin_yields_the_committed_files():
    got = _evaluate(
        REPO,
        "local m = import 'mixin/mixin.libsonnet';"
        "{d: m.grafanaDashboards, a: m.prometheusAlerts, r: m.prometheusRules}",
    )
    boards = {p.name: json.loads(p.read_text()) for p in (REPO / dashboards.FOLDER).glob("*.json")}
    assert got["d"] == boards and len(boards) == 4
    assert got["a"] == yaml.safe_load((REPO / rules.ALERTS_FILE).read_text())
    assert got["r"] == yaml.safe_load((REPO / rules.RULES_FILE).read_text())


def test_it_mixes_like_a_mixin(tmp_path):
    options = load(section={"namespace": "acme"}, environ={})
    (tmp_path / "mixin").mkdir()
    (tmp_path / mixin.FILE).write_text(generate.outputs(options)[mixin.FILE])
    got = _evaluate(
        tmp_path,
        "local m = (import 'mixin/mixin.libsonnet') + {prometheusAlerts+:: {extra: true}};"
        "{alerts: m.prometheusAlerts, names: std.objectFields(m.grafanaDashboards), "
        "visible: std.objectFields(m)}",
    )
    assert got["alerts"]["extra"] is True and got["alerts"]["groups"]  # extended, not replaced
    assert got["names"] == sorted(f"{uid}.json" for uid in dashboards.build_all(options))
    assert got["visible"] == []  # hidden fields, as mixins keep them
    assert "acme_requests_total" in json.dumps(got["alerts"])
