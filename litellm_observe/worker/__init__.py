"""The worker side: what runs inside the proxy's worker processes.

`logger.py` is the CustomLogger LiteLLM calls; `calls.py` decides how each request ended;
`labels.py`, `error_types.py` and `budgets.py` turn payloads into label values;
`deployments.py` and `router_view.py` read cooldowns from the router; `health.py` records the
worker's own start, exit, memory and event-loop lag; `supervisor.py` keeps one exporter process
alive per proxy run. Nothing here imports the exporter side.
"""
