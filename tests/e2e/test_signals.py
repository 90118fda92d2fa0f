"""Issue 12's signal families through a real 4-worker proxy, each checked against what we sent.

One proxy, real clients (the `openai` SDK, raw HTTP for status codes):
- `pair`: two deployments, `pair-bad` (upstream 500) and `pair-good`, num_retries 2, allowed_fails 0 and a
  cooldown longer than the test: each worker's router cools `pair-bad` down at its first failure there, so
  `deployment_cooldowns_total` equals the failed attempts at `pair-bad`, which equal what the upstream
  received; `retries_total` equals the sum of the `x-litellm-attempted-retries` headers clients saw;
- `ok` with the key `sk-budget` (tests/support/custom_auth.py): budgets of team, key, user and end user;
- two guardrails (tests/support/guardrails.py): `block-word` (pre_call) rejects BLOCKME with a 400, `passes`
  (post_call) passes: runs by outcome are exact, and a blocked request makes no upstream attempt;
- `rich` (usage with every detail): tokens by type exact; `free` (no price): unpriced calls exact;
- overhead: one observation per non-streamed success.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import openai
import pytest

from litellm_observe.demo.upstream import RICH_USAGE
from tests.support import custom_auth
from tests.support.metrics import samples, total
from tests.support.proxy import Proxy, free_port
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.smoke]  # router and payload APIs differ by version
SUPPORT = Path(__file__).parent.parent / "support"
PRICE = {"input_cost_per_token": 0.000001, "output_cost_per_token": 0.000002}
N_PAIR, N_BUDGET, N_BLOCKED, N_RICH, N_FREE = 40, 10, 5, 6, 4


def _config(api_base: str) -> dict:
    def params(upstream: str, priced: bool = True) -> dict:
        return {
            "model": f"openai/{upstream}--signals",
            "api_base": api_base,
            "api_key": "fake",
            "max_retries": 0,
            **(PRICE if priced else {}),
        }

    return {
        "model_list": [
            {"model_name": "pair", "litellm_params": params("fake-500"), "model_info": {"id": "pair-bad"}},
            {"model_name": "pair", "litellm_params": params("fake-ok"), "model_info": {"id": "pair-good"}},
            {"model_name": "ok", "litellm_params": params("fake-ok")},
            {"model_name": "rich", "litellm_params": params("fake-rich")},
            {
                "model_name": "free",
                "litellm_params": {**params("fake-ok", priced=False), "model": "openai/fake-ok--unpriced"},
            },
        ],
        "router_settings": {"num_retries": 2, "retry_after": 0, "allowed_fails": 0, "cooldown_time": 600},
        "litellm_settings": {"callbacks": ["litellm_observe.proxy_handler"]},
        "guardrails": [
            {
                "guardrail_name": "block-word",
                "litellm_params": {"guardrail": "guardrails.BlockWord", "mode": "pre_call", "default_on": True},
            },
            {
                "guardrail_name": "passes",
                "litellm_params": {"guardrail": "guardrails.Passes", "mode": "post_call", "default_on": True},
            },
        ],
        "general_settings": {
            "master_key": "os.environ/LITELLM_MASTER_KEY",
            "custom_auth": "custom_auth.user_api_key_auth",
        },
        "litellm_observe": {"port": free_port(), "bind_address": "127.0.0.1"},
    }


def _count(text: str, family: str, **labels: str) -> float:
    """A histogram's observation count, summed over series matching `labels`."""
    name = f"litellm_{family}_count"
    return sum(
        v
        for (n, ls), v in samples(text).items()
        if n == name and all(dict(ls).get(k) == v_ for k, v_ in labels.items())
    )


def _when(proxy: Proxy, metric: str, value: float) -> str | None:
    text = proxy.scrape()
    return text if total(text, metric) >= value else None


