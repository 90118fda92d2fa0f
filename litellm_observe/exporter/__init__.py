"""The exporter side: a process of its own that serves the aggregate of a run directory.

`aggregate.py` reads and folds sample files (only merges, never writes samples);
`exposition.py` renders Prometheus text or OpenMetrics; `http.py` is a bounded HTTP
server; `service.py` ties them together for a run's exporter and the sidecar.
`python -m litellm_observe.exporter` is what a worker's supervisor starts.
"""
