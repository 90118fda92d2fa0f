"""Every request counted, whatever the endpoint and however it ends (issue 15).

Real clients against a 4-worker proxy: the `openai` SDK for chat (plain and streamed with usage), legacy
completions, embeddings, the Responses API (plain and streamed), images and audio; raw HTTP for
Anthropic-format `/v1/messages` (plain and streamed). The fake upstream breaks streams mid-way on the
chat, legacy and Responses paths (`/v1/messages` for an OpenAI-style model goes through the upstream
Responses API), ends one without any output, answers 500, and clients disconnect mid-stream.

Each endpoint x outcome has a model group of its own, so per group: requests_total equals the requests
sent, with the expected status class; errors equal requests with a 4xx/5xx status; attempts equal what
the upstream received; tokens equal what the upstream reported; current_load returns to 0.
"""

from __future__ import annotations

import io
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from litellm_observe.demo.upstream import PROMPT_TOKENS
from tests.support.metrics import samples, total
from tests.support.proxy import Proxy
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.smoke]

# group -> upstream behaviour
GROUPS = {
    "chat-ok": "fake-ok",
    "chat-500": "fake-500",
    "chat-break": "fake-break",
    "chat-empty": "fake-cut0",
    "chat-slow": "fake-longstream",
    "text-ok": "fake-ok",
    "text-break": "fake-break",
    "embed-ok": "fake-ok",
    "resp-ok": "fake-ok",
    "resp-break": "fake-break",
    "resp-slow": "fake-longstream",
    "msg-ok": "fake-ok",
    "msg-break": "fake-break",
    "msg-cut": "fake-cut0",
    "msg-slow": "fake-longstream",
    "image-ok": "fake-ok",
    "speech-ok": "fake-ok",
    "transcribe-ok": "fake-ok",
}
N = 3  # requests per case
# a group's prefix -> the endpoint its clients call
ENDPOINT_OF = {
    "chat": "chat_completions",
    "text": "text_completions",
    "embed": "embeddings",
    "resp": "responses",
    "msg": "messages",
    "image": "images",
    "speech": "audio_speech",
    "transcribe": "audio_transcriptions",
}


def _config(api_base: str, port: int) -> dict:
    def entry(name: str, upstream: str) -> dict:
        params = {
            "model": f"openai/{upstream}--{name}",
            "api_base": api_base,
            "api_key": "fake",
            "max_retries": 0,
            "input_cost_per_token": 0.000001,
            "output_cost_per_token": 0.000002,
        }
        return {"model_name": name, "litellm_params": params}

    return {
        "model_list": [entry(name, upstream) for name, upstream in GROUPS.items()],
        "router_settings": {"num_retries": 0},
        "litellm_settings": {"callbacks": ["litellm_observe.proxy_handler"]},
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
        "litellm_observe": {"port": port, "bind_address": "127.0.0.1"},
    }


