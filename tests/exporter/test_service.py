"""exporter: auth before rendering, gzip and OpenMetrics negotiation, a real server on loopback."""

from __future__ import annotations

import base64
import gzip
import math
import multiprocessing
import os
import threading
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from litellm_observe import settings as settings_mod
from litellm_observe.exporter import service as exp
from litellm_observe.rundir import files, handshakes, layout, runs
from litellm_observe.rundir.writer import SampleWriter
from tests.support.runholder import hold_run

REQ_LINE = (
    b'litellm_requests_total{endpoint="chat_completions",model="ok",provider="openai",status_code="200",team="t"}'
)


def make(tmp_path, **section):
    w = SampleWriter(str(tmp_path))
    w.inc("requests", ("ok", "openai", "t", "chat_completions", "200"), 3)
    return exp.Exporter(str(tmp_path), settings_mod.load(environ={}, section=section)), w


def basic(user, pw):
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def test_no_auth_configured_serves(tmp_path):
    e, _ = make(tmp_path)
    status, headers, body = e.respond({})
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert REQ_LINE + b" 3.0" in body
    assert e.render.renders == 1


@pytest.mark.parametrize(
    "header", [None, "", "Bearer wrong", "Bearer sekrit ", "Bearer sekri", "sekrit", basic("u", "pw")]
)
def test_bearer_rejects_without_rendering(tmp_path, header):
    e, _ = make(tmp_path, bearer_token="sekrit")
    status, headers, body = e.respond({} if header is None else {"Authorization": header})
    assert status == 401 and "WWW-Authenticate" in headers
    assert b"litellm_" not in body
    assert e.render.renders == 0


@pytest.mark.parametrize("header", [None, basic("u", "wrong"), basic("x", "pw"), "Bearer pw", "Basic !!!"])
def test_basic_rejects_without_rendering(tmp_path, header):
    e, _ = make(tmp_path, basic_auth_username="u", basic_auth_password="pw")
    status, _, _ = e.respond({} if header is None else {"Authorization": header})
    assert status == 401
    assert e.render.renders == 0


def test_bearer_and_basic_ok(tmp_path):
    e, _ = make(tmp_path, bearer_token="sekrit", basic_auth_username="u", basic_auth_password="p:w")
    assert e.respond({"Authorization": "Bearer sekrit"})[0] == 200
    assert e.respond({"Authorization": basic("u", "p:w")})[0] == 200
    assert e.render.renders == 2


