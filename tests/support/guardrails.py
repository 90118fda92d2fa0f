"""Custom guardrails for the signals test, with LiteLLM's documented `@log_guardrail_information`.

BlockWord (pre_call) rejects a request whose last message contains BLOCKME with a 400; Passes
(post_call) passes every answer. Copied next to the proxy's config.yaml.
"""

from fastapi import HTTPException
from litellm.integrations.custom_guardrail import CustomGuardrail, log_guardrail_information


class BlockWord(CustomGuardrail):
    @log_guardrail_information
    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):
        text = str((data.get("messages") or [{}])[-1].get("content", ""))
        if "BLOCKME" in text:
            raise HTTPException(status_code=400, detail={"error": "blocked by BlockWord"})
        return data


class Passes(CustomGuardrail):
    @log_guardrail_information
    async def async_post_call_success_hook(self, data, user_api_key_dict, response):
        return response
