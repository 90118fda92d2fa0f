"""Map any exception LiteLLM raises to a status code and one `error_type` from a small fixed set.

By class first (the most specific class in the exception's MRO wins), then by status
code (an exception with none counts as 500, so a plain Exception is
`internal_server_error`), else `bad_request` for other 4xx and `other` for other 5xx. The table is in
README.md; tests/worker/test_error_types.py and tests/worker/test_malformed_events.py check it against
LiteLLM's own exception classes.
"""

from __future__ import annotations

from ..catalogue import ERROR_TYPES

# LiteLLM (and openai, whose classes LiteLLM's subclass) class names. A subclass LiteLLM added to one of
# these is listed too, with the type its base gives, so the README shows where every class of the tested
# releases lands (tests/support/events.py holds one of each, per release).
BY_CLASS: dict[str, str] = {
    "ContextWindowExceededError": "context_window_exceeded",
    "ContentPolicyViolationError": "content_policy",
    "BudgetExceededError": "budget_exceeded",
    "RateLimitError": "rate_limit",
    "CallerCredentialRateLimitError": "rate_limit",  # 1.108: a caller's own stored credential, rate limited
    "AuthenticationError": "authentication",
    "CallerCredentialAuthenticationError": "authentication",  # 1.108: a caller's own credential, rejected
    "PermissionDeniedError": "permission_denied",
    "NotFoundError": "not_found",
    "ProxyModelNotFoundError": "not_found",
    "BadRequestError": "bad_request",
    "UnprocessableEntityError": "bad_request",
    "UnsupportedParamsError": "bad_request",
    "JSONSchemaValidationError": "bad_request",
    "MalformedRequestFieldError": "bad_request",  # 1.108
    "UnsupportedEndpointError": "bad_request",  # 1.110
    "EndpointNotSupportedByModelError": "bad_request",  # 1.110
    "Timeout": "timeout",
    "APITimeoutError": "timeout",
    "TimeoutError": "timeout",
    "APIConnectionError": "connection",
    "ServiceUnavailableError": "service_unavailable",
    "InternalServerError": "internal_server_error",
}

BY_STATUS: dict[int, str] = {
    400: "bad_request",
    401: "authentication",
    403: "permission_denied",
    404: "not_found",
    408: "timeout",
    413: "bad_request",
    422: "bad_request",
    429: "rate_limit",
    499: "client_disconnected",
    500: "internal_server_error",
    502: "connection",
    503: "service_unavailable",
    504: "timeout",
}

# ProxyException carries LiteLLM's error `type` string instead of a class.
BY_PROXY_TYPE: dict[str, str] = {"budget_exceeded": "budget_exceeded", "auth_error": "authentication"}

assert set(BY_CLASS.values()) | set(BY_STATUS.values()) | set(BY_PROXY_TYPE.values()) <= set(ERROR_TYPES)


MAX_DIGITS = 18  # a status code or a rate-limit header; anything longer is not one (and fits an int64)


def ascii_int(raw: str) -> int | None:
    """'429' -> 429; None for anything but at most MAX_DIGITS ASCII digits ('²' passes
    str.isdigit, not int()). Bounded work whatever the input; never raises."""
    if len(raw) <= MAX_DIGITS and raw.isdigit() and raw.isascii():  # the common case: digits alone
        return int(raw)
    raw = raw[: MAX_DIGITS + 64].strip()
    return int(raw) if len(raw) <= MAX_DIGITS and raw.isascii() and raw.isdigit() else None


def status_code(exc: object) -> int:
    """The HTTP status a failed request gets: the exception's `status_code` or `code`,
    else 500. Always 400..599, so failures always match `status_code=~"[45].."`."""
    for attr in ("status_code", "code"):
        raw = getattr(exc, attr, None)
        if isinstance(raw, bool):
            continue
        if isinstance(raw, int):
            code = raw
        elif isinstance(raw, str) and (parsed := ascii_int(raw)) is not None:
            code = parsed
        else:
            continue
        if 400 <= code <= 599:
            return code
    return 500


def error_type(exc: object, code: int | None = None) -> str:
    for cls in type(exc).__mro__:
        found = BY_CLASS.get(cls.__name__)
        if found:
            return found
    proxy_type = getattr(exc, "type", None)
    if isinstance(proxy_type, str) and proxy_type in BY_PROXY_TYPE:
        return BY_PROXY_TYPE[proxy_type]
    code = status_code(exc) if code is None else code
    if code in BY_STATUS:
        return BY_STATUS[code]
    return "bad_request" if 400 <= code < 500 else "other"
