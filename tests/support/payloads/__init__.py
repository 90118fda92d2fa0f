"""The one library of payloads, shared by tests and benchmarks.

- `captured`: real hook payloads from a proxy of each LiteLLM version of the compatibility matrix
  (tests/fixtures/payloads/), rebuilt into what the hooks receive.
- `shaped`: single events for unit tests, made from the newest captured payload with the fields a
  test varies (so unit tests exercise LiteLLM's real shapes, not a hand-written imitation).
- `synthetic`: realistic events at scale for the benchmarks, built with LiteLLM's own types (the
  built-in PrometheusLogger compared with ours needs its full objects), and their replay.
"""
