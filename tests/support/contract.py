"""What the logger reads from LiteLLM, field by field: the payload contract (issue 10).

Each hook the logger implements, with every field it reads and the types it accepts. A capture
logger (capture_logger.py) records these fields from a real proxy; tests/e2e/test_contract.py
asserts them per LiteLLM version, so a release that renames or retypes a field fails with the field
and the version named, instead of metrics quietly turning `unknown`.

Paths: dotted keys into the hook's argument (`kwargs`, `data`, `request_data`); `@name` reads an
attribute of an object argument (`exception@status_code`). `REQUIRED` fields must be there with the
type; `OPTIONAL` ones may be absent or None (the logger handles both), but when present must have
the type.
"""

from __future__ import annotations

NUM = ("int", "float")
STR = ("str",)

# hook -> argument name -> {path: accepted type names}
REQUIRED: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    # the route the client called decides the endpoint label (worker/endpoints.py)
    "async_pre_call_hook": {"data": {"litellm_call_id": STR, "model": STR, "metadata.user_api_key_request_route": STR}},
    "log_pre_api_call": {"kwargs": {"litellm_call_id": STR, "custom_llm_provider": STR}},
    "async_log_success_event": {
        "kwargs": {
            "litellm_call_id": STR,
            "standard_logging_object.custom_llm_provider": STR,
            "standard_logging_object.model_group": STR,
            "standard_logging_object.response_cost": NUM,
            "standard_logging_object.prompt_tokens": ("int",),
            "standard_logging_object.completion_tokens": ("int",),
            "standard_logging_object.startTime": NUM,
            "standard_logging_object.endTime": NUM,
            "standard_logging_object.completionStartTime": NUM,
            "standard_logging_object.metadata": ("dict",),
            "standard_logging_object.metadata.user_api_key_request_route": STR,
            "standard_logging_object.call_type": STR,
            "standard_logging_object.hidden_params": ("dict",),
            "litellm_params.metadata.model_group": STR,
        }
    },
    "async_log_failure_event": {"kwargs": {"litellm_call_id": STR, "exception": ("exception",)}},
    "async_post_call_failure_hook": {
        "request_data": {"litellm_call_id": STR},
        "original_exception": {"@status_code": ("int",)},
    },
    "async_post_call_failure_deployment_hook": {
        "request_data": {"litellm_call_id": STR, "metadata.model_group": STR},
        "exception": {"@status_code": ("int",), "@llm_provider": STR},
    },
    "async_post_call_streaming_iterator_hook": {"request_data": {"litellm_call_id": STR}},
    "log_success_fallback_event": {"original_model_group": {"": STR}, "kwargs": {"model": STR}},
}

OPTIONAL: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "log_pre_api_call": {"kwargs": {"litellm_params.metadata.model_group": STR}},
    "async_log_success_event": {
        "kwargs": {
            "standard_logging_object.cache_hit": ("bool",),
            "standard_logging_object.stream": ("bool",),  # None on some non-streamed calls
            "standard_logging_object.metadata.user_api_key_team_id": STR,
            "standard_logging_object.metadata.user_api_key_team_alias": STR,
            "standard_logging_object.metadata.user_api_key_hash": STR,
            "standard_logging_object.metadata.usage_object": ("dict",),
            "standard_logging_object.metadata.usage_object.prompt_tokens_details.cached_tokens": ("int",),
            "standard_logging_object.hidden_params.additional_headers": ("dict",),
            "standard_logging_object.hidden_params.additional_headers.x_ratelimit_remaining_requests": ("int", "str"),
            "standard_logging_object.hidden_params.additional_headers.x_ratelimit_limit_requests": ("int", "str"),
            "standard_logging_object.hidden_params.additional_headers.x_ratelimit_remaining_tokens": ("int", "str"),
            "standard_logging_object.hidden_params.additional_headers.x_ratelimit_limit_tokens": ("int", "str"),
            "litellm_params.metadata.original_model_group": STR,
            "litellm_params.metadata.attempted_retries": ("int",),
            # caller attribution (worker/callers.py)
            "litellm_params.metadata.user_api_key_alias": STR,
            "litellm_params.metadata.user_api_key_user_id": STR,
            "litellm_params.metadata.user_api_key_end_user_id": STR,
            "litellm_params.metadata.tags": ("list",),
            "litellm_params.metadata.requester_metadata": ("dict",),
        }
    },
    "async_pre_call_hook": {
        "data": {
            "metadata.user_api_key_alias": STR,
            "metadata.user_api_key_user_id": STR,
            "metadata.user_api_key_end_user_id": STR,
            "metadata.tags": ("list",),
            "metadata.requester_metadata": ("dict",),
        }
    },
    "async_post_call_failure_hook": {
        "request_data": {
            "model": STR,
            "metadata.attempted_retries": ("int",),
            "metadata.user_api_key_request_route": STR,
            "metadata.tags": ("list",),
        },
        "user_api_key_dict": {"@team_id": STR, "@team_alias": STR},
        "original_exception": {"@llm_provider": STR},
    },
}

# Hooks whose REQUIRED fields must have been seen at least once in a capture run
MUST_FIRE = tuple(REQUIRED)


def type_name(value: object) -> str:
    if isinstance(value, BaseException):
        return "exception"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict) or (hasattr(value, "keys") and hasattr(value, "__getitem__")):
        return "dict"
    return type(value).__name__


_MISSING = object()


def read(arg: object, path: str) -> object:
    """The value at `path` in one hook argument; _MISSING when a step is absent."""
    value = arg
    if path == "":
        return value
    for step in path.split("."):
        if step.startswith("@"):
            value = getattr(value, step[1:], _MISSING)
        elif hasattr(value, "get"):
            try:
                value = value.get(step, _MISSING)
            except Exception:
                return _MISSING
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def project(hook: str, args: dict[str, object]) -> dict[str, str]:
    """{"arg:path": type name or "missing"} for every contract field of `hook`."""
    out = {}
    for table in (REQUIRED, OPTIONAL):
        for arg, paths in table.get(hook, {}).items():
            for path in paths:
                value = read(args.get(arg, _MISSING), path)
                out[f"{arg}:{path}"] = "missing" if value is _MISSING else type_name(value)
    return out


def violations(captured: list[dict], version: str) -> list[str]:
    """What breaks the contract in captured projections ({"hook", "fields"} records)."""
    out = []
    seen = {r["hook"] for r in captured}
    for hook in MUST_FIRE:
        if hook not in seen:
            out.append(f"litellm {version}: {hook} never fired")
    for record in captured:
        hook, fields = record["hook"], record["fields"]
        for table, optional in ((REQUIRED, False), (OPTIONAL, True)):
            for arg, paths in table.get(hook, {}).items():
                for path, types in paths.items():
                    got = fields.get(f"{arg}:{path}", "missing")
                    if got in ("missing", "NoneType") and optional:
                        continue
                    if got not in types:
                        out.append(
                            f"litellm {version}: {hook} {arg}.{path or '(itself)'} is {got}, expected "
                            f"{' or '.join(types)}"
                        )
    return sorted(set(out))
