"""The worker side: what runs inside the proxy's worker processes.

`logger.py` is the CustomLogger LiteLLM calls; `calls.py` decides how each request ended;
`labels.py`, `error_types.py` and `budgets.py` turn payloads into label values;
`supervisor.py` keeps one exporter process alive per proxy run. Nothing here imports
the exporter side.
"""
