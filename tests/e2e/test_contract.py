"""The payload contract per LiteLLM version (issue 10): a real proxy sends success, failure,
failed-attempt, fallback and streaming events; every field the logger reads must be there with the type
it expects. A missing or retyped field fails naming the field and the version, not as a silent `unknown`.

Runs in whatever environment pytest runs in: the main one and each version of the compatibility
matrix (scripts/test).
"""

from __future__ import annotations

import json
import os
from importlib import metadata

import pytest

from tests.support.contract import violations
from tests.support.proxy import Proxy, default_config
from tests.support.users import REPO
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.smoke]


def test_every_field_the_logger_reads_is_there(upstream, tmp_path):
    """With TEST_CAPTURE_PAYLOADS=DIR, also writes the payloads to DIR/litellm-<version>.jsonl: the captured
    payload library (tests/support/payloads.py); regenerate it by running this on each matrix version."""
    capture, payloads = tmp_path / "capture.jsonl", tmp_path / "payloads.jsonl"
    proxy = Proxy(
        tmp_path,
        upstream.base_url,
        workers=2,
        env={"CAPTURE_FILE": str(capture), "PYTHONPATH": REPO, "CAPTURE_PAYLOADS": str(payloads)},
    )
    config = default_config(upstream.base_url, proxy.metrics_port)
    config["litellm_settings"]["callbacks"].append("tests.support.capture_logger.instance")
    config["litellm_settings"].pop("cache", None)
    proxy.config = config
    with proxy:
        statuses = [
            proxy.chat("ok", "plain"),
            proxy.chat("ok", "tagged", extra={"user": "customer-1", "metadata": {"tags": ["t1"], "project": "atlas"}}),
            proxy.chat("ok", "streamed", stream=True),
            proxy.chat("bad500", "fails"),
            proxy.chat("flaky", "retried"),
            proxy.chat("primary", "falls back"),
        ]
        assert statuses.count(200) >= 4 and 500 in statuses
        wait_until(
            lambda: (
                capture.exists()
                and "log_success_fallback_event" in capture.read_text()
                and capture.read_text().count("async_log_success_event") >= 3
            ),
            timeout=60,
            what="the capture logger saw every kind of event",
        )
    captured = [json.loads(line) for line in capture.read_text().splitlines()]
    found = violations(captured, metadata.version("litellm"))
    assert found == [], "\n".join(found)
    keep = os.environ.get("TEST_CAPTURE_PAYLOADS")
    if keep:
        os.makedirs(keep, exist_ok=True)
        lines = sorted(payloads.read_text().splitlines(), key=lambda line: json.loads(line)["hook"])
        with open(os.path.join(keep, f"litellm-{metadata.version('litellm')}.jsonl"), "w") as f:
            f.write("\n".join(lines) + "\n")


def test_the_contract_checker_names_what_is_missing():
    captured = [
        {
            "hook": "async_log_success_event",
            "fields": {
                "kwargs:litellm_call_id": "str",
                "kwargs:standard_logging_object.model_group": "missing",
                "kwargs:standard_logging_object.cache_hit": "NoneType",
            },
        }
    ]
    found = violations(captured, "9.9.9")
    assert (
        "litellm 9.9.9: async_log_success_event kwargs.standard_logging_object.model_group is missing, "
        "expected str" in found
    )
    assert not [f for f in found if "cache_hit" in f]  # optional, None is fine
    assert "litellm 9.9.9: async_pre_call_hook never fired" in found
