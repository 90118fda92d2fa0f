"""The demo's clients: a few threads sending chat completions (some streamed) to the proxy, with
random pauses. They stop when `stop` is set; each request is bounded by TIMEOUT_SECONDS."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter

import httpx

from .stack import MODELS

TIMEOUT_SECONDS = 30.0
STREAM_SHARE = 0.4
PAUSE_SECONDS = (0.05, 0.6)
# who calls (the demo turns caller attribution on: stack.DEMO_ATTRIBUTION): customers in the request's `user`
# field, an application as tags, a project in the request metadata; a few big callers and a long tail
CUSTOMERS = (("acme", 6), ("globex", 3), ("initech", 1))
APPLICATIONS = (("support-bot", 5), ("nightly-batch", 2), ("evals", 1))
PROJECTS = ("atlas", "orion")


class Traffic:
    def __init__(self, proxy_url: str, master_key: str, clients: int = 4, seed: int | None = None):
        self.url = f"{proxy_url}/v1/chat/completions"
        self.headers = {"Authorization": f"Bearer {master_key}", "content-type": "application/json"}
        self.stop = threading.Event()
        self.sent: Counter[str] = Counter()  # what the clients saw: status code, or "transport"
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._threads = [
            threading.Thread(target=self._client, name=f"demo-client-{i}", daemon=True) for i in range(clients)
        ]

    def start(self) -> Traffic:
        for t in self._threads:
            t.start()
        return self

    def close(self) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(TIMEOUT_SECONDS + 5)

    def _client(self) -> None:
        weights = [m.weight for m in MODELS]
        with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
            while not self.stop.is_set():
                with self._lock:
                    model = self._rng.choices(MODELS, weights)[0]
                    stream = self._rng.random() < STREAM_SHARE
                    pause = self._rng.uniform(*PAUSE_SECONDS)
                    caller = {
                        "user": self._pick(CUSTOMERS),
                        "metadata": {"tags": [self._pick(APPLICATIONS)], "project": self._rng.choice(PROJECTS)},
                    }
                self._count(self._send(client, model.name, stream, caller))
                self.stop.wait(pause)

    def _pick(self, weighted: tuple[tuple[str, int], ...]) -> str:
        return self._rng.choices([name for name, _ in weighted], [w for _, w in weighted])[0]

    def _send(self, client: httpx.Client, model: str, stream: bool, caller: dict) -> str:
        body = json.dumps(
            {
                "model": model,
                "stream": stream,
                "messages": [{"role": "user", "content": "Say hello to the demo."}],
                **caller,
            }
        )
        try:
            if stream:
                with client.stream("POST", self.url, content=body, headers=self.headers) as r:
                    for _ in r.iter_bytes():
                        pass
                    return str(r.status_code)
            return str(client.post(self.url, content=body, headers=self.headers).status_code)
        except httpx.HTTPError:
            return "transport"

    def _count(self, outcome: str) -> None:
        with self._lock:
            self.sent[outcome] += 1