@pytest.fixture(scope="module")
def sent(upstream, tmp_path_factory):
    files = {
        "custom_auth.py": (SUPPORT / "custom_auth.py").read_text(),
        "guardrails.py": (SUPPORT / "guardrails.py").read_text(),
    }
    before = Counter(r["model"] for r in upstream.requests)
    with Proxy(
        tmp_path_factory.mktemp("signals"), upstream.base_url, workers=4, config=_config(upstream.base_url), files=files
    ) as proxy:
        admin = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=proxy.master_key, max_retries=0, timeout=60)
        budget = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key="sk-budget", max_retries=0, timeout=60)
        out = Counter()
        for i in range(N_PAIR):
            r = admin.chat.completions.with_raw_response.create(
                model="pair", messages=[{"role": "user", "content": f"pair {i}"}]
            )
            out["pair_200"] += r.status_code == 200
            out["retries_seen"] += int(r.headers.get("x-litellm-attempted-retries") or 0)
        for i in range(N_BUDGET):
            budget.chat.completions.create(model="ok", messages=[{"role": "user", "content": f"b {i}"}])
        for i in range(N_BLOCKED):
            out["blocked_400"] += proxy.chat("ok", content=f"please BLOCKME {i}") == 400
        for i in range(N_RICH):
            admin.chat.completions.create(model="rich", messages=[{"role": "user", "content": f"r {i}"}])
        for i in range(N_FREE):
            admin.chat.completions.create(model="free", messages=[{"role": "user", "content": f"f {i}"}])
        answered = N_PAIR + N_BUDGET + N_RICH + N_FREE
        text = wait_until(
            lambda: _when(proxy, "requests", answered + N_BLOCKED), timeout=60, what="every request counted"
        )
        bad_calls = Counter(r["model"] for r in upstream.requests)["fake-500--signals"] - before["fake-500--signals"]
        # cooldowns are read 0.5 s after a failed attempt: wait until every failure's cooldown was read
        text = wait_until(lambda: _when(proxy, "deployment_cooldowns", bad_calls), timeout=30, what="cooldowns read")
        yield {"text": text, "out": out, "bad_calls": bad_calls, "answered": answered}


def test_every_request_counted_and_blocked_ones_are_400(sent):
    text, out = sent["text"], sent["out"]
    assert out["pair_200"] == N_PAIR and out["blocked_400"] == N_BLOCKED
    assert total(text, "requests", status_code="200") == sent["answered"]
    assert total(text, "requests", status_code="400") == N_BLOCKED


def test_attempts_by_deployment_equal_what_the_upstream_received(sent):
    text, bad = sent["text"], sent["bad_calls"]
    assert bad >= 1  # some request met pair-bad before its worker cooled it down
    assert total(text, "provider_errors", deployment="pair-bad") == bad
    assert total(text, "provider_requests", deployment="pair-bad", status_code="500") == bad
    assert total(text, "provider_requests", deployment="pair-good", status_code="200") == N_PAIR
    assert total(text, "provider_errors", deployment="pair-good") == 0


def test_retries_equal_the_headers_clients_saw(sent):
    assert total(sent["text"], "retries", model="pair") == sent["out"]["retries_seen"] == sent["bad_calls"]


def test_each_cooldown_is_counted_once_and_the_state_follows(sent):
    text, bad = sent["text"], sent["bad_calls"]
    # allowed_fails 0: every worker cools pair-bad down at its first failure there, for longer than the test
    assert total(text, "deployment_cooldowns", deployment="pair-bad", reason="500") == bad
    states = {dict(ls)["deployment"]: v for (n, ls), v in samples(text).items() if n == "litellm_deployment_state"}
    assert states["pair-bad"] == 2 and states["pair-good"] == 0


def test_budgets_of_team_key_user_and_end_user(sent):
    text, b = sent["text"], custom_auth.BUDGETS
    cost = 11 * PRICE["input_cost_per_token"] + 7 * PRICE["output_cost_per_token"]  # one request to `ok`

    def gauge(name, entity_type, entity):
        found = [
            v
            for (n, ls), v in samples(text).items()
            if n == f"litellm_{name}" and dict(ls)["entity_type"] == entity_type and dict(ls)["entity"] == entity
        ]
        assert len(found) == 1, (name, entity_type, entity, found)
        return found[0]

    assert gauge("budget_max_usd", "team", "budgeted") == b["team_max_budget"]
    assert gauge("budget_remaining_usd", "team", "budgeted") == pytest.approx(
        b["team_max_budget"] - b["team_spend"] - cost
    )
    assert gauge("budget_remaining_usd", "key", "batch-jobs") == pytest.approx(b["max_budget"] - b["spend"] - cost)
    assert gauge("budget_remaining_usd", "user", "user-1") == pytest.approx(
        b["user_max_budget"] - b["user_spend"] - cost
    )
    assert gauge("budget_max_usd", "end_user", "customer-1") == b["end_user_max_budget"]
    left = gauge("budget_reset_seconds", "key", "batch-jobs")
    assert 0 < left <= custom_auth.KEY_RESET_HOURS * 3600
    assert "sk-budget" not in text


def test_guardrail_runs_by_outcome(sent):
    text, answered = sent["text"], sent["answered"]
    assert total(text, "guardrail_requests", guardrail="block-word", hook="pre_call", outcome="blocked") == N_BLOCKED
    assert total(text, "guardrail_requests", guardrail="block-word", hook="pre_call", outcome="passed") == answered
    assert total(text, "guardrail_requests", guardrail="passes", hook="post_call", outcome="passed") == answered
    assert total(text, "guardrail_requests", outcome="error") == 0
    assert _count(text, "guardrail_latency_seconds", guardrail="block-word") == answered + N_BLOCKED


