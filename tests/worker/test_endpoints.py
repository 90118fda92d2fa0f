"""endpoints: what a client called, from its route or LiteLLM's call type; a fixed set, never a path."""

from __future__ import annotations

import enum

from hypothesis import given
from hypothesis import strategies as st

from litellm_observe.catalogue import ENDPOINTS
from litellm_observe.worker import endpoints

ROUTES = {
    "/v1/chat/completions": "chat_completions",
    "/chat/completions": "chat_completions",
    "/openai/deployments/gpt-4o/chat/completions": "chat_completions",
    "/engines/gpt-4o/chat/completions": "chat_completions",
    "/v1/completions": "text_completions",
    "/completions": "text_completions",
    "/v1/responses": "responses",
    "/responses": "responses",
    "/v1/messages": "messages",
    "/anthropic/v1/messages": "messages",
    "/v1/embeddings": "embeddings",
    "/openai/deployments/emb/embeddings": "embeddings",
    "/v1/images/generations": "images",
    "/v1/images/edits": "images",
    "/v1/audio/transcriptions": "audio_transcriptions",
    "/v1/audio/speech": "audio_speech",
    "/v1/rerank": "rerank",
    "/v2/rerank": "rerank",
    "/v1/moderations": "moderations",
    # not an API call this table names
    "/v1/messages/count_tokens": "other",
    "/v1/threads/thread_1/messages": "other",
    "/v1/batches": "other",
    "/v1/files": "other",
    "/v1/responses/resp_1": "other",
    "/health": "other",
}


def test_routes_map_to_their_endpoint():
    for route, expected in ROUTES.items():
        assert endpoints.of_route(route) == expected, route
        assert endpoints.endpoint(route, "acompletion") == expected, route  # the route decides over the call type


def test_every_endpoint_is_reached_by_a_route_and_a_call_type():
    assert set(ROUTES.values()) == set(ENDPOINTS)
    assert set(endpoints.BY_CALL_TYPE.values()) | {"other"} == set(ENDPOINTS)


class CallTypes(str, enum.Enum):  # LiteLLM passes its enum member or its value
    aembedding = "aembedding"


def test_call_types_decide_without_a_route():
    assert endpoints.endpoint(None, "acompletion") == endpoints.endpoint("", "completion") == "chat_completions"
    assert endpoints.endpoint(None, CallTypes.aembedding) == "embeddings"
    assert endpoints.endpoint(None, "anthropic_messages") == "messages"
    assert endpoints.endpoint(None, "aresponses") == "responses"
    assert endpoints.endpoint(None, "acreate_batch") == "other"
    assert endpoints.endpoint(None, None) == endpoints.endpoint(None, 42) == "other"


def test_a_long_or_hostile_route_is_other_and_the_memo_stays_bounded():
    assert endpoints.of_route("/v1/" + "x" * 10_000 + "/chat/completions") == "other"
    for i in range(endpoints._MEMO_SIZE * 2):
        endpoints.of_route(f"/probe/{i}/chat/completions")
    assert len(endpoints._MEMO) <= endpoints._MEMO_SIZE


@given(
    st.one_of(st.none(), st.text(max_size=300), st.integers(), st.binary(max_size=20)), st.one_of(st.none(), st.text())
)
def test_any_input_gives_one_of_the_fixed_values(route, call_type):
    assert endpoints.endpoint(route, call_type) in ENDPOINTS
