"""exposition: deterministic families, cumulative histograms, single-flight rendering, gzip."""

from __future__ import annotations

import gzip
import subprocess
import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from litellm_observe import __version__
from litellm_observe.catalogue import BY_NAME, CATALOGUE
from litellm_observe.exporter.exposition import SharedRender, families, wants_gzip

H = BY_NAME["request_duration_seconds"]
REQ = ("requests", ("ok", "openai", "t", "chat_completions", "200"))
REQ_LINE = 'litellm_requests_total{endpoint="chat_completions",model="ok",provider="openai",status_code="200",team="t"}'


def render(series, ns="litellm") -> str:
    return SharedRender(lambda: series, ns)(None)[0].decode()


def sample_map(text):
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def test_one_family_per_catalogue_metric_in_order():
    fams = families({}, "litellm")
    assert [f.name for f in fams] == [m.family("litellm") for m in CATALOGUE]


def test_deterministic_regardless_of_insertion_order():
    items = [(("requests", (m, "openai", "t", "chat_completions", "200")), [float(i)]) for i, m in enumerate("zyxabc")]
    a = render(dict(items))
    b = render(dict(reversed(items)))
    assert a == b
    lines = [line for line in a.splitlines() if line.startswith("litellm_requests_total")]
    assert lines == sorted(lines)


def test_histogram_is_cumulative():
    counts = [0.0] * (len(H.buckets) + 1)
    counts[0], counts[3], counts[-1] = 2, 1, 4  # 4 above the last edge
    series = {("request_duration_seconds", ("ok", "openai", "chat_completions")): counts + [12.5]}
    s = sample_map(render(series))
    lab = (("endpoint", "chat_completions"), ("model", "ok"), ("provider", "openai"))
    edges = [str(b) for b in H.buckets]
    got = [s[("litellm_request_duration_seconds_bucket", tuple(sorted(lab + (("le", e),))))] for e in edges]
    running, expected = 0.0, []
    for c in counts[:-1]:
        running += c
        expected.append(running)
    assert got == expected
    assert s[("litellm_request_duration_seconds_bucket", tuple(sorted(lab + (("le", "+Inf"),))))] == 7
    assert s[("litellm_request_duration_seconds_count", lab)] == 7
    assert s[("litellm_request_duration_seconds_sum", lab)] == 12.5


def test_wrong_shapes_are_skipped():
    series = {
        ("requests", ("only-one-label",)): [1.0],
        ("request_duration_seconds", ("ok", "openai", "chat_completions")): [1.0, 2.0],
    }  # too few slots
    text = render(series)
    assert "only-one-label" not in text
    assert "request_duration_seconds_bucket" not in text


def test_namespace_build_info_and_zero_load():
    text = render({}, "acme")
    s = sample_map(text)
    assert s[("acme_workers_live", ())] == 0.0  # an unlabelled gauge is 0, not absent, before any write
    assert not [k for k in s if k[0] == "acme_current_load"]  # in flight has an endpoint: no series yet
    info = [k for k in s if k[0] == "acme_observe_build_info"]
    assert len(info) == 1 and dict(info[0][1])["version"] == __version__
    assert not [line for line in text.splitlines() if line.startswith(("litellm_", "# TYPE litellm_"))]


def test_openmetrics_negotiation():
    r = SharedRender(lambda: {REQ: [1.0]}, "litellm")
    body, ctype, _ = r("application/openmetrics-text; version=1.0.0")
    assert ctype.startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")
    body, ctype, _ = r("text/plain")
    assert ctype.startswith("text/plain") and b"# EOF" not in body
    assert r.renders == 2


def test_wants_gzip():
    assert wants_gzip("deflate, gzip;q=1.0")
    assert not wants_gzip(None) and not wants_gzip("br, deflate")
    assert not wants_gzip("gzip;q=0") and not wants_gzip("gzip; q=0.000")


def test_gzip_is_made_once_per_shared_rendering():
    r = SharedRender(lambda: {REQ: [1.0]}, "litellm")
    rendering, _ = r.rendering(None)
    body, _, headers = r(None, "gzip")
    assert headers == {"Content-Encoding": "gzip"} and gzip.decompress(body).startswith(b"# HELP")
    assert rendering.gzipped() is rendering.gzipped()  # compressed once, shared by every scrape of it
    plain, _, headers = r(None, "identity")
    assert headers == {} and plain.startswith(b"# HELP")


def test_an_infinite_sum_renders_as_plus_inf_and_passes_promtool():
    text = render(
        {
            ("spend_usd", ("openai", "ok", "t")): [float("inf")],
            REQ: [2.0],
        }
    )
    assert 'litellm_spend_usd_total{model="ok",provider="openai",team="t"} +Inf' in text
    assert REQ_LINE + " 2.0" in text
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_shared_render_single_flight(monkeypatch):
    """N scrapes arrive while one rendering runs: they wait for it and share its bytes."""
    from concurrent.futures import Future

    from litellm_observe.exporter import exposition

    n = 8
    waiting = threading.Semaphore(0)

    class CountingFuture(Future):
        def result(self, timeout=None):
            waiting.release()  # a follower is about to wait on the leader's rendering
            return super().result(timeout)

    monkeypatch.setattr(exposition, "Future", CountingFuture)
    started, release = threading.Event(), threading.Event()
    produced = []

    def slow_series():
        produced.append(1)
        started.set()
        assert release.wait(60), "never released"
        return {REQ: [float(len(produced))]}

    render_ = SharedRender(slow_series, "litellm")
    results = [None] * n

    def scrape(i):
        results[i] = render_("text/plain")

    threads = [threading.Thread(target=scrape, args=(i,)) for i in range(n)]
    threads[0].start()
    assert started.wait(60)  # the leader is inside its rendering
    for t in threads[1:]:
        t.start()
    for _ in range(n - 1):
        assert waiting.acquire(timeout=60)  # every follower found the leader's rendering
    release.set()
    for t in threads:
        t.join(60)
        assert not t.is_alive()
    assert render_.renders == 1 and len(produced) == 1
    assert all(r == results[0] for r in results) and results[0][0]


def test_shared_render_error_reaches_waiters_and_then_recovers():
    calls = []

    def failing():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return {}

    r = SharedRender(failing, "litellm")
    with pytest.raises(RuntimeError):
        r(None)
    assert r(None)[0]