def test_a_blocked_request_makes_no_upstream_attempt(sent):
    text = sent["text"]
    assert total(text, "provider_requests", model="ok") == N_BUDGET
    assert total(text, "deployment_state", model="ok") == 0


def test_tokens_by_type_and_unpriced_calls(sent):
    text = sent["text"]
    details = RICH_USAGE["prompt_tokens_details"], RICH_USAGE["completion_tokens_details"]
    billed = {"input": RICH_USAGE["prompt_tokens"], "output": RICH_USAGE["completion_tokens"]}
    expected = {
        "cached_input": details[0]["cached_tokens"],
        "audio_input": details[0]["audio_tokens"],
        "reasoning": details[1]["reasoning_tokens"],
        "audio_output": details[1]["audio_tokens"],
        "cache_creation_input": RICH_USAGE["cache_creation_input_tokens"],
    }
    got = {t: total(text, "tokens_used", model="rich", token_type=t) for t in billed}
    assert got == {t: N_RICH * n for t, n in billed.items()}
    # the first query anyone writes is what was billed: prompt plus completion, no detail counted twice
    assert total(text, "tokens_used", model="rich") == N_RICH * sum(billed.values())
    got = {d: total(text, "token_details", model="rich", detail=d) for d in expected}
    assert got == {d: N_RICH * n for d, n in expected.items()}
    assert total(text, "unpriced_requests", model="free") == N_FREE
    assert total(text, "unpriced_requests") == N_FREE


def test_overhead_once_per_non_streamed_success(sent):
    text = sent["text"]
    assert _count(text, "overhead_latency_seconds", model="ok") == N_BUDGET
    assert _count(text, "overhead_latency_seconds") == sent["answered"]


@pytest.fixture(scope="module")
def retry_proxy(upstream, tmp_path_factory):
    """`pair` with cooldowns off, so the failing deployment keeps being tried and retried; `passes` runs only
    on requests that ask for it."""
    config = _config(upstream.base_url)
    config["router_settings"] = {"num_retries": 2, "retry_after": 0, "disable_cooldowns": True}
    config["guardrails"][1]["litellm_params"]["default_on"] = False
    config["guardrails"][0]["litellm_params"]["default_on"] = False
    files = {
        "custom_auth.py": (SUPPORT / "custom_auth.py").read_text(),
        "guardrails.py": (SUPPORT / "guardrails.py").read_text(),
    }
    with Proxy(tmp_path_factory.mktemp("retries"), upstream.base_url, workers=4, config=config, files=files) as proxy:
        yield proxy


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("guardrails", [False, True], ids=["no-guardrail", "guardrails"])
def test_retries_equal_the_headers_with_and_without_guardrails_streamed_or_not(
    retry_proxy, upstream, stream, guardrails
):
    """With cooldowns off, a request fails only when all 3 of its attempts met `pair-bad` (num_retries 2):
    it gets an error and no header, having made 2 retries. So retries_total grows by the headers' sum plus
    2 per failed request, and by the upstream's attempts minus the requests, exactly."""
    proxy = retry_proxy
    client = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=proxy.master_key, max_retries=0, timeout=60)
    before_text = proxy.scrape()
    before, sent_before = total(before_text, "retries", model="pair"), total(before_text, "requests")
    attempts_before = sum(1 for r in list(upstream.requests) if r["model"].endswith("--signals"))
    extra = {"guardrails": ["passes", "block-word"]} if guardrails else {}
    seen = failed = 0
    n = 12
    for i in range(n):
        try:
            r = client.chat.completions.with_raw_response.create(
                model="pair",
                messages=[{"role": "user", "content": f"retry {stream} {guardrails} {i}"}],
                stream=stream,
                extra_body=extra,
                **({"stream_options": {"include_usage": True}} if stream else {}),
            )
        except openai.InternalServerError:
            failed += 1
            continue
        seen += int(r.headers.get("x-litellm-attempted-retries") or 0)
        body = r.parse()
        if stream:
            for _ in body:
                pass
    text = wait_until(lambda: _when(proxy, "requests", sent_before + n), timeout=60, what="requests counted")
    attempts = sum(1 for r in list(upstream.requests) if r["model"].endswith("--signals")) - attempts_before
    retries = total(text, "retries", model="pair") - before
    assert seen + failed > 0  # the failing deployment was met
    # one assertion, so a failure says which side moved: our counter, the headers, or the upstream's attempts
    assert retries == seen + 2 * failed == attempts - n, (
        f"retries counted {retries}, headers {seen} + 2 x {failed} failed, upstream attempts {attempts} - {n}"
    )
    if guardrails:  # the guardrails ran on these requests
        assert total(text, "guardrail_requests", guardrail="block-word", outcome="passed") >= n
