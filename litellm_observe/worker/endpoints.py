"""Which API a client request called: one of catalogue.ENDPOINTS, never a raw path.

Pure: no I/O, no state but a bounded memo. The route the client called (LiteLLM's
`user_api_key_request_route`, in the request's metadata at every hook) decides first: it is what the client
asked for, also when LiteLLM serves the request through another API (`/v1/messages` for an OpenAI model goes
through the Responses API, and its events then say `aresponses`). LiteLLM's call type (the pre-call hook's
`call_type`, the logging payload's `call_type`) decides when no route is known. Anything else is `other`:
batches, files, assistants, passthrough, a route this table does not name.
"""

from __future__ import annotations

from ..catalogue import ENDPOINTS

OTHER = "other"

# LiteLLM's CallTypes (sync and async spellings; the proxy passes either) -> endpoint
BY_CALL_TYPE = {
    **dict.fromkeys(("completion", "acompletion"), "chat_completions"),
    **dict.fromkeys(("text_completion", "atext_completion"), "text_completions"),
    **dict.fromkeys(("responses", "aresponses"), "responses"),
    **dict.fromkeys(("anthropic_messages", "aanthropic_messages"), "messages"),
    **dict.fromkeys(("embedding", "aembedding", "embeddings"), "embeddings"),
    **dict.fromkeys(
        ("image_generation", "aimage_generation", "image_edit", "aimage_edit", "image_variation", "aimage_variation"),
        "images",
    ),
    **dict.fromkeys(("transcription", "atranscription", "audio_transcription"), "audio_transcriptions"),
    **dict.fromkeys(("speech", "aspeech"), "audio_speech"),
    **dict.fromkeys(("rerank", "arerank"), "rerank"),
    **dict.fromkeys(("moderation", "amoderation"), "moderations"),
}

# how a route ends -> endpoint, most specific first (`/chat/completions` before `/completions`). Routes carry a
# prefix (`/v1`, `/openai/deployments/<name>`, `/engines/<name>`) or none; a query never reaches LiteLLM's field.
BY_ROUTE_END = (
    ("/chat/completions", "chat_completions"),
    ("/completions", "text_completions"),
    ("/responses", "responses"),
    ("/messages", "messages"),
    ("/embeddings", "embeddings"),
    ("/images/generations", "images"),
    ("/images/edits", "images"),
    ("/images/variations", "images"),
    ("/audio/transcriptions", "audio_transcriptions"),
    ("/audio/speech", "audio_speech"),
    ("/rerank", "rerank"),
    ("/moderations", "moderations"),
)
assert {e for _, e in BY_ROUTE_END} | set(BY_CALL_TYPE.values()) | {OTHER} == set(ENDPOINTS)

MAX_ROUTE = 200  # a longer route is no API of LiteLLM's
_MEMO: dict[str, str] = {}
_MEMO_SIZE = 512  # distinct routes remembered (LiteLLM has a few dozen; a hostile path never gets here twice)


def of_route(route: object) -> str | None:
    """The endpoint of a route, `other` for a route not in the table, None for no route."""
    if type(route) is not str or not route:
        return None
    found = _MEMO.get(route)
    if found is not None:
        return found
    if len(route) > MAX_ROUTE:
        return OTHER
    path = route.rstrip("/")
    if "/threads/" in path:  # the Assistants API's /v1/threads/<id>/messages is no Messages API call
        found = OTHER
    else:
        found = next((endpoint for end, endpoint in BY_ROUTE_END if path.endswith(end)), OTHER)
    if len(_MEMO) < _MEMO_SIZE:
        _MEMO[route] = found
    return found


def of_call_type(call_type: object) -> str:
    """The endpoint of a LiteLLM call type (a CallTypes member or its value), `other` when unknown."""
    value = getattr(call_type, "value", call_type)
    return BY_CALL_TYPE.get(value, OTHER) if isinstance(value, str) else OTHER


def endpoint(route: object, call_type: object) -> str:
    """The route decides; the call type when there is no route. A route of_route remembers is answered without
    the call (two a request)."""
    found = _MEMO.get(route) if type(route) is str else None
    return found if found is not None else of_route(route) or of_call_type(call_type)
