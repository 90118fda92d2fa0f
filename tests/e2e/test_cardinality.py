"""Issue 5 §1: a cardinality attack through a real proxy grows no series past the caps; with every caller
dimension of issue 23 on, random end users, tags and metadata values are capped too, and each single-valued
dimension still sums to the fleet's totals."""

import uuid
from pathlib import Path

import pytest

from litellm_observe.worker.labels import OVERFLOW, SENTINELS
from tests.support import load
from tests.support.metrics import samples, total
from tests.support.proxy import Proxy, default_config, free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
TEAM_CAP = 50
END_USER_CAP, TAG_CAP = 30, 40  # key_alias, user, metadata.project: the default share of settings.CALLER_VALUES
ATTRIBUTION = ["key_alias", "user", "end_user", "tags", "metadata.project"]
PHASE_SECONDS = 300  # bound per phase; the test fails if a phase cannot send everything in time
# The exporter is ours alone: a per-series leak of 2,500 new values would exceed this. The workers'
# RSS is mostly LiteLLM's (its key and user caches grow with every new team and user), so it is
# printed, never asserted; that our part of a worker stays bounded is what `series2 == series1` and
# the label-table unit tests show.
EXPORTER_GROWTH_KIB = 8 * 1024


def _attack_jobs(proxy: Proxy, phase: int) -> list[dict]:
    teams = range(phase * 200, phase * 200 + 200)  # 200 new teams each phase
    jobs = []
    for _ in range(1000):  # random model names, random users, master key
        jobs.append(dict(model=f"rand-{uuid.uuid4().hex}", extra={"user": uuid.uuid4().hex}))
    for i in range(1250):  # real model, one of 200 teams, random users, random tags and metadata
        meta = {"tags": [uuid.uuid4().hex[:12], "batch"], "project": uuid.uuid4().hex}
        extra = {"user": uuid.uuid4().hex, "metadata": meta}
        jobs.append(dict(model="ok", key=f"sk-team-{teams[i % 200]}", content=f"p{phase} {i}", extra=extra))
    # normal traffic, from a key with an alias (its user's id is an e-mail address)
    jobs += [dict(model="ok", key="sk-alias-nightly", content=f"normal p{phase} {i}") for i in range(250)]
    return jobs


def _scrape_when(proxy: Proxy, requests: int) -> str | None:
    text = proxy.scrape()
    settled = total(text, "requests") == requests == total(text, "caller_requests", dimension="key_alias")
    return text if settled else None


def _callers(text: str, dimension: str) -> set[str]:
    return {
        dict(labels)["caller"]
        for (name, labels) in samples(text)
        if name == "litellm_caller_requests_total" and dict(labels)["dimension"] == dimension
    }


def _label_values(text: str, label: str) -> set[str]:
    return {dict(labels)[label] for (_, labels) in samples(text) if label in dict(labels)}


def test_cardinality_attack_is_capped_and_memory_stays_flat(upstream, tmp_path):
    config = default_config(upstream.base_url, free_port())
    config["general_settings"]["custom_auth"] = "custom_auth.user_api_key_auth"
    config["litellm_observe"]["label_caps"] = {"team": TEAM_CAP, "end_user": END_USER_CAP, "tags": TAG_CAP}
    config["litellm_observe"]["attribution"] = ATTRIBUTION
    auth = (Path(__file__).parent.parent / "support" / "custom_auth.py").read_text()
    with Proxy(tmp_path, upstream.base_url, workers=4, config=config, files={"custom_auth.py": auth}) as proxy:
        assert proxy.chat("ok", key="sk-team-x", content="warm up") == 200
        baseline = len(samples(proxy.scrape()))
        seen1, unanswered = load.send(proxy, _attack_jobs(proxy, 0), threads=8, seconds=PHASE_SECONDS)
        assert not unanswered and set(seen1) <= {200, 400}, (seen1, unanswered[:5])
        sent = sum(seen1.values()) + 1
        text1 = wait_until(lambda: _scrape_when(proxy, sent), timeout=90, what=f"requests_total == {sent}")
        series1 = set(samples(text1))
        pids = proxy.worker_pids()
        rss1 = {pid: proxy.rss_kib(pid) for pid in pids}
        exporter1 = proxy.rss_kib(proxy.exporter_pid())

        seen2, unanswered = load.send(proxy, _attack_jobs(proxy, 1), threads=8, seconds=PHASE_SECONDS)
        assert not unanswered and set(seen2) <= {200, 400}, (seen2, unanswered[:5])
        sent += sum(seen2.values())
        text2 = wait_until(lambda: _scrape_when(proxy, sent), timeout=90, what=f"requests_total == {sent}")
        series2 = set(samples(text2))

        # Caps hold: at most TEAM_CAP real team values (plus the sentinels), one model per config entry.
        teams = _label_values(text2, "team")
        assert len(teams - SENTINELS) <= TEAM_CAP and OVERFLOW in teams
        assert _label_values(text2, "model") <= {"ok", "unlisted", "unknown"}
        assert total(text2, "observe_label_overflow", label="team") > 0
        # Once the caps are reached, 2,500 more hostile requests add no series at all.
        assert series2 == series1, sorted(series2 ^ series1)[:10]
        print(f"series: {baseline} before, {len(series1)} after 2,500 hostile requests, {len(series2)} after 5,000")
        # Normal traffic stays exact beside the attack.
        assert total(text2, "requests", team="unknown", model="ok", status_code="200") == 500
        assert total(text2, "caller_requests", dimension="key_alias", caller="nightly", status_code="200") == 500
        # Callers: each dimension capped, its overflow counted; never an e-mail address
        for dimension, cap in (("end_user", END_USER_CAP), ("tags", TAG_CAP)):
            values = _callers(text2, dimension)
            assert len(values - SENTINELS) <= cap and OVERFLOW in values, (dimension, len(values))
            assert total(text2, "observe_label_overflow", label=f"caller.{dimension}") > 0
        assert _callers(text2, "user") == {"redacted", "unknown"}  # nightly's user is an e-mail address
        assert "batch" in _callers(text2, "tags")  # admitted before the random ones filled the cap
        # ... and each single-valued dimension sums to the fleet's requests, spend and billed tokens
        for dimension in ("key_alias", "user", "end_user", "metadata.project"):
            for status in ("200", "400"):
                fleet = total(text2, "requests", status_code=status)
                assert total(text2, "caller_requests", dimension=dimension, status_code=status) == fleet, dimension
            spend = total(text2, "caller_spend_usd", dimension=dimension)
            assert spend == pytest.approx(total(text2, "spend_usd"), rel=1e-9) and spend > 0
            assert total(text2, "caller_tokens", dimension=dimension) == total(text2, "tokens_used")
        # Memory: live processes only (a recycled pid is not comparable).
        growth = sum(proxy.rss_kib(pid) - rss for pid, rss in rss1.items() if pid in proxy.worker_pids())
        exporter_growth = proxy.rss_kib(proxy.exporter_pid()) - exporter1
        print(f"RSS growth over the second 2,500 requests: workers {growth} KiB, exporter {exporter_growth} KiB")
        assert exporter_growth < EXPORTER_GROWTH_KIB
