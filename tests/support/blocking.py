"""A test-only LiteLLM callback that blocks its worker's event loop: a request whose last message holds
BLOCKLOOP makes `async_pre_call_hook` sleep synchronously for BLOCK_SECONDS (the classic mistake of a
blocking call in an async hook). Copied next to the proxy's config.yaml."""

import time

from litellm.integrations.custom_logger import CustomLogger

BLOCK_SECONDS = 2.5


class Blocker(CustomLogger):
    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):
        text = str((data.get("messages") or [{}])[-1].get("content", ""))
        if "BLOCKLOOP" in text:
            time.sleep(BLOCK_SECONDS)
        return data


blocker = Blocker()
