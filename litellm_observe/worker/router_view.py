"""What the logger reads from the proxy's router, through whichever API the LiteLLM version has.

LiteLLM 1.109 moved the router's attributes behind entry points (`registry()`, `health()`) and
keeps the old names as deprecated aliases that warn on every read; 1.105 and 1.106 have only the
old names. Every read here is guarded: a router of another shape gives nothing, never an error. The router
is typed Any: LiteLLM's, read by duck typing across versions.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

_MAX_DEPLOYMENTS = 2000  # bounded work per read, however large the model list


def current() -> tuple[object, bool]:
    """(the proxy's router or None, whether this process runs a proxy at all)."""
    server = sys.modules.get("litellm.proxy.proxy_server")
    return getattr(server, "llm_router", None), server is not None


def group_names(router: Any) -> list[str]:
    """The public model groups of the router's model list."""
    registry = getattr(type(router), "registry", None)
    if callable(registry):
        try:
            return list(router.registry().names())
        except Exception:
            pass
    names = list(getattr(router, "model_names", None) or ())
    try:
        names += [g for g in router.get_model_names() if g not in names]
    except Exception:
        pass
    return names


def deployments(router: Any) -> list[Any]:
    """The router's deployments (model list entries: model_name, litellm_params, model_info)."""
    registry = getattr(type(router), "registry", None)
    try:
        entries = router.registry().all() if callable(registry) else getattr(router, "model_list", None)
    except Exception:
        return []
    return list(entries[:_MAX_DEPLOYMENTS]) if isinstance(entries, list) else []


def cooldown_cache(router: Any) -> Any:
    """The router's CooldownCache (in memory per worker, shared through Redis when configured)."""
    health = getattr(type(router), "health", None)
    if callable(health):
        try:
            return router.health().cooldowns
        except Exception:
            return None
    return getattr(router, "cooldown_cache", None)


def provider_of(params: Mapping[str, Any]) -> object:
    """A deployment's provider as LiteLLM names it in events (custom_llm_provider)."""
    provider = params.get("custom_llm_provider")
    if provider:
        return provider
    model = params.get("model")
    if not isinstance(model, str):
        return None
    try:
        from litellm import get_llm_provider

        return get_llm_provider(model=model, api_base=params.get("api_base"))[1]
    except Exception:
        return model.split("/", 1)[0] if "/" in model else None
