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

MODELS = ["ok", "bad500"]
_REQ = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")


def _resp(code: int) -> httpx.Response:
    return httpx.Response(code, request=_REQ)


M, P = "fake-model", "openai"
# One constructor per exception class in litellm.exceptions, and what it must map to:
# (build, expected error_type). Written from LiteLLM's class hierarchy and status codes,
# not read back from error_types.py.
EXCEPTIONS: dict[str, tuple] = {
    "APIConnectionError": (lambda: le.APIConnectionError("m", P, M), "connection"),
    "APIError": (lambda: le.APIError(500, "m", P, M), "internal_server_error"),
    "APIResponseValidationError": (lambda: le.APIResponseValidationError("m", P, M), "internal_server_error"),
    "AuthenticationError": (lambda: le.AuthenticationError("m", P, M), "authentication"),
    "BadGatewayError": (lambda: le.BadGatewayError("m", P, M), "connection"),
    "BadRequestError": (lambda: le.BadRequestError("m", M, P), "bad_request"),
    "BlockedPiiEntityError": (lambda: le.BlockedPiiEntityError("EMAIL"), "bad_request"),
    "BudgetExceededError": (lambda: le.BudgetExceededError(2.0, 1.0), "budget_exceeded"),
    "ContentPolicyViolationError": (lambda: le.ContentPolicyViolationError("m", M, P), "content_policy"),
    "ContextWindowExceededError": (lambda: le.ContextWindowExceededError("m", M, P), "context_window_exceeded"),
    "GuardrailRaisedException": (lambda: le.GuardrailRaisedException("g", "m"), "bad_request"),
    "ImageFetchError": (lambda: le.ImageFetchError("m", M, P), "bad_request"),
    "InternalServerError": (lambda: le.InternalServerError("m", P, M), "internal_server_error"),
    "InvalidRequestError": (lambda: le.InvalidRequestError("m", M, P), "bad_request"),
    "JSONSchemaValidationError": (lambda: le.JSONSchemaValidationError(M, P, "{}", "{}"), "bad_request"),
    "LiteLLMUnknownProvider": (lambda: le.LiteLLMUnknownProvider(M, P), "bad_request"),
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
    "UnsupportedParamsError": (lambda: le.UnsupportedParamsError("m", P, M), "bad_request"),
    "VectorStoreSearchError": (lambda: le.VectorStoreSearchError([]), "bad_request"),
}


def litellm_exception_classes() -> dict[str, type]:
    return {n: c for n, c in vars(le).items()
            if isinstance(c, type) and issubclass(c, BaseException) and c.__module__.startswith("litellm")}


def success_kwargs(call_id="c1", model_group="ok", provider="openai", *, stream=False, cache_hit=None,
                   cost=0.0001, prompt=11, completion=7, team=None, retries=0, now=None, headers=True,
                   spend=0.0, key_hash="h1", reset_at=None, cached_tokens=None, original=None) -> dict:
    """A success event as LiteLLM 1.106 hands it to async_log_success_event."""
    now = time.time() if now is None else now
    start, end = now - 0.5, now
    first = now - 0.4 if stream else end
    add_headers = {"x_ratelimit_limit_requests": 1000, "x_ratelimit_remaining_requests": 990,
                   "x_ratelimit_limit_tokens": 100000, "x_ratelimit_remaining_tokens": 99500} if headers else {}
    return {
        "litellm_call_id": call_id,
        "standard_logging_object": {
            "status": "success", "custom_llm_provider": provider, "model": f"{provider}/fake-{model_group}",
            "model_group": model_group, "stream": stream, "cache_hit": cache_hit, "response_cost": cost,
            "prompt_tokens": prompt, "completion_tokens": completion, "startTime": start, "endTime": end,
            "completionStartTime": first,
            "metadata": {"user_api_key_hash": key_hash, "user_api_key_team_id": team, "user_api_key_team_alias": None,
                         "user_api_key_user_id": "default_user_id", "user_api_key_spend": spend,
                         "user_api_key_budget_reset_at": reset_at,
                         "usage_object": {"prompt_tokens": prompt, "completion_tokens": completion,
                                          "prompt_tokens_details": (None if cached_tokens is None
                                                                    else {"cached_tokens": cached_tokens})}},
            "hidden_params": {"additional_headers": add_headers},
        },
        "litellm_params": {"metadata": {"model_group": model_group,
                                        "original_model_group": original or model_group,
                                        "attempted_retries": retries, "attempted_fallbacks": 0}},
    }


def failure_request(model="bad500", call_id="c2", retries=None) -> dict:
    meta = {"model_group": model}
    if retries is not None:
        meta["attempted_retries"] = retries
    return {"model": model, "litellm_call_id": call_id, "metadata": meta}


def user(team_id=None, team_alias=None):
    return SimpleNamespace(team_id=team_id, team_alias=team_alias)


def make_logger(directory: str, *, caching=True, models=MODELS, section=None) -> ObserveLogger:
    return ObserveLogger(settings_mod.load(environ={}, section=section or {}), run_directory=str(directory),
                         model_names=lambda: list(models), caching_on=lambda: caching, start_exporter=False)


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
