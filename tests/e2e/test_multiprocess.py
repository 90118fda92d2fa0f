"""End to end: worker models, several proxies on one host, exporter takeover, killed workers."""

import os
import signal
import time

import pytest

from litellm_observe.rundir import layout
from tests.support import load
from tests.support.metrics import by_label, total
from tests.support.proxy import Proxy, default_config, free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def _settle(proxy: Proxy, expected: int, timeout: float = 60) -> str:
    wait_until(
        lambda: total(proxy.scrape(), "requests") == expected, timeout=timeout, what=f"requests_total == {expected}"
    )
    return proxy.scrape()


def _simple_load(proxy: Proxy, n: int, tag: str) -> dict:
    seen = load.run(
        proxy,
        [dict(model="ok", content=f"{tag} {i}") for i in range(n)]
        + [dict(model="bad500", content=f"{tag} e{i}") for i in range(n // 4)],
        threads=4,
    )
    return {code: float(c) for code, c in seen.items()}


def test_gunicorn_forked_workers(upstream, tmp_path):
    with Proxy(tmp_path, upstream.base_url, workers=3, args=("--run_gunicorn",)) as proxy:
        seen = _simple_load(proxy, 24, "gunicorn")
        text = _settle(proxy, int(sum(seen.values())))
        assert {int(k): v for k, v in by_label(text, "requests", "status_code").items()} == seen
        files = os.listdir(_run_dirs(proxy.tmpdir)[0])
        assert sum(f.startswith("w-") for f in files) >= 3  # one store per forked worker (+ the exporter's)


def _run_dirs(tmpdir) -> list[str]:
    base = os.path.join(tmpdir, layout.base_name())
    return [os.path.join(base, d) for d in sorted(os.listdir(base))] if os.path.isdir(base) else []


def test_two_proxies_on_one_host_never_share_and_a_new_run_starts_empty(upstream, tmp_path):
    shared_tmp = tmp_path / "tmp"
    a = Proxy(tmp_path / "a", upstream.base_url, workers=2, tmpdir=shared_tmp)
    b = Proxy(tmp_path / "b", upstream.base_url, workers=2, tmpdir=shared_tmp)
    with a, b:
        seen_a = _simple_load(a, 12, "a")
        seen_b = _simple_load(b, 20, "b")
        assert total(_settle(a, int(sum(seen_a.values()))), "requests") == sum(seen_a.values())
        assert total(_settle(b, int(sum(seen_b.values()))), "requests") == sum(seen_b.values())
        assert len(_run_dirs(shared_tmp)) == 2
        a_dirs = set(_run_dirs(shared_tmp))
    # A and B are stopped: their exporters saw the root go and removed the run directories.
    wait_until(lambda: not (set(_run_dirs(shared_tmp)) & a_dirs), timeout=20, what="old run dirs removed")
    with Proxy(tmp_path / "c", upstream.base_url, workers=2, tmpdir=shared_tmp) as c:
        assert total(c.scrape(), "requests") == 0
        seen_c = _simple_load(c, 8, "c")
        assert total(_settle(c, int(sum(seen_c.values()))), "requests") == sum(seen_c.values())


def test_explicit_multiproc_dir_beside_litellms_own_prometheus_callback(upstream, tmp_path):
    multiproc = tmp_path / "multiproc"
    multiproc.mkdir()
    config = default_config(upstream.base_url, free_port())
    config["litellm_settings"]["callbacks"] = ["prometheus", "litellm_observe.proxy_handler"]
    config["litellm_settings"]["require_auth_for_metrics_endpoint"] = False
    with Proxy(
        tmp_path, upstream.base_url, workers=2, config=config, env={"PROMETHEUS_MULTIPROC_DIR": str(multiproc)}
    ) as proxy:
        seen = _simple_load(proxy, 12, "beside")
        text = _settle(proxy, int(sum(seen.values())))
        assert total(text, "errors") == seen.get(500, 0)
        ours = os.path.join(multiproc, layout.base_name())
        assert os.path.isdir(ours) and os.listdir(ours), "the explicit directory is where our samples go"
        builtin = proxy.client.get(f"{proxy.url}/metrics/", follow_redirects=True)
        assert builtin.status_code == 200, builtin.text[:500]
        assert "litellm_" in builtin.text  # LiteLLM's own metrics still render beside ours
        assert "Duplicated timeseries" not in proxy.log_tail(400)  # no registration clash


def test_exporter_taken_over_and_killed_worker_counters_kept(upstream, tmp_path):
    with Proxy(tmp_path, upstream.base_url, workers=2) as proxy:
        seen = _simple_load(proxy, 16, "before")
        expected = int(sum(seen.values()))
        _settle(proxy, expected)
        run = _run_dirs(proxy.tmpdir)[0]
        exporter_pid = int(open(os.path.join(run, "exporter.pid")).read())
        os.kill(exporter_pid, signal.SIGKILL)
        wait_until(lambda: _pid_changed(run, exporter_pid), timeout=30, what="a new exporter")
        assert total(_settle(proxy, expected), "requests") == expected
        # SIGKILL one worker: what it counted stays counted.
        victim = proxy.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        time.sleep(1.0)
        assert total(proxy.scrape(), "requests") == expected
        seen2 = _simple_load(proxy, 8, "after")  # the surviving/restarted workers keep serving
        expected += int(sum(seen2.values()))
        assert total(_settle(proxy, expected), "requests") == expected


def _pid_changed(run: str, old: int) -> bool:
    try:
        return int(open(os.path.join(run, "exporter.pid")).read()) != old
    except (OSError, ValueError):
        return False


def test_unwritable_metrics_dir_is_one_clear_error_and_the_proxy_serves(upstream, tmp_path):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where a directory should be")
    config = default_config(upstream.base_url, free_port())
    config["litellm_observe"]["metrics_dir"] = str(blocked / "sub")
    with Proxy(tmp_path, upstream.base_url, workers=1, config=config, expect_exporter=False) as proxy:
        assert proxy.chat("ok", content="still served") == 200
        assert proxy.chat("bad500", content="still failing normally") == 500
        log = proxy.log_tail(300)
        assert log.count("metrics are OFF") == 1, log
        assert str(blocked / "sub") in log


def test_bad_setting_is_a_clear_error_at_start(upstream, tmp_path):
    config = default_config(upstream.base_url, free_port())
    config["litellm_observe"]["label_cap"] = "lots"
    proxy = Proxy(tmp_path, upstream.base_url, workers=1, config=config, expect_exporter=False)
    proxy.start_timeout = 60
    try:
        with pytest.raises((RuntimeError, TimeoutError)):
            proxy.start()
    finally:
        proxy.stop()
    assert "litellm_observe.label_cap: must be an integer, got 'lots'" in proxy.log_tail(400)
