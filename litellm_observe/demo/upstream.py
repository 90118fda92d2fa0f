"""A small OpenAI-compatible upstream on loopback only: the provider of `litellm_observe demo` and of
the tests. Each behaviour is chosen by the model name, so one server plays every provider.

Endpoints:
  POST /v1/chat/completions       JSON, or SSE with `stream: true` (usage chunk with include_usage)
  POST /v1/responses              JSON, or SSE with the real Responses API event sequence
  POST /v1/completions            legacy text completions, JSON or SSE
  POST /v1/embeddings             floats, or base64 with `encoding_format: base64` (the openai SDK's default)
  POST /v1/images/generations     b64_json
  POST /v1/audio/speech           a few bytes of "audio/mpeg"
  POST /v1/audio/transcriptions   multipart form; {"text": ...}
  GET  /_requests                 what this server received so far (JSON list), for drivers

Behaviour is chosen by the upstream model name the proxy sends:
  fake-ok          200
  fake-slow        like fake-ok after SLOW_SECONDS
  fake-429         429 with x-ratelimit-* headers (remaining 0)
  fake-500         500 before any byte of a response
  fake-flaky       500 on odd-numbered calls, 200 on even ones (for retries)
  fake-rich        like fake-ok, its chat completion's usage with every detail (RICH_USAGE): cached,
                   cache-creation and audio input, reasoning and audio output tokens
  fake-slowstream  a stream whose chunks come STREAM_GAP_SECONDS apart (about 3 s in all)
  fake-longstream  the same for about a minute (LONG_STREAM_SECONDS): a client that leaves after its first
                   bytes always leaves mid-stream, however slowly a loaded machine runs the proxy
  fake-break       a stream that sends its first delta(s), then closes the socket in the middle of the
                   chunked body (the client sees a transport error: httpx.RemoteProtocolError
                   "incomplete chunked read"); without `stream`, the socket is closed before any reply
  fake-cut         a stream that sends its first delta(s), then ends the HTTP body cleanly with no
                   terminal event (no response.completed, no finish_reason, no [DONE])
  fake-break0, fake-cut0   the same before any output: chat and legacy streams send no chunk at all,
                   Responses streams only response.created and response.in_progress
  demo-*          the demo's provider: latency drawn from a long-tailed spread (median DEMO_MEDIAN_SECONDS),
                   varied token counts (reasoning tokens when the name has `reasoner`), rate-limit
                   headers counting the calls of the last minute against DEMO_LIMIT_REQUESTS, and
                   now and then a 429 (DEMO_429_RATIO) or a 500 (DEMO_500_RATIO)
A name in `outage` (any kind) answers 500 to every call while it is there.
A name may carry a suffix after `--` (`fake-break--chat`): it behaves as its prefix, and `requests`
counts it apart. Every reply is recorded in `requests` (path, model, stream, behaviour).

Run standalone: python -m litellm_observe.demo.upstream [--port N]  (prints the base URL, serves until killed)
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import random
import re
import socket
import struct
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLOW_SECONDS = 1.5
STREAM_GAP_SECONDS = 0.3
LONG_STREAM_SECONDS = 60.0
# extra deltas of the slow streams, STREAM_GAP_SECONDS apart
_EXTRA_DELTAS = {"fake-slowstream": 6, "fake-longstream": int(LONG_STREAM_SECONDS / STREAM_GAP_SECONDS)}
PROMPT_TOKENS = 11
COMPLETION_TOKENS = 7
LIMIT_REQUESTS = 1000
LIMIT_TOKENS = 100000
EMBEDDING_DIM = 8
TEXT = ["hello", " world"]
DEMO_MEDIAN_SECONDS = 0.35
DEMO_LIMIT_REQUESTS = 600
DEMO_LIMIT_TOKENS = 400_000
# A healthy provider: 0.2 % of calls fail (rate limited or broken), well inside the 99.5 % availability objective
# the generated burn-rate alerts hold providers to (slo_objective), so the steady demo raises no alert
DEMO_429_RATIO = 0.001
DEMO_500_RATIO = 0.001


class _Dropped(Exception):
    """The handler closed the connection on purpose."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output quiet
        pass

    def handle(self):
        try:
            super().handle()
        except OSError:  # a client that hung up on a kept-alive connection, or our own _drop
            pass

    # ---- plumbing ------------------------------------------------------------------------------
    def _ratelimit_headers(
        self,
        remaining_requests: int,
        remaining_tokens: int,
        limit_requests: int = LIMIT_REQUESTS,
        limit_tokens: int = LIMIT_TOKENS,
    ) -> None:
        self.send_header("x-ratelimit-limit-requests", str(limit_requests))
        self.send_header("x-ratelimit-remaining-requests", str(remaining_requests))
        self.send_header("x-ratelimit-limit-tokens", str(limit_tokens))
        self.send_header("x-ratelimit-remaining-tokens", str(remaining_tokens))

    def _bytes(self, status: int, data: bytes, content_type: str, remaining: tuple[int, ...] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        if remaining is not None:
            self._ratelimit_headers(*remaining)
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: int, body: dict, remaining: tuple[int, ...] | None = None) -> None:
        self._bytes(status, json.dumps(body).encode(), "application/json", remaining)

    def _start_sse(self, remaining: tuple[int, ...]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self._ratelimit_headers(*remaining)
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _drop(self) -> None:
        """Close the TCP connection now, in the middle of whatever was being sent."""
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()
        self.close_connection = True
        raise _Dropped()

    def _send_events(self, frames: list[bytes], kind: str, gap: float, keep: int, keep0: int = 0) -> None:
        """Send SSE frames; fake-break / fake-cut stop after `keep` frames (the first delta),
        fake-break0 / fake-cut0 after `keep0` frames (before any output)."""
        limit = {"fake-break": keep, "fake-cut": keep, "fake-break0": keep0, "fake-cut0": keep0}.get(kind)
        try:
            for i, frame in enumerate(frames):
                if limit is not None and i >= limit:
                    break
                self._chunk(frame)
                time.sleep(gap)
            if kind in ("fake-break", "fake-break0"):
                self._drop()
            self._chunk(b"")  # a clean end of the chunked body (fake-cut: with no terminal event)
        except (BrokenPipeError, ConnectionResetError):
            return  # the proxy hung up: its client went away

    # ---- routing -------------------------------------------------------------------------------
    def do_GET(self):  # noqa: N802
        server: FakeUpstream = self.server.owner  # type: ignore[attr-defined]
        if self.path.startswith("/_requests"):
            with server._lock:
                return self._json(200, {"requests": list(server.requests)})
        self._json(200, {"object": "list", "data": []})

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = self.headers.get("content-type", "")
        if ctype.startswith("multipart/form-data"):
            req = _multipart_fields(raw)
        else:
            try:
                req = json.loads(raw or b"{}")
            except ValueError:
                req = {}
        server: FakeUpstream = self.server.owner  # type: ignore[attr-defined]
        model = str(req.get("model", ""))
        path = self.path.split("?", 1)[0]
        stream = bool(req.get("stream")) and str(req.get("stream")).lower() != "false"
        kind = server.count(model, path, stream)
        try:
            self._route(path, req, model, kind, stream)
        except _Dropped:
            return

    def _route(self, path: str, req: dict, model: str, kind: str, stream: bool) -> None:
        if kind == "fake-429":
            return self._json(429, {"error": {"message": "rate limited", "type": "rate_limit_error"}}, (0, 0))
        if kind == "fake-500":
            return self._json(500, {"error": {"message": "upstream broke", "type": "server_error"}})
        if kind == "fake-slow":
            time.sleep(self.server.owner.slow_seconds)  # type: ignore[attr-defined]
        if kind == "demo":
            return self._demo(path, req, model, stream)
        if kind in ("fake-break", "fake-cut", "fake-break0", "fake-cut0") and not stream:
            self._drop()  # no streaming: hang up before any reply
        remaining = (LIMIT_REQUESTS - 10, LIMIT_TOKENS - 500)
        gap = STREAM_GAP_SECONDS if kind in _EXTRA_DELTAS else 0.01
        if path.endswith("/chat/completions"):
            if stream:
                return self._chat_stream(
                    model, kind, remaining, bool((req.get("stream_options") or {}).get("include_usage")), gap
                )
            return self._json(200, _completion(model), remaining)
        if path.endswith("/responses"):
            if stream:
                return self._responses_stream(model, kind, remaining, gap)
            return self._json(200, _response_object(model, "completed", TEXT), remaining)
        if path.endswith("/completions"):  # legacy
            if stream:
                return self._text_stream(model, kind, remaining, gap)
            return self._json(200, _text_completion(model), remaining)
        if path.endswith("/embeddings"):
            return self._json(200, _embeddings(model, req), remaining)
        if path.endswith("/images/generations"):
            n = int(req.get("n") or 1)
            png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
            return self._json(200, {"created": int(time.time()), "data": [{"b64_json": png}] * n}, remaining)
        if path.endswith("/audio/speech"):
            return self._bytes(200, b"ID3fake-mp3-bytes" * 8, "audio/mpeg", remaining)
        if path.endswith("/audio/transcriptions"):
            return self._json(200, {"text": "hello world"}, remaining)
        self._json(404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}})

    def _demo(self, path: str, req: dict, model: str, stream: bool) -> None:
        owner: FakeUpstream = self.server.owner  # type: ignore[attr-defined]
        seconds, usage, remaining = owner.demo_call(model)
        if not path.endswith("/chat/completions"):
            time.sleep(seconds)
            return self._json(
                200, _embeddings(model, req) if path.endswith("/embeddings") else _completion(model), remaining
            )
        if not stream:
            time.sleep(seconds)
            return self._json(200, {**_completion(model), "usage": usage}, remaining)
        time.sleep(seconds * 0.3)  # time to first token
        self._start_sse(remaining)
        base = {"id": "chatcmpl-demo", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
        words = max(2, min(usage["completion_tokens"] // 20, 20))
        chunks = [
            {**base, "choices": [{"index": 0, "delta": {"content": f" word{i}"}, "finish_reason": None}]}
            for i in range(words)
        ]
        chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (req.get("stream_options") or {}).get("include_usage"):
            chunks.append({**base, "choices": [], "usage": usage})
        frames = [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]
        self._send_events(frames, "demo", seconds * 0.7 / words, keep=0)

    # ---- streams -------------------------------------------------------------------------------
    def _chat_stream(self, model: str, kind: str, remaining, include_usage: bool, gap: float) -> None:
        self._start_sse(remaining)
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
        chunks = [
            {
                **base,
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": TEXT[0]}, "finish_reason": None}],
            },
            {**base, "choices": [{"index": 0, "delta": {"content": TEXT[1]}, "finish_reason": None}]},
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        ]
        chunks[1:1] = [
            {**base, "choices": [{"index": 0, "delta": {"content": " more"}, "finish_reason": None}]}
        ] * _EXTRA_DELTAS.get(kind, 0)
        if include_usage:
            chunks.append({**base, "choices": [], "usage": _usage()})
        frames = [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]
        self._send_events(frames, kind, gap, keep=1)

    def _text_stream(self, model: str, kind: str, remaining, gap: float) -> None:
        self._start_sse(remaining)
        base = {"id": "cmpl-fake", "object": "text_completion", "created": int(time.time()), "model": model}
        chunks = [
            {**base, "choices": [{"index": 0, "text": TEXT[0], "logprobs": None, "finish_reason": None}]},
            {**base, "choices": [{"index": 0, "text": TEXT[1], "logprobs": None, "finish_reason": None}]},
            {
                **base,
                "choices": [{"index": 0, "text": "", "logprobs": None, "finish_reason": "stop"}],
                "usage": _usage(),
            },
        ]
        frames = [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]
        self._send_events(frames, kind, gap, keep=1)

    def _responses_stream(self, model: str, kind: str, remaining, gap: float) -> None:
        self._start_sse(remaining)
        deltas = list(TEXT) + [" more"] * _EXTRA_DELTAS.get(kind, 0)
        frames = [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in responses_events(model, deltas)]
        # frames: created, in_progress, output_item.added, content_part.added, delta 1, delta 2, ...
        self._send_events(frames, kind, gap, keep=5, keep0=2)


# ---- bodies ------------------------------------------------------------------------------------
def _usage(model: str = "") -> dict:
    if model.startswith("fake-rich"):
        return dict(RICH_USAGE)
    return {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    }


# What OpenAI (details) and Anthropic-style providers (cache_creation_input_tokens) report.
RICH_USAGE = {
    "prompt_tokens": 120,
    "completion_tokens": 50,
    "total_tokens": 170,
    "cache_creation_input_tokens": 40,
    "prompt_tokens_details": {"cached_tokens": 64, "audio_tokens": 9, "text_tokens": 111},
    "completion_tokens_details": {"reasoning_tokens": 30, "audio_tokens": 5, "text_tokens": 15},
}


def _completion(model: str) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(TEXT)}, "finish_reason": "stop"}],
        "usage": _usage(model),
    }


