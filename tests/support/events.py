"""Events through a real logger: the logger the unit tests drive by hand (its run directory given, no
exporter, a fixed model list), and realistic LiteLLM payloads (payloads/shaped.py)."""

from __future__ import annotations

import copy
import math
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch at import

from litellm_observe import settings as settings_mod  # noqa: E402
from litellm_observe.worker.logger import ObserveLogger  # noqa: E402
from tests.support.payloads.shaped import failure_request, success_kwargs, user  # noqa: E402,F401

MODELS = ["ok", "bad500"]


def make_logger(directory: str, *, caching=True, models=MODELS, section=None, router=None) -> ObserveLogger:
    """Hook calls are recorded at once (event_batch_seconds 0) unless `section` says otherwise: these tests read
    what a call recorded right after it (test_batching.py drives the batches)."""
    return ObserveLogger(
        settings_mod.load(environ={}, section={"event_batch_seconds": 0, **(section or {})}),
        run_directory=str(directory),
        model_names=lambda: list(models),
        caching_on=lambda: caching,
        start_exporter=False,
        router=lambda: router,
    )


def finite_nonneg(x: float) -> bool:
    return math.isfinite(x) and x >= 0


def deep(d):
    return copy.deepcopy(d)
