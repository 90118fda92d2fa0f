"""exporter: auth before rendering, gzip and OpenMetrics negotiation, a real server on loopback."""
from __future__ import annotations

import base64
import gzip
import http.client
import os
import threading

import pytest

from litellm_observe import exporter as exp
from litellm_observe import settings as settings_mod
from litellm_observe.catalogue import CATALOGUE
from litellm_observe.store import WorkerStore

SLOTS = {m.name: m.value_slots() for m in CATALOGUE}


def make(tmp_path, **section):
    w = WorkerStore(str(tmp_path), SLOTS)
    w.inc("requests", ("ok", "openai", "t", "200"), 3)
    return exp.Exporter(str(tmp_path), settings_mod.load(environ={}, section=section)), w


def basic(user, pw):
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def test_no_auth_configured_serves(tmp_path):
    e, _ = make(tmp_path)
    status, headers, body = e.respond({})
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert b'litellm_requests_total{model="ok",provider="openai",status_code="200",team="t"} 3.0' in body
    assert e.render.renders == 1


@pytest.mark.parametrize("header", [None, "", "Bearer wrong", "Bearer sekrit ", "Bearer sekri", "sekrit",
                                    basic("u", "pw")])
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
    dead = WorkerStore(str(tmp_path), SLOTS)
    dead.inc("requests", ("ok", "openai", "t", "200"), 4)
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


def test_hold_lock_is_exclusive(tmp_path):
    fd = exp.hold_lock(str(tmp_path))
    assert fd is not None
    try:
        assert exp.hold_lock(str(tmp_path)) is None
    finally:
        os.close(fd)
    fd = exp.hold_lock(str(tmp_path))
    assert fd is not None
    os.close(fd)


def _get(port, path="/metrics", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def test_real_server_on_loopback(tmp_path):
    e, _ = make(tmp_path, bearer_token="sekrit")
    server = exp.make_server(e, "127.0.0.1", 0)
    port = server.server_address[1]
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        status, headers, body = _get(port)
        assert status == 401 and e.render.renders == 0
        status, headers, body = _get(port, headers={"Authorization": "Bearer sekrit", "Accept-Encoding": "gzip"})
        assert status == 200 and headers["Content-Encoding"] == "gzip"
        assert int(headers["Content-Length"]) == len(body)
        assert b"litellm_requests_total" in gzip.decompress(body)
        assert _get(port, "/favicon.ico", {"Authorization": "Bearer sekrit"})[0] == 404
        assert e.render.renders == 1
    finally:
        server.shutdown()
        server.server_close()
        t.join(30)
    assert not t.is_alive()


def test_render_failure_is_a_500(tmp_path, monkeypatch):
    e, _ = make(tmp_path)

    def boom(accept):
        raise RuntimeError("boom")

    monkeypatch.setattr(e, "render", boom)
    server = exp.make_server(e, "127.0.0.1", 0)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        assert _get(server.server_address[1])[0] == 500
    finally:
        server.shutdown()
        server.server_close()
        t.join(30)


def _this_process_as_root():
    from litellm_observe.rundir import Root, start_time

    return Root(os.getpid(), start_time(os.getpid()))


def test_run_returns_busy_when_another_exporter_holds_the_lock(tmp_path):
    fd = exp.hold_lock(str(tmp_path))
    try:  # a run's exporter (with a root) is unique per run
        assert exp.run(str(tmp_path), settings_mod.Settings(), _this_process_as_root(), "127.0.0.1", 0) \
            == exp.EXIT_BUSY
    finally:
        os.close(fd)


def test_run_reports_bind_failure(tmp_path):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    try:
        port = s.getsockname()[1]
        assert exp.run(str(tmp_path), settings_mod.Settings(), None, "127.0.0.1", port) == exp.EXIT_BIND
    finally:
        s.close()
