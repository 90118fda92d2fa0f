"""The generators: everything `litellm_observe generate` writes and `litellm_observe check` proves.

`dashboards/` (Grafana JSON), `rules/` (Prometheus alert and recording rules, their promtool tests,
runbooks), `docs.py` (README blocks); `generate.py` writes them or finds stale files, `promtool.py`
wraps Prometheus's promtool. Nothing here imports the worker or the exporter side, and no proxy
imports anything here.
"""
