"""The demo's webhook inbox: what Alertmanager posts is kept in order and said in a line."""

from __future__ import annotations

import json

import httpx

from litellm_observe.demo import inbox

NOTE = {
    "status": "firing",
    "receiver": "litellm-page",
    "groupLabels": {"alertname": "LitellmProviderErrorBudgetBurn", "provider": "mistral"},
    "alerts": [{"status": "firing", "labels": {"alertname": "LitellmProviderErrorBudgetBurn"}}],
}


def test_posts_are_kept_in_order_and_a_body_that_is_not_json_is_kept_too():
    with inbox.Inbox() as box:
        assert box.url.startswith("http://127.0.0.1:")
        assert httpx.post(box.url, content=json.dumps(NOTE)).status_code == 200
        assert httpx.post(box.url, content=b"\xffnot json").status_code == 200
        got = box.received()
    assert got[0] == NOTE and got[1]["unreadable"].endswith("not json")
    assert inbox.summary(got) == "2 (last: unreadable notification)"


def test_a_notification_in_a_line():
    assert inbox.describe(NOTE) == ('firing LitellmProviderErrorBudgetBurn{provider="mistral"} to litellm-page')
    assert inbox.summary([]) == "none"
    assert inbox.summary([NOTE, {**NOTE, "status": "resolved"}]) == (
        '2 (last: resolved LitellmProviderErrorBudgetBurn{provider="mistral"} to litellm-page)'
    )
    assert inbox.describe({}) == "? ? to ?"
