"""One exception of every class in litellm.exceptions of every release of the compatibility matrix, each with
the error_type it must map to: for the error-mapping and malformed-event tests."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch at import

import httpx  # noqa: E402
import litellm.exceptions as le  # noqa: E402

_REQ = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")


def _resp(code: int) -> httpx.Response:
    return httpx.Response(code, request=_REQ)


M, P = "fake-model", "openai"
# One constructor per exception class in litellm.exceptions of every release of the compatibility matrix,
# and what it must map to: (build, expected error_type). Written from LiteLLM's class hierarchy and status
# codes, not read back from error_types.py. A class a release lacks is skipped there (`installed`).
EXCEPTIONS: dict[str, tuple] = {
    "APIConnectionError": (lambda: le.APIConnectionError("m", P, M), "connection"),
    "APIError": (lambda: le.APIError(500, "m", P, M), "internal_server_error"),
    "APIResponseValidationError": (lambda: le.APIResponseValidationError("m", P, M), "internal_server_error"),
    "AuthenticationError": (lambda: le.AuthenticationError("m", P, M), "authentication"),
    "BadGatewayError": (lambda: le.BadGatewayError("m", P, M), "connection"),
    "BadRequestError": (lambda: le.BadRequestError("m", M, P), "bad_request"),
    "BlockedPiiEntityError": (lambda: le.BlockedPiiEntityError("EMAIL"), "bad_request"),
    "BudgetExceededError": (lambda: le.BudgetExceededError(2.0, 1.0), "budget_exceeded"),
    # 1.108: a caller's own stored provider credential rejected or rate limited (401 / 429)
    "CallerCredentialAuthenticationError": (
        lambda: le.CallerCredentialAuthenticationError("m", P, M),
        "authentication",
    ),
    "CallerCredentialRateLimitError": (lambda: le.CallerCredentialRateLimitError("m", P, M), "rate_limit"),
    "ContentPolicyViolationError": (lambda: le.ContentPolicyViolationError("m", M, P), "content_policy"),
    "ContextWindowExceededError": (lambda: le.ContextWindowExceededError("m", M, P), "context_window_exceeded"),
    "EndpointNotSupportedByModelError": (
        lambda: le.EndpointNotSupportedByModelError("m", M, P),
        "bad_request",
    ),  # 1.110
    "GuardrailRaisedException": (lambda: le.GuardrailRaisedException("g", "m"), "bad_request"),
    "ImageFetchError": (lambda: le.ImageFetchError("m", M, P), "bad_request"),
    "InternalServerError": (lambda: le.InternalServerError("m", P, M), "internal_server_error"),
    "InvalidRequestError": (lambda: le.InvalidRequestError("m", M, P), "bad_request"),
    "JSONSchemaValidationError": (lambda: le.JSONSchemaValidationError(M, P, "{}", "{}"), "bad_request"),
    "LiteLLMUnknownProvider": (lambda: le.LiteLLMUnknownProvider(M, P), "bad_request"),
    "MalformedRequestFieldError": (lambda: le.MalformedRequestFieldError("m", M, P), "bad_request"),  # 1.108
    "MidStreamFallbackError": (lambda: le.MidStreamFallbackError("m", M, P), "service_unavailable"),
    "MockException": (lambda: le.MockException(429, "m", P, M), "rate_limit"),
    "ModelNotMappedError": (lambda: le.ModelNotMappedError("m"), "internal_server_error"),
    "ModifyResponseException": (lambda: le.ModifyResponseException("m", M, {}), "internal_server_error"),
    "NotFoundError": (lambda: le.NotFoundError("m", M, P), "not_found"),
    "OpenAIError": (lambda: le.OpenAIError(), "internal_server_error"),
    "PaymentRequiredError": (lambda: le.PaymentRequiredError("m", M, P), "bad_request"),
    "PermissionDeniedError": (lambda: le.PermissionDeniedError("m", P, M, _resp(403)), "permission_denied"),
    "RateLimitError": (lambda: le.RateLimitError("m", P, M), "rate_limit"),
    "RejectedRequestError": (lambda: le.RejectedRequestError("m", M, P, {}), "bad_request"),
    "SensitiveDataRouteException": (lambda: le.SensitiveDataRouteException("other", "s"), "internal_server_error"),
    "ServiceUnavailableError": (lambda: le.ServiceUnavailableError("m", P, M), "service_unavailable"),
    "Timeout": (lambda: le.Timeout("m", M, P), "timeout"),
    "UnprocessableEntityError": (lambda: le.UnprocessableEntityError("m", M, P, _resp(422)), "bad_request"),
    "UnsupportedEndpointError": (lambda: le.UnsupportedEndpointError("m", M, P), "bad_request"),  # 1.110
    "UnsupportedParamsError": (lambda: le.UnsupportedParamsError("m", P, M), "bad_request"),
    "VectorStoreSearchError": (lambda: le.VectorStoreSearchError([]), "bad_request"),
}


def litellm_exception_classes() -> dict[str, type]:
    return {
        n: c
        for n, c in vars(le).items()
        if isinstance(c, type) and issubclass(c, BaseException) and c.__module__.startswith("litellm")
    }


def installed_exceptions() -> list[str]:
    """The names of EXCEPTIONS that the installed LiteLLM has, sorted."""
    return sorted(set(EXCEPTIONS) & set(litellm_exception_classes()))