def test_gzip_when_asked(tmp_path):
    e, _ = make(tmp_path)
    status, headers, body = e.respond({"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert b"litellm_requests_total" in gzip.decompress(body)
    status, headers, body = e.respond({})
    assert "Content-Encoding" not in headers and b"litellm_requests_total" in body


def test_openmetrics_when_accept_asks(tmp_path):
    e, _ = make(tmp_path)
    _, headers, body = e.respond({"Accept": "application/openmetrics-text; version=1.0.0; charset=utf-8"})
    assert headers["Content-Type"].startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")
    _, headers, body = e.respond({"Accept": "text/plain"})
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")


def test_scrape_compacts_dead_workers(tmp_path):
    e, live = make(tmp_path)
    dead = SampleWriter(str(tmp_path))
    dead.inc("requests", ("ok", "openai", "t", "chat_completions", "200"), 4)
    dead.close()
    _, _, body = e.respond({})
    assert b'team="t"} 7.0' in body
    assert not os.path.exists(dead.path)
    _, _, body = e.respond({})
    assert b'team="t"} 7.0' in body


def test_corrupt_file_counts_an_exporter_internal_error(tmp_path):
    e, _ = make(tmp_path)
    with open(os.path.join(tmp_path, "w-1-bad.lob"), "wb") as f:
        f.write(b"")
    e.respond({})  # quarantines and counts
    _, _, body = e.respond({})
    assert b'litellm_observe_internal_errors_total{hook="exporter_read"} 1.0' in body


def _this_process_as_root():
    return runs.current_root()


def test_run_returns_busy_when_another_exporter_holds_the_lock(tmp_path):
    run = runs.Membership(str(tmp_path), _this_process_as_root().name)
    fd = files.hold(run.directory.exporter_lock)
    try:  # a run's exporter (with a root) is unique per run
        assert (
            exp.run(run.path, settings_mod.Settings(), _this_process_as_root(), "127.0.0.1", 0) == handshakes.EXIT_BUSY
        )
    finally:
        os.close(fd)
        run.close()


def test_run_reports_bind_failure_once_then_quietly(tmp_path, caplog):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    try:
        port = s.getsockname()[1]
        errors = lambda: [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]  # noqa: E731
        for _ in range(5):  # the supervisor retries: one clear error, then nothing
            assert exp.run(str(tmp_path), settings_mod.Settings(), None, "127.0.0.1", port) == handshakes.EXIT_BIND
        assert len(errors()) == 1 and f"cannot listen on 127.0.0.1:{port}" in errors()[0]
        assert "retried quietly" in errors()[0] and "litellm_observe.port" in errors()[0]
        # after the quiet period, one reminder with the count
        d = layout.Directory(str(tmp_path))
        attempts, logged = open(d.bind_failures).read().split()
        with open(d.bind_failures, "w") as f:
            f.write(f"{attempts} {float(logged) - exp.BIND_LOG_SECONDS}")
        assert exp.run(str(tmp_path), settings_mod.Settings(), None, "127.0.0.1", port) == handshakes.EXIT_BIND
        assert len(errors()) == 2 and "still cannot listen" in errors()[1] and "after 6 attempts" in errors()[1]
        assert handshakes.bound(d) == 6 and handshakes.bound(d) == 0  # listening: forgotten
    finally:
        s.close()


# ---- the sidecar over a base directory ----------------------------------------------------------------------
def test_sidecar_folds_an_ended_run_so_totals_never_drop(tmp_path):
    base = tmp_path / "base"
    roots = [hold_run(str(base), f"run-{i}-1-abc") for i in range(2)]  # the proxies' processes hold their runs
    try:
        run_dirs = [layout.Directory(str(base / f"run-{i}-1-abc")) for i in range(2)]
        for run, n in zip(run_dirs, (0.1, 1e16)):
            w = SampleWriter(run)
            w.inc("spend_usd", ("openai", "ok", "t"), n)
            w.inc("requests", ("ok", "openai", "t", "chat_completions", "200"), 3)
            w.close()  # the workers are gone, the roots (proxies) still run
        e = exp.Exporter(str(base), settings_mod.Settings(), sidecar=True)
        first = e.respond({})[2]
        assert REQ_LINE + b" 6.0" in first
        spend = [
            smp.value
            for fam in text_string_to_metric_families(first.decode())
            for smp in fam.samples
            if smp.name == "litellm_spend_usd_total"
        ]
        assert spend == [math.fsum([0.1, 1e16])]
        roots[0].kill()
        roots[0].wait()
        again = e.respond({})[2]
        assert again == first  # the run that ended is folded into the base's archive, exactly
        assert not os.path.exists(run_dirs[0].path) and os.path.exists(run_dirs[1].path)
        assert layout.ARCHIVE in os.listdir(base)
    finally:
        for p in roots:
            p.kill()
            p.wait()


def test_a_run_exporter_leaves_an_ended_run_to_a_watching_sidecar(tmp_path):
    base = tmp_path / "base"
    run = layout.prepare(str(base / "run-1-1"))
    assert not handshakes.left_to_sidecar(run)
    fd = handshakes.watch_as_sidecar(str(base))
    try:
        assert handshakes.left_to_sidecar(run)
        assert runs.remove_dead_runs(str(base)) == []  # the next proxy run leaves it too
        assert os.path.isdir(run.path)
    finally:
        os.close(fd)
    assert runs.remove_dead_runs(str(base)) == ["run-1-1"]


def test_a_non_ascii_token_matches_the_utf8_bytes_a_client_sends(tmp_path):
    """http.server decodes header bytes as ISO-8859-1; the token is compared as the UTF-8 bytes sent."""
    import socket

    from litellm_observe.exporter.http import MetricsServer

    e, _ = make(tmp_path, bearer_token="tök€n")
    server = MetricsServer(e.respond, "127.0.0.1", 0)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()

    def status(token: bytes) -> int:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + b"\r\n\r\n")
            return int(s.recv(64).split()[1])

    try:
        assert status("tök€n".encode()) == 200
        assert status("tök€n".encode("latin-1", "replace")) == 401
        assert status(b"tok") == 401
    finally:
        server.shutdown()
        t.join(10)


def _write_rounds(directory: str, teams: int, rounds: int) -> None:
    w = SampleWriter(directory)
    for _ in range(rounds):
        for team in range(teams):
            w.inc("requests", ("m", "openai", f"t{team}", "chat_completions", "200"), 1.0)
            if team % 10 == 0:
                time.sleep(0.001)  # series appear over many scrapes, not between two
    w.close()  # a dead writer: the next scrape folds it


def test_scrapes_in_two_formats_at_once_while_a_worker_adds_series_count_every_request_once(tmp_path):
    """Text and OpenMetrics scrapes render side by side (exposition.SharedRender) over one set of file readers:
    while a worker process adds series and counts at full speed, no scrape shows a series above what was written,
    none shows one lower than an earlier scrape of it, and the last shows every count exactly."""
    e, _ = make(tmp_path)
    teams, rounds = 2000, 3
    seen: dict[str, list[dict[str, float]]] = {"text": [], "openmetrics": []}
    accept = {"text": "text/plain", "openmetrics": "application/openmetrics-text; version=1.0.0"}

    def counts(body: bytes) -> dict[str, float]:
        out = {}
        for line in body.decode().splitlines():
            if line.startswith("litellm_requests_total{") and 'model="m"' in line:
                labels, _, value = line.rpartition(" ")
                out[labels.split('team="')[1].split('"')[0]] = float(value)
        return out

    worker = multiprocessing.get_context("fork").Process(target=_write_rounds, args=(str(tmp_path), teams, rounds))

    errors: list[BaseException] = []

    def scrape(fmt: str) -> None:
        try:
            for _ in range(2000):  # bounded: the worker takes well under that many scrapes
                seen[fmt].append(counts(e.respond({"Accept": accept[fmt]})[2]))
                if not worker.is_alive():
                    return
        except BaseException as err:
            errors.append(err)

    worker.start()
    threads = [threading.Thread(target=scrape, args=(fmt,)) for fmt in seen]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    worker.join(60)
    assert worker.exitcode == 0 and not errors, errors
    final = counts(e.respond({})[2])
    assert final == {f"t{team}": float(rounds) for team in range(teams)}
    for fmt, scrapes in seen.items():
        assert scrapes, fmt
        for earlier, later in zip(scrapes, scrapes[1:]):
            assert all(v <= rounds for v in later.values()), fmt
            assert all(later.get(team, 0.0) >= v for team, v in earlier.items()), fmt
