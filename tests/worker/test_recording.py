"""labels.Labeller and recording.Recording on their own: label values and what an observation records, with a
Recorder and no CustomLogger (the logger's hooks are tested end to end in test_logger.py)."""

from __future__ import annotations

from litellm_observe.catalogue import TOKEN_TYPES  # noqa: E402
from litellm_observe.rundir import samplefile  # noqa: E402
from litellm_observe.rundir.record import Recorder  # noqa: E402
from litellm_observe.rundir.writer import SampleWriter  # noqa: E402
from litellm_observe.worker import observations as obs  # noqa: E402
from litellm_observe.worker.budgets import BudgetResets  # noqa: E402
from litellm_observe.worker.calls import Call, CallBook  # noqa: E402
from litellm_observe.worker.labels import OVERFLOW, UNKNOWN, UNLISTED, LabelCaps, Labeller  # noqa: E402
from litellm_observe.worker.recording import Recording  # noqa: E402
from tests.support import events as ev


def _records(path) -> dict:
    out = {}
    for key, values in samplefile.read(path).records:
        metric, _, labels = samplefile.decode_key(key)
        out[(metric, labels)] = values
    return out


def _labeller(names=("ok", "gpt-*"), cap=10):
    asked = []

    def model_names():
        asked.append(1)
        return None if names is None else list(names)

    return Labeller(LabelCaps(lambda label: cap), model_names), asked


def test_model_groups_are_listed_matched_by_wildcard_unlisted_or_unknown():
    labels, asked = _labeller()
    assert labels.model("ok") == "ok"
    assert labels.model("gpt-4o") == "gpt-*"  # the wildcard entry it matches
    assert labels.model("other") == UNLISTED
    assert labels.model(None) == UNKNOWN and labels.model("") == UNKNOWN
    assert len(asked) == 1  # the model list is read again only after MODEL_REFRESH_SECONDS


def test_outside_a_proxy_every_name_is_a_model_group():
    labels, asked = _labeller(names=None)
    assert labels.model("anything") == "anything" and labels.model("else") == "else"
    assert len(asked) == 1


def test_labels_are_cleaned_and_capped():
    labels, _ = _labeller(cap=2)
    assert labels.label("provider", " openai ") == "openai"
    assert labels.team(None) == UNKNOWN
    assert [labels.team(t) for t in ("a", "b", "c", "a")] == ["a", "b", OVERFLOW, "a"]


def _recording(tmp_path, caching=False):
    store = SampleWriter(str(tmp_path))
    labels, _ = _labeller()
    return Recording(Recorder(store), labels, CallBook(), BudgetResets(None), lambda: caching), store


def test_a_success_records_its_request_attempt_tokens_spend_and_headers(tmp_path):
    recording, store = _recording(tmp_path)
    o = obs.success(ev.success_kwargs(call_id="c1", cached_tokens=3))
    recording.success(o, None, True, 0.0, 1000.0)
    got = _records(store.path)
    assert got[("requests", ("ok", "openai", UNKNOWN, "chat_completions", "200"))] == (1.0,)
    assert got[("tokens_used", ("openai", "ok", UNKNOWN, "input"))] == (11.0,)
    assert got[("tokens_used", ("openai", "ok", UNKNOWN, "output"))] == (7.0,)
    assert {labels[3] for metric, labels in got if metric == "tokens_used"} == set(TOKEN_TYPES)  # nothing else
    assert got[("token_details", ("openai", "ok", UNKNOWN, "cached_input"))] == (3.0,)  # a part of input, apart
    assert got[("requests_remaining", ("openai", "ok"))] == (990.0, 1000.0)
    assert [k for k in got if k[0] == "deployment_state"] and not [k for k in got if k[0] == "cache_misses"]


def test_a_success_that_is_not_the_requests_end_records_no_request(tmp_path):
    recording, store = _recording(tmp_path, caching=True)
    recording.success(obs.success(ev.success_kwargs(call_id="c1")), None, False, 0.0, 1000.0)
    got = _records(store.path)
    assert not [k for k in got if k[0] == "requests"]
    assert got[("cache_misses", ("ok",))] == (1.0,) and [k for k in got if k[0] == "provider_requests"]


def test_a_failed_request_and_its_retries(tmp_path):
    recording, store = _recording(tmp_path)
    call = Call("c", 10.0, "ok")
    call.groups = {"ok": ["openai", 3]}
    recording.request_failed("ok", "openai", "t", "embeddings", (), 503, "service_unavailable", 10.0, 12.5)
    recording.retries(call)
    got = _records(store.path)
    assert got[("requests", ("ok", "openai", "t", "embeddings", "503"))] == (1.0,)
    assert got[("errors", ("ok", "openai", "t", "embeddings", "service_unavailable", "503"))] == (1.0,)
    assert got[("retries", ("openai", "ok"))] == (2.0,)
    assert got[("request_duration_seconds", ("ok", "openai", "embeddings"))][-1] == 2.5
