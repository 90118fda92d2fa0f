"""The generators: everything `litellm_observe generate` writes and `litellm_observe check` proves.

`dashboards/` (Grafana JSON), `rules/` (Prometheus alert and recording rules, their promtool tests,
runbooks; the alerts are the declarations of the registry, rules/alerts.py), `mixin.py` (both as a
monitoring mixin), `monitors.py` (Kubernetes), `docs.py` (README blocks), all built with one PromQL
vocabulary (`promql/`); `generate.py` wires them explicitly and writes them or finds stale files,
`check.py` proves them, `promtool.py` wraps Prometheus's promtool. `options.py` reads what they read;
it imports the option groups declared beside their readers, never the reverse (they read it through
their `Inputs` protocols). Nothing here imports the worker or the exporter side, and no proxy imports
anything here.
"""
