"""One proxy configuration and one traffic loop for the tests where a provider goes down: two models, `gpt`
on openai and `mistral-small` on mistral (OUTAGE_MODEL at the fake upstream, which `upstream.outage.add`
fails), no retries, no cooldowns, no cache. tests/e2e/test_alert_delivery.py and test_victoriametrics.py."""

from __future__ import annotations

import itertools
import threading

import httpx

from .proxy import PRICE, Proxy, default_config, free_port

OUTAGE_MODEL = "fake-ok--mistral"
MODELS = ("gpt", "mistral-small")


def two_model_config(api_base: str) -> dict:
    config = default_config(api_base, free_port())
    config["model_list"] = [
        {
            "model_name": "gpt",
            "litellm_params": {"model": "openai/fake-ok", "api_base": api_base, "api_key": "x", **PRICE},
        },
        {
            "model_name": "mistral-small",
            "litellm_params": {"model": f"mistral/{OUTAGE_MODEL}", "api_base": api_base, "api_key": "x", **PRICE},
        },
    ]
    config["router_settings"] = {"num_retries": 0, "disable_cooldowns": True}
    config["litellm_settings"].pop("cache", None)
    return config


class Traffic(threading.Thread):
    """Chat completions to both models through every proxy, one every 50 ms, until stopped (each request
    bounded); `body` adds fields to each request."""

    def __init__(self, proxies: list[Proxy], body: dict | None = None):
        super().__init__(daemon=True)
        self.proxies, self.body, self.stop, self.sent = proxies, body or {}, threading.Event(), 0

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            for proxy, model in itertools.cycle(itertools.product(self.proxies, MODELS)):
                if self.stop.is_set():
                    return
                try:
                    client.post(
                        f"{proxy.url}/v1/chat/completions",
                        headers=proxy.headers(),
                        json={"model": model, "messages": [{"role": "user", "content": "hi"}], **self.body},
                    )
                except httpx.HTTPError:
                    pass
                self.sent += 1
                self.stop.wait(0.05)
