"""Captured: real hook payloads from a proxy of each LiteLLM version of the matrix (tests/e2e/test_contract.py
with TEST_CAPTURE_PAYLOADS=tests/fixtures/payloads), one JSON line per hook call in
`tests/fixtures/payloads/litellm-<version>.jsonl`, made JSON-safe and scrubbed of secrets by `json_safe`,
and rebuilt into what a hook receives by `load`: datetimes, exceptions of the same class names (so
error_types maps them as LiteLLM's own), auth objects with their attributes.

The requests behind them (tests/e2e/test_contract.py, the fake upstream): `ok` plain and streamed (11 prompt
and 7 completion tokens, x-ratelimit-* headers 990/1000 requests and 99500/100000 tokens left/limit),
`bad500` (500), `flaky` (500, then retried), `primary` (500, then falls back to `ok`).
"""

from __future__ import annotations

import copy
import datetime
import functools
import json
from pathlib import Path
from types import SimpleNamespace

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures" / "payloads"
# never captured: they carry the proxy's master key, client headers, or bulky objects of no use here
_DROP = frozenset(
    {
        "secret_fields",
        "proxy_server_request",
        "headers",
        "api_key",
        "user_api_key",
        "token",
        "authorization",
        "raw_request_typed_dict",
        "litellm_logging_obj_repr",
        "messages",
        "input",
        "response",
        "original_response",
        "additional_args",
        "complete_input_dict",
        "prompt",
        "async_complete_streaming_response",
        "complete_streaming_response",
        "callbacks",
        "standard_callback_dynamic_params",
        "request_tags",
        "raw_request",
    }
)
_KEEP_OBJECT_ATTRS = (
    "team_id",
    "team_alias",
    "user_id",
    "key_alias",
    "status_code",
    "llm_provider",
    "model",
    "num_retries",
    "max_retries",
)
_MAX_DEPTH = 8


def json_safe(value: object, depth: int = 0) -> object:
    """A JSON-safe copy of a hook argument, without secrets or bulk (see _DROP)."""
    if depth > _MAX_DEPTH:
        return {"__cut__": type(value).__name__}
    if value is None or isinstance(value, (bool, int, str)):
        return value[:500] if isinstance(value, str) else value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else {"__float__": repr(value)}
    if isinstance(value, datetime.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, BaseException):
        return {
            "__exception__": type(value).__name__,
            "mro": [c.__name__ for c in type(value).__mro__],
            "message": str(value)[:300],
            **{
                a: json_safe(getattr(value, a), depth + 1)
                for a in _KEEP_OBJECT_ATTRS
                if isinstance(getattr(value, a, None), (str, int, float))
            },
        }
    if isinstance(value, (list, tuple)):
        return [json_safe(v, depth + 1) for v in value[:50]]
    if hasattr(value, "keys") and hasattr(value, "__getitem__"):
        return {
            str(k): json_safe(value[k], depth + 1)
            for k in list(value.keys())
            if str(k).lower() not in _DROP and "authorization" not in str(k).lower()
        }
    details = getattr(value, "model_call_details", None)
    if isinstance(details, dict):  # LiteLLM's logging object: the deployment hook reads one field of it
        return {
            "__object__": type(value).__name__,
            "model_call_details": {"api_call_start_time": json_safe(details.get("api_call_start_time"))},
        }
    attrs = {
        a: json_safe(getattr(value, a), depth + 1)
        for a in _KEEP_OBJECT_ATTRS
        if isinstance(getattr(value, a, None), (str, int, float, type(None))) and hasattr(value, a)
    }
    return {"__object__": type(value).__name__, **attrs}


_EXCEPTION_CLASSES: dict[tuple[str, ...], type] = {}


def _exception(data: dict) -> BaseException:
    """An exception whose class and bases have LiteLLM's names (error_types maps by name), with its attributes."""
    mro = tuple(n for n in data["mro"] if n not in ("object", "BaseException", "Exception"))
    cls = _EXCEPTION_CLASSES.get(mro)
    if cls is None:
        base: type = Exception
        for name in reversed(mro):
            base = type(name, (base,), {})
        cls = _EXCEPTION_CLASSES[mro] = base
    exc = cls(data.get("message", ""))
    for key, value in data.items():
        if key not in ("__exception__", "mro", "message"):
            setattr(exc, key, value)
    return exc


def rebuild(value: object) -> object:
    if isinstance(value, list):
        return [rebuild(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__datetime__" in value:
        return datetime.datetime.fromisoformat(value["__datetime__"])
    if "__float__" in value:
        return float(value["__float__"])
    if "__exception__" in value:
        return _exception(value)
    if "__object__" in value:
        return SimpleNamespace(**{k: rebuild(v) for k, v in value.items() if k != "__object__"})
    return {k: rebuild(v) for k, v in value.items()}


def versions() -> list[str]:
    return sorted(p.stem[len("litellm-") :] for p in FIXTURES.glob("litellm-*.jsonl"))


@functools.cache
def _lines(version: str) -> tuple[str, ...]:
    return tuple((FIXTURES / f"litellm-{version}.jsonl").read_text().splitlines())


def load(version: str) -> list[tuple[str, dict]]:
    """(hook, its arguments) for every captured call of one version, rebuilt (fresh objects every call)."""
    out = []
    for line in _lines(version):
        record = json.loads(line)
        out.append((record["hook"], rebuild(record["args"])))
    return out


def of(version: str, hook: str) -> list[dict]:
    return [args for h, args in load(version) if h == hook]


def template(hook: str, version: str | None = None, where=lambda args: True) -> dict:
    """A deep copy of one captured call's arguments (the newest version's by default), to vary in tests."""
    version = version or versions()[-1]
    found = [args for args in of(version, hook) if where(args)]
    if not found:
        raise LookupError(f"no captured {hook} in litellm {version} matches")
    return copy.deepcopy(found[0])
