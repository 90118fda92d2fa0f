"""`litellm_observe demo`: a self-contained stack on loopback that shows the metrics, rules and
alerts working without a provider key.

- `upstream.py`: the fake OpenAI-compatible provider (also the tests' upstream).
- `stack.py`: the demo's config.yaml, and the processes it starts: a LiteLLM proxy with this
  callback, and Prometheus loaded with the generated rules when it is on the PATH.
- `traffic.py`: the clients, bounded by a stop event.
- `summary.py`: the terminal line, computed from two scrapes of the exporter.
- `run.py`: the command itself: start, print where to look, refresh, stop and remove everything.

Nothing here is imported by the worker or exporter side; the demo only talks to them over HTTP.
"""
