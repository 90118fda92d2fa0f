"""The worker side: what runs inside the proxy's worker processes.

`logger.py` is the CustomLogger LiteLLM calls, a thin adapter: each hook goes through one guard to
`flow.py`, with this process's state (`process.py`, built once per process). `flow.py` parses the hook's
arguments (`observations.py`, pure), decides how each request ended (`calls.py`) and has `recording.py`
record it, with label values from `labels.py` (and `error_types.py`, `budgets.py`); `errors.py` counts and
logs what could not be recorded; `timers.py` holds the event-loop timers. `deployments.py` and
`router_view.py` read cooldowns from the router; `health.py` records the worker's own start, exit, memory
and event-loop lag; `supervisor.py` keeps one exporter process alive per proxy run. Nothing here imports
the exporter side.
"""
