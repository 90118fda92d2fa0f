"""Realistic LiteLLM event shapes, exceptions of every LiteLLM class, and helpers that
render a run directory and read it back -- for the logger and malformed-event tests."""
from __future__ import annotations

import copy
import math
import os
import subprocess
import time
from types import SimpleNamespace

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch at import

import httpx  # noqa: E402
import litellm.exceptions as le  # noqa: E402
from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from litellm_observe import settings as settings_mod  # noqa: E402
from litellm_observe.exporter.aggregate import Aggregator  # noqa: E402
from litellm_observe.catalogue import BY_NAME  # noqa: E402
from litellm_observe.exporter.exposition import families  # noqa: E402
from litellm_observe.worker.logger import ObserveLogger  # noqa: E402
from tests.support.payloads.shaped import failure_request, success_kwargs, user  # noqa: E402,F401

MODELS = ["ok", "bad500"]
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
    "CallerCredentialAuthenticationError": (lambda: le.CallerCredentialAuthenticationError("m", P, M),
                                            "authentication"),
    "CallerCredentialRateLimitError": (lambda: le.CallerCredentialRateLimitError("m", P, M), "rate_limit"),
    "ContentPolicyViolationError": (lambda: le.ContentPolicyViolationError("m", M, P), "content_policy"),
    "ContextWindowExceededError": (lambda: le.ContextWindowExceededError("m", M, P), "context_window_exceeded"),
    "EndpointNotSupportedByModelError": (lambda: le.EndpointNotSupportedByModelError("m", M, P), "bad_request"),  # 1.110
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
    return {n: c for n, c in vars(le).items()
            if isinstance(c, type) and issubclass(c, BaseException) and c.__module__.startswith("litellm")}


def installed_exceptions() -> list[str]:
    """The names of EXCEPTIONS that the installed LiteLLM has, sorted."""
    return sorted(set(EXCEPTIONS) & set(litellm_exception_classes()))


def make_logger(directory: str, *, caching=True, models=MODELS, section=None, router=None) -> ObserveLogger:
    return ObserveLogger(settings_mod.load(environ={}, section=section or {}), run_directory=str(directory),
                         model_names=lambda: list(models), caching_on=lambda: caching, start_exporter=False,
                         router=lambda: router)


def series(directory: str) -> dict:
    """Every series of a run directory, as the exporter combines them (no compaction)."""
    return Aggregator(str(directory)).collect()


def value(data: dict, metric: str, *labels: str) -> float:
    return data.get((metric, tuple(labels)), [0.0])[0]


def metric_series(data: dict, metric: str) -> dict:
    return {labels: values for (name, labels), values in data.items() if name == metric}


def total(data: dict, metric: str, **match: str) -> float:
    names = BY_NAME[metric].labels
    out = 0.0
    for labels, values in metric_series(data, metric).items():
        d = dict(zip(names, labels))
        if all(d.get(k) == v for k, v in match.items()):
            out += values[0]
    return out


def histogram_count(data: dict, metric: str) -> float:
    return sum(sum(v[:-1]) for v in metric_series(data, metric).values())


def exposition(directory: str, namespace: str = "litellm") -> str:
    registry = CollectorRegistry(auto_describe=False)

    class C:
        def collect(self):
            return families(series(directory), namespace)

    registry.register(C())
    return generate_latest(registry).decode()


def promtool_check(text: str) -> tuple[int, str]:
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace")


def label_values(text: str):
    """(sample name, label name, value) for every label of every sample, `le` excepted."""
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            for k, v in s.labels.items():
                if k != "le":
                    yield s.name, k, v


def finite_nonneg(x: float) -> bool:
    return math.isfinite(x) and x >= 0


def deep(d):
    return copy.deepcopy(d)
