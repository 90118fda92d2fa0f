"""A small OpenAI-compatible upstream for tests and benchmarks, on loopback only.

Behaviour is chosen by the upstream model name the proxy sends:
  fake-ok     200, JSON or SSE stream, usage in the body, x-ratelimit-* headers
  fake-slow   like fake-ok after SLOW_SECONDS
  fake-429    429 with x-ratelimit-* headers (remaining 0)
  fake-500    500
  fake-flaky  500 on odd-numbered calls, 200 on even ones (for retries)
  fake-slowstream  a stream whose chunks come STREAM_GAP_SECONDS apart (for client disconnects)
Every reply counts into `stats` so a test can compare with what it sees.
"""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLOW_SECONDS = 1.5
STREAM_GAP_SECONDS = 0.3
PROMPT_TOKENS = 11
COMPLETION_TOKENS = 7
LIMIT_REQUESTS = 1000
LIMIT_TOKENS = 100000


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output quiet
        pass

    def _ratelimit_headers(self, remaining_requests: int, remaining_tokens: int) -> None:
        self.send_header("x-ratelimit-limit-requests", str(LIMIT_REQUESTS))
        self.send_header("x-ratelimit-remaining-requests", str(remaining_requests))
        self.send_header("x-ratelimit-limit-tokens", str(LIMIT_TOKENS))
        self.send_header("x-ratelimit-remaining-tokens", str(remaining_tokens))

    def _json(self, status: int, body: dict, remaining: tuple[int, int] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        if remaining is not None:
            self._ratelimit_headers(*remaining)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        self._json(200, {"object": "list", "data": []})

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("content-length") or 0)
        try:
            req = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            req = {}
        server: FakeUpstream = self.server.owner  # type: ignore[attr-defined]
        model = str(req.get("model", ""))
        kind = server.count(model)
        if kind == "fake-429":
            return self._json(429, {"error": {"message": "rate limited", "type": "rate_limit_error"}}, (0, 0))
        if kind == "fake-500":
            return self._json(500, {"error": {"message": "upstream broke", "type": "server_error"}})
        if kind == "fake-slow":
            time.sleep(server.slow_seconds)
        remaining = (LIMIT_REQUESTS - 10, LIMIT_TOKENS - 500)
        if req.get("stream"):
            gap = STREAM_GAP_SECONDS if kind == "fake-slowstream" else 0.01
            return self._stream(model, remaining, bool((req.get("stream_options") or {}).get("include_usage")), gap)
        self._json(200, _completion(model), remaining)

    def _stream(self, model: str, remaining: tuple[int, int], include_usage: bool, gap: float) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self._ratelimit_headers(*remaining)
        self.end_headers()
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
        chunks = [
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "hello"}, "finish_reason": None}]},
            {**base, "choices": [{"index": 0, "delta": {"content": " world"}, "finish_reason": None}]},
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        ]
        if gap > 0.1:
            chunks[1:1] = [{**base, "choices": [{"index": 0, "delta": {"content": " more"}, "finish_reason": None}]}] * 6
        if include_usage:
            chunks.append({**base, "choices": [], "usage": _usage()})
        try:
            for chunk in chunks:
                self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())
                time.sleep(gap)
        except (BrokenPipeError, ConnectionResetError):
            return  # the proxy hung up: its client went away
        try:
            self._chunk(b"data: [DONE]\n\n")
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _usage() -> dict:
    return {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}


def _completion(model: str) -> dict:
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello world"}, "finish_reason": "stop"}],
        "usage": _usage(),
    }


class FakeUpstream:
    """Start with `with FakeUpstream() as up:`; `up.base_url` goes into `api_base`."""

    def __init__(self, slow_seconds: float = SLOW_SECONDS):
        self.slow_seconds = slow_seconds
        self.stats: Counter[str] = Counter()
        self._calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def count(self, model: str) -> str:
        """Record one call; returns how it should be answered."""
        with self._lock:
            self._calls[model] += 1
            n = self._calls[model]
        kind = model
        if model == "fake-flaky":
            kind = "fake-500" if n % 2 else "fake-ok"
        with self._lock:
            self.stats[kind] += 1
        return kind

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "FakeUpstream":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


if __name__ == "__main__":  # manual use: python -m tests.support.fake_upstream
    with FakeUpstream() as up:
        print(up.base_url, flush=True)
        threading.Event().wait()
