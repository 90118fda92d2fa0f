"""Who made a request: the raw values of the caller dimensions a proxy turned on (the `attribution` setting).

Pure: no I/O, no clock, no state. Every value is read from the request's metadata as LiteLLM's proxy fills it
before any hook runs: the same mapping at the pre-call hook (`data["metadata"]`), the failure hook
(`request_data["metadata"]`) and the success event (`litellm_params["metadata"]`); `/v1/messages` and
`/v1/responses` keep it under `litellm_metadata`.

    key_alias       user_api_key_alias: the key's alias. Never the key or its hash; a key without an alias
                    has no series of its own (its requests count under `unknown`, so the sum still adds up).
    user            user_api_key_user_id: the key's user.
    end_user        user_api_key_end_user_id: the request's `user` field (the customer).
    tags            tags: the request's tags, merged with its key's and team's by LiteLLM. Several per request:
                    a request counts once under each, so tags do not sum to the total. LiteLLM's own
                    `User-Agent: ...` tags are added only to its logging payload (never read here), and any
                    tag that looks like one is dropped.
    metadata.<key>  requester_metadata[<key>]: what the client sent as `metadata`; a scalar, else `unknown`.

A value that looks like a secret, an e-mail address, an IP address or a user agent is never a label value:
`private` says so, and labels.py's Labeller shows it as `redacted`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from ..catalogue import METADATA_DIMENSION_PREFIX

# dimension -> (raw values) for one request, in the order of the setting
Callers = tuple[tuple[str, tuple[object, ...]], ...]
NONE: Callers = ()
MAX_TAGS = 16  # tags counted per request (a hostile request with thousands is cut, as LiteLLM's UI does not)

_FIELDS = {"key_alias": "user_api_key_alias", "user": "user_api_key_user_id", "end_user": "user_api_key_end_user_id"}
_MISSING: tuple[object, ...] = (None,)

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")  # also an address cut short by the label length
_HEX = re.compile(r"[0-9a-fA-F]{40,}")  # SHA-1 and longer: LiteLLM hashes keys with SHA-256 (64)
_PRODUCT_VERSION = re.compile(r"[A-Za-z][\w.+-]*/\d+(?:\.\d+)+")  # python-requests/2.31.0, Mozilla/5.0
_SECRET_PREFIXES = ("sk-", "sk_", "bearer ", "basic ", "eyj")  # LiteLLM/OpenAI keys, auth headers, JWTs
_AGENT_PREFIXES = ("user-agent:", "mozilla/")


def request_metadata(holder: Mapping[str, Any]) -> Mapping[str, Any]:
    """The request's metadata within a hook's mapping (request data, or an event's litellm_params)."""
    meta = holder.get("metadata")
    if meta is None or not (type(meta) is dict or isinstance(meta, Mapping)) or not meta:  # a dict: no ABC check
        meta = holder.get("litellm_metadata")
    return meta if type(meta) is dict or (meta is not None and isinstance(meta, Mapping)) else {}


def callers(meta: Mapping[str, Any], dimensions: tuple[str, ...]) -> Callers:
    """The raw values of each dimension, from the request's metadata; NONE when no dimension is on."""
    if not dimensions:
        return NONE
    out: list[tuple[str, tuple[object, ...]]] = []
    for dimension in dimensions:
        field = _FIELDS.get(dimension)
        if field is not None:
            out.append((dimension, (meta.get(field),)))
        elif dimension == "tags":
            out.append((dimension, tags(meta.get("tags"))))
        else:
            requester = meta.get("requester_metadata")
            key = dimension[len(METADATA_DIMENSION_PREFIX) :]
            value = requester.get(key) if isinstance(requester, Mapping) else None
            out.append((dimension, (value if isinstance(value, (str, int, float)) else None,)))
    return tuple(out)


def tags(value: object) -> tuple[object, ...]:
    """A request's tags, each once, at most MAX_TAGS, user-agent tags dropped; `(None,)` (counted as `unknown`)
    when it has none."""
    if not isinstance(value, (list, tuple)):
        return _MISSING
    seen: dict[object, None] = {}
    for tag in value[: MAX_TAGS * 4]:
        if isinstance(tag, str) and tag and not tag.lower().startswith("user-agent:"):
            seen[tag] = None
            if len(seen) == MAX_TAGS:
                break
    return tuple(seen) or _MISSING


def private(value: str) -> bool:
    """Whether a (cleaned) label value looks like a secret, an e-mail address, an IP address or a user agent."""
    lowered = value.lower()
    if lowered.startswith(_SECRET_PREFIXES) or lowered.startswith(_AGENT_PREFIXES):
        return True
    if "@" in value and _EMAIL.search(value):
        return True
    if _HEX.search(value) or _PRODUCT_VERSION.match(value):
        return True
    if ("." in value or ":" in value) and len(value) <= 45:
        try:
            ipaddress.ip_address(value)
            return True
        except ValueError:
            return False
    return False