def _text_completion(model: str) -> dict:
    return {
        "id": "cmpl-fake",
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "text": "".join(TEXT), "logprobs": None, "finish_reason": "stop"}],
        "usage": _usage(),
    }


def _embeddings(model: str, req: dict) -> dict:
    inputs = req.get("input")
    n = len(inputs) if isinstance(inputs, list) and inputs and not isinstance(inputs[0], int) else 1
    vector = [round(0.1 * (i + 1), 3) for i in range(EMBEDDING_DIM)]
    if req.get("encoding_format") == "base64":
        value: object = base64.b64encode(struct.pack(f"<{EMBEDDING_DIM}f", *vector)).decode()
    else:
        value = vector
    return {
        "object": "list",
        "model": model,
        "data": [{"object": "embedding", "index": i, "embedding": value} for i in range(n)],
        "usage": {"prompt_tokens": PROMPT_TOKENS, "total_tokens": PROMPT_TOKENS},
    }


def _responses_usage() -> dict:
    return {
        "input_tokens": PROMPT_TOKENS,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": COMPLETION_TOKENS,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    }


def _message_item(status: str, text: str | None) -> dict:
    content = [] if text is None else [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
    return {"id": "msg_fake", "type": "message", "status": status, "role": "assistant", "content": content}


def _response_object(model: str, status: str, deltas: list[str] | None) -> dict:
    done = status == "completed"
    return {
        "id": "resp_fake",
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": [_message_item("completed", "".join(deltas))] if done and deltas is not None else [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": _responses_usage() if done else None,
        "user": None,
        "metadata": {},
    }


def responses_events(model: str, deltas: list[str]) -> list[dict]:
    """The event sequence of a streamed Responses API call with one text message."""
    text = "".join(deltas)
    ids = {"item_id": "msg_fake", "output_index": 0, "content_index": 0}
    events: list[dict] = [
        {"type": "response.created", "response": _response_object(model, "in_progress", None)},
        {"type": "response.in_progress", "response": _response_object(model, "in_progress", None)},
        {"type": "response.output_item.added", "output_index": 0, "item": _message_item("in_progress", None)},
        {
            "type": "response.content_part.added",
            **ids,
            "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []},
        },
    ]
    events += [{"type": "response.output_text.delta", **ids, "delta": d, "logprobs": []} for d in deltas]
    events += [
        {"type": "response.output_text.done", **ids, "text": text, "logprobs": []},
        {
            "type": "response.content_part.done",
            **ids,
            "part": {"type": "output_text", "text": text, "annotations": [], "logprobs": []},
        },
        {"type": "response.output_item.done", "output_index": 0, "item": _message_item("completed", text)},
        {"type": "response.completed", "response": _response_object(model, "completed", deltas)},
    ]
    for n, event in enumerate(events):
        event["sequence_number"] = n
    return events


def _multipart_fields(raw: bytes) -> dict:
    """The text fields of a multipart/form-data body (enough to read `model`)."""
    fields = {}
    for m in re.finditer(rb'name="([^"]+)"(?:; filename="[^"]*")?\r\n(?:[^\r\n]+\r\n)*\r\n(.*?)\r\n--', raw, re.S):
        name, value = m.group(1).decode(), m.group(2)
        if b"filename=" not in m.group(0)[:200]:
            fields[name] = value.decode(errors="replace")
    return fields


class FakeUpstream:
    """Start with `with FakeUpstream() as up:`; `up.base_url` goes into `api_base`."""

    def __init__(self, slow_seconds: float = SLOW_SECONDS, port: int = 0, seed: int | None = None):
        self.slow_seconds = slow_seconds
        self.outage: set[str] = set()  # model names that answer 500 to every call, while they are in it
        self._rng = random.Random(seed)
        self._demo_calls: deque[float] = deque()
        self.stats: Counter[str] = Counter()
        self.requests: deque[dict] = deque(maxlen=100_000)
        self._calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        self._server.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def count(self, model: str, path: str = "", stream: bool = False) -> str:
        """Record one call; returns how it should be answered."""
        with self._lock:
            self._calls[model] += 1
            n = self._calls[model]
        kind = model.split("--", 1)[0]  # "fake-ok--anything" behaves as fake-ok, counted apart
        if model in self.outage and not kind.startswith("demo-"):
            kind = "fake-500"  # an outage switched on (and off) by a test
        elif kind == "fake-flaky":
            kind = "fake-500" if n % 2 else "fake-ok"
        elif kind.startswith("demo-"):
            with self._lock:
                draw = self._rng.random()
            kind = (
                "fake-500"
                if model in self.outage or draw < DEMO_500_RATIO
                else "fake-429"
                if draw < DEMO_500_RATIO + DEMO_429_RATIO
                else "demo"
            )
        with self._lock:
            self.stats[kind] += 1
            self.requests.append({"t": time.time(), "path": path, "model": model, "stream": stream, "kind": kind})
        return kind

    def demo_call(self, model: str) -> tuple[float, dict, tuple[int, int, int, int]]:
        """One demo answer: (seconds it takes, its usage, (requests, tokens) left this minute and the limits)."""
        with self._lock:
            rng, now = self._rng, time.monotonic()
            seconds = min(8.0, rng.lognormvariate(math.log(DEMO_MEDIAN_SECONDS), 0.6))
            prompt, completion = rng.randint(20, 900), rng.randint(10, 400)
            self._demo_calls.append(now)
            while self._demo_calls and self._demo_calls[0] < now - 60:
                self._demo_calls.popleft()
            used = len(self._demo_calls)
        usage: dict[str, object] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        if "reasoner" in model:
            usage["completion_tokens_details"] = {"reasoning_tokens": completion // 2}
        left = (
            max(0, DEMO_LIMIT_REQUESTS - used),
            max(0, DEMO_LIMIT_TOKENS - used * 700),
            DEMO_LIMIT_REQUESTS,
            DEMO_LIMIT_TOKENS,
        )
        return seconds, usage, left

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with FakeUpstream(port=args.port) as up:
        print(up.base_url, flush=True)
        threading.Event().wait()
