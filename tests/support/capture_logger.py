"""A CustomLogger that records, for every hook the logger uses, the type of each field the payload
contract names (contract.py), one JSON line per hook call in $CAPTURE_FILE; and, with
$CAPTURE_PAYLOADS set, the payloads themselves, made JSON-safe and scrubbed of secrets
(payloads.py), for the captured-payload library. Registered beside litellm_observe in a test
proxy's config; passes every stream through untouched."""

from __future__ import annotations

import json
import os

from litellm.integrations.custom_logger import CustomLogger

from tests.support.contract import project
from tests.support.payloads.captured import json_safe


def _append(path: str, record: dict) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(record) + "\n").encode())
    finally:
        os.close(fd)


def _record(hook: str, **args) -> None:
    _append(os.environ["CAPTURE_FILE"], {"hook": hook, "pid": os.getpid(), "fields": project(hook, args)})
    if os.environ.get("CAPTURE_PAYLOADS"):
        _append(os.environ["CAPTURE_PAYLOADS"], {"hook": hook, "args": json_safe(args)})


class CaptureLogger(CustomLogger):
    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):
        _record("async_pre_call_hook", data=data)
        return None

    def log_pre_api_call(self, model, messages, kwargs):
        _record("log_pre_api_call", kwargs=kwargs)

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        _record("async_log_success_event", kwargs=kwargs)

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):
        _record("async_log_failure_event", kwargs=kwargs)

    async def async_post_call_failure_hook(
        self, request_data, original_exception, user_api_key_dict, traceback_str=None
    ):
        _record(
            "async_post_call_failure_hook",
            request_data=request_data,
            original_exception=original_exception,
            user_api_key_dict=user_api_key_dict,
        )
        return None

    async def async_post_call_failure_deployment_hook(self, request_data, exception, call_type, fallback_depth=None):
        _record("async_post_call_failure_deployment_hook", request_data=request_data, exception=exception)
        return None

    async def async_post_call_streaming_iterator_hook(self, user_api_key_dict, response, request_data):
        _record("async_post_call_streaming_iterator_hook", request_data=request_data)
        async for item in response:
            yield item

    async def log_success_fallback_event(self, original_model_group, kwargs, original_exception):
        _record("log_success_fallback_event", original_model_group=original_model_group, kwargs=kwargs)


instance = CaptureLogger()