class Clients:
    def __init__(self, proxy: Proxy):
        self.proxy = proxy
        self.sdk = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=proxy.master_key, max_retries=0, timeout=60)

    def _outcome(self, call) -> str:
        """`ok`, or the class of failure the client saw.

        Every stream is closed by a `with` block. The SDK client (and its connection pool) is shared by the
        threads; a stream left to the garbage collector closes its response whenever the collector runs,
        and when that happens inside another thread's request, which holds the pool's lock, it waits for that
        lock forever (httpcore 1.0.9: seen as a smoke run hung in this test with every thread in
        `ThreadLock.__enter__`)."""
        try:
            call()
            return "ok"
        except openai.APIStatusError as e:
            return f"http {e.status_code}"
        except (openai.APIError, httpx.HTTPError) as e:
            return f"broken {type(e).__name__}"

    def _in_stream_error(self, path: str) -> openai.APIError:
        """What the client saw: an error inside a stream that had started (openai 3.60 wants its request)."""
        return openai.APIError("in-stream error", httpx.Request("POST", f"{self.proxy.url}{path}"), body=None)

    # ---- the openai SDK ----
    def chat(self, model: str, stream: bool = False) -> str:
        def go():
            r = self.sdk.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": "hi"}],
                stream=stream,
                **({"stream_options": {"include_usage": True}} if stream else {}),
            )
            if stream:
                with r:  # closed here, never by the garbage collector (see _outcome)
                    for chunk in r:
                        if getattr(chunk, "error", None):
                            raise self._in_stream_error("/v1/chat/completions")

        return self._outcome(go)

    def text(self, model: str, stream: bool = False) -> str:
        def go():
            r = self.sdk.completions.create(model=model, prompt="hi", stream=stream)
            if stream:
                with r:
                    for _ in r:
                        pass

        return self._outcome(go)

    def embed(self, model: str) -> str:
        return self._outcome(lambda: self.sdk.embeddings.create(model=model, input="hi"))

    def responses(self, model: str, stream: bool = False) -> str:
        def go():
            if not stream:
                self.sdk.responses.create(model=model, input="hi")
                return
            with self.sdk.responses.create(model=model, input="hi", stream=True) as events:
                for event in events:
                    if event.type in ("error", "response.failed"):
                        raise self._in_stream_error("/v1/responses")

        return self._outcome(go)

    def image(self, model: str) -> str:
        return self._outcome(lambda: self.sdk.images.generate(model=model, prompt="a cat"))

    def speech(self, model: str) -> str:
        return self._outcome(lambda: self.sdk.audio.speech.create(model=model, voice="alloy", input="hi").read())

    def transcribe(self, model: str) -> str:
        audio = ("a.mp3", io.BytesIO(b"ID3fake-mp3"), "audio/mpeg")
        return self._outcome(lambda: self.sdk.audio.transcriptions.create(model=model, file=audio))

    # ---- raw HTTP, as the Anthropic SDK and Claude Code call it ----
    def messages(self, model: str, stream: bool = False) -> str:
        body = {"model": model, "max_tokens": 50, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
        headers = {"x-api-key": self.proxy.master_key, "anthropic-version": "2023-06-01", "Connection": "close"}
        with httpx.Client(timeout=60) as c:
            if not stream:
                r = c.post(f"{self.proxy.url}/v1/messages", json=body, headers=headers)
                return "ok" if r.status_code == 200 else f"http {r.status_code}"
            with c.stream("POST", f"{self.proxy.url}/v1/messages", json=body, headers=headers) as r:
                if r.status_code != 200:
                    return f"http {r.status_code}"
                text = b"".join(r.iter_bytes())
            return "broken error-event" if b"event: error" in text else "ok"

    def disconnect(self, path: str, body: dict) -> str:
        """Start a stream, read its first bytes, hang up."""
        headers = {"Authorization": f"Bearer {self.proxy.master_key}", "Connection": "close"}
        with httpx.Client(timeout=30) as c:
            with c.stream("POST", f"{self.proxy.url}{path}", json=body, headers=headers) as r:
                for _ in r.iter_bytes():
                    break
        return "gone"


def _cases(c: Clients) -> list[tuple[str, str, callable]]:
    """(group, what it stands for, call) -- every call returns what its client saw."""
    hi = [{"role": "user", "content": "hi"}]
    cases = []
    for _ in range(N):
        cases += [
            ("chat-ok", "chat", lambda: c.chat("chat-ok")),
            ("chat-ok", "chat streamed", lambda: c.chat("chat-ok", stream=True)),
            ("chat-500", "chat, upstream 500", lambda: c.chat("chat-500")),
            ("chat-break", "chat streamed, upstream breaks", lambda: c.chat("chat-break", stream=True)),
            ("chat-empty", "chat streamed, upstream sends nothing", lambda: c.chat("chat-empty", stream=True)),
            (
                "chat-slow",
                "chat streamed, client leaves",
                lambda: c.disconnect("/v1/chat/completions", {"model": "chat-slow", "messages": hi, "stream": True}),
            ),
            ("text-ok", "completions", lambda: c.text("text-ok")),
            ("text-ok", "completions streamed", lambda: c.text("text-ok", stream=True)),
            ("text-break", "completions streamed, upstream breaks", lambda: c.text("text-break", stream=True)),
            ("embed-ok", "embeddings", lambda: c.embed("embed-ok")),
            ("resp-ok", "responses", lambda: c.responses("resp-ok")),
            ("resp-ok", "responses streamed", lambda: c.responses("resp-ok", stream=True)),
            ("resp-break", "responses streamed, upstream breaks", lambda: c.responses("resp-break", stream=True)),
            (
                "resp-slow",
                "responses streamed, client leaves",
                lambda: c.disconnect("/v1/responses", {"model": "resp-slow", "input": "hi", "stream": True}),
            ),
            ("msg-ok", "messages", lambda: c.messages("msg-ok")),
            ("msg-ok", "messages streamed", lambda: c.messages("msg-ok", stream=True)),
            ("msg-break", "messages streamed, upstream breaks", lambda: c.messages("msg-break", stream=True)),
            ("msg-cut", "messages streamed, upstream ends without output", lambda: c.messages("msg-cut", stream=True)),
            (
                "msg-slow",
                "messages streamed, client leaves",
                lambda: c.disconnect(
                    "/v1/messages", {"model": "msg-slow", "max_tokens": 50, "messages": hi, "stream": True}
                ),
            ),
            ("image-ok", "images", lambda: c.image("image-ok")),
            ("speech-ok", "audio speech", lambda: c.speech("speech-ok")),
            ("transcribe-ok", "audio transcriptions", lambda: c.transcribe("transcribe-ok")),
        ]
    return cases


def _by_model(text: str, name: str, **match: str) -> Counter:
    out: Counter = Counter()
    series = f"litellm_{name}_total"
    for (sample, labels), value in samples(text).items():
        d = dict(labels)
        if sample == series and all(d.get(k) == v for k, v in match.items()):
            out[d["model"]] += value
    return out


def test_every_endpoint_and_every_ending_is_counted_once(upstream, tmp_path):
    proxy = Proxy(tmp_path, upstream.base_url, workers=4)
    proxy.config = _config(upstream.base_url, proxy.metrics_port)
    with proxy:
        clients = Clients(proxy)
        before = Counter(r["model"] for r in upstream.requests)
        cases = _cases(clients)
        with ThreadPoolExecutor(6) as pool:
            seen = list(pool.map(lambda case: (case[0], case[1], case[2]()), cases))
        sent = Counter(group for group, _, _ in seen)
        saw = Counter((what, outcome) for _, what, outcome in seen)
        print("\n".join(f"{n:3} {what}: {outcome}" for (what, outcome), n in sorted(saw.items())))

        def settled():
            text = proxy.scrape()
            return text if _by_model(text, "requests") == sent else None

        text = wait_until(settled, timeout=90, what=f"requests_total per group == {dict(sent)}")
        # attempts are settled a little after the request ended (worker/calls.py SETTLE_SECONDS)
        upstream_calls = Counter()
        for r in list(upstream.requests):
            upstream_calls[r["model"]] += 1
        upstream_calls -= before
        wait_until(
            lambda: sum(_by_model(proxy.scrape(), "provider_requests").values()) >= len(cases),
            timeout=60,
            what="every attempt settled",
        )
        text = proxy.scrape()

    saw_ok = Counter(group for group, _, outcome in seen if outcome == "ok")
    saw_gone = Counter(group for group, _, outcome in seen if outcome == "gone")
    saw_failed = Counter(group for group, _, outcome in seen if outcome not in ("ok", "gone"))
    requests = _by_model(text, "requests")
    errors = _by_model(text, "errors")
    attempts = _by_model(text, "provider_requests")
    failed_attempts = _by_model(text, "provider_errors")
    tokens = _by_model(text, "tokens_used", token_type="input")
    assert requests == sent
    # what each client saw: an answer (200), nothing because it left (499), or a failure: an error
    # status, or an error inside a stream that had started (counted with the error's 5xx)
    assert +_by_model(text, "requests", status_code="200") == saw_ok
    assert +_by_model(text, "requests", status_code="499") == saw_gone
    assert Counter({g: total(text, "requests", model=g, status_code="5..") for g in GROUPS}) + Counter() == saw_failed
    assert saw_failed["chat-break"] == saw_failed["resp-break"] == saw_failed["msg-break"] == N  # it did break
    for group, behaviour in GROUPS.items():
        n = sent[group]
        assert errors[group] == n - saw_ok[group], f"{group}: errors {errors[group]} vs failed {n - saw_ok[group]}"
        # each attempt counted once: exactly what the upstream received (one per request, no retries)
        received = upstream_calls[f"{behaviour}--{group}"]
        assert attempts[group] == received == n, (
            f"{group}: {attempts[group]} attempts counted, {received} received, {n} sent"
        )
        if behaviour in ("fake-500", "fake-break"):
            assert failed_attempts[group] == n, f"{group}: {failed_attempts[group]} failed attempts of {n}"
    for group in ("chat-ok", "text-ok", "embed-ok", "resp-ok", "msg-ok"):
        assert tokens[group] == PROMPT_TOKENS * sent[group], f"{group}: {tokens[group]} input tokens"
    # what each client called, whatever the upstream API behind it (/v1/messages goes through Responses)
    for group in GROUPS:
        called = ENDPOINT_OF[group.split("-", 1)[0]]
        counted = _by_model(text, "requests", endpoint=called)[group]
        assert counted == sent[group], f"{group}: {counted} of {sent[group]} requests counted as {called}"
        assert _by_model(text, "errors", endpoint=called)[group] == errors[group]
    loads = {dict(labels)["endpoint"]: v for (n, labels), v in samples(text).items() if n == "litellm_current_load"}
    assert loads and set(loads.values()) == {0.0} and set(loads) <= set(ENDPOINT_OF.values())
    assert total(text, "observe_internal_errors") == 0
