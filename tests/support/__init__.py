"""What the tests share, one module per purpose.

Driving the logger by hand (unit tests)
  events.py          the logger the unit tests drive (`make_logger`) and realistic payloads (payloads/)
  exceptions.py      one exception of every LiteLLM exception class, with the error_type it must map to
  rundirs.py         a run directory read back as the exporter combines it: series, values, totals
  payloads/          payloads captured from real proxies of each release, and synthetic ones

Real processes (end-to-end tests)
  proxy.py           a real `litellm` proxy with this callback, on 127.0.0.1, in a container if asked
  prometheus_server.py  a real Prometheus scraping it, and its HTTP API
  load.py            a mixed, bounded load with every kind of outcome
  users.py           real local users sharing a temp directory (shared-host tests)
  runholder.py       a run kept alive by another process, as a proxy's workers keep theirs

Callbacks a test proxy loads beside ours
  blocking.py, capture_logger.py, custom_auth.py, guardrails.py

Reading what came out, and waiting for it
  metrics.py         exposition text parsed and summed
  contract.py        the payload contract: every field the logger reads, per hook
  waiting.py         `wait_until`, the one way a test waits
"""
