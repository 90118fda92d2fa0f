"""http: a /metrics server no client can tie up: idle and slow connections cost no thread, gone clients
cost no rendering and no traceback, descriptors running out closes idle connections, IPv4 and IPv6."""

from __future__ import annotations

import gzip
import http.client
import resource
import socket
import threading
import time

import pytest

from litellm_observe.exporter.http import MetricsServer


class Counting:
    """A respond() that counts its calls and can be held until released."""

    def __init__(self, body: bytes = b"metric 1\n", hold: threading.Event | None = None):
        self.calls = 0
        self.body = body
        self.hold = hold

    def __call__(self, headers):
        self.calls += 1
        if self.hold is not None:
            self.hold.wait(30)
        if headers.get("Accept-Encoding") == "gzip":
            return 200, {"Content-Type": "text/plain", "Content-Encoding": "gzip"}, gzip.compress(self.body)
        return 200, {"Content-Type": "text/plain"}, self.body


@pytest.fixture
def serve():
    servers = []

    def start(respond, address="127.0.0.1", **kw) -> MetricsServer:
        server = MetricsServer(respond, address, 0, **kw)
        t = threading.Thread(target=server.serve_forever, daemon=True)
        t.start()
        servers.append((server, t))
        return server

    yield start
    for server, t in servers:
        server.shutdown()
        t.join(10)
        assert not t.is_alive()


def get(port, path="/metrics", headers=None, host="127.0.0.1"):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def test_answers_and_404s(serve):
    respond = Counting()
    server = serve(respond)
    status, headers, body = get(server.port, headers={"Accept-Encoding": "gzip"})
    assert status == 200 and gzip.decompress(body) == b"metric 1\n"
    assert int(headers["Content-Length"]) == len(body)
    assert get(server.port, "/favicon.ico")[0] == 404
    assert respond.calls == 1


def test_a_failing_render_is_a_500(serve, caplog):
    def boom(headers):
        raise RuntimeError("boom")

    server = serve(boom)
    assert get(server.port)[0] == 500


def test_a_thousand_idle_connections_do_not_stop_scrapes(serve):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2300:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    respond = Counting()
    server = serve(respond, handlers=4)
    idle = []
    try:
        for _ in range(1000):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            idle.append(s)
        half = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(20)]
        for s in half:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # a request head that never ends
        idle += half
        threads_before = threading.active_count()
        for _ in range(20):
            assert get(server.port)[0] == 200
        assert respond.calls == 20
        assert threading.active_count() <= threads_before + 4  # handler threads are a fixed pool
    finally:
        for s in idle:
            s.close()


def test_idle_connections_are_closed_after_the_timeout(serve):
    server = serve(Counting(), idle_timeout=0.5)
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        assert s.recv(1) == b""  # closed by the server, nothing sent
    finally:
        s.close()


def test_past_max_connections_the_oldest_waiting_one_is_closed(serve):
    server = serve(Counting(), max_connections=5)
    first = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    others = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(6)]
    try:
        assert first.recv(1) == b""
        assert get(server.port)[0] == 200
    finally:
        for s in [first, *others]:
            s.close()


def test_a_client_gone_before_its_answer_costs_no_rendering_and_no_traceback(serve, capfd, caplog):
    hold = threading.Event()
    respond = Counting(hold=hold)
    server = serve(respond, handlers=1, max_pending=10)
    busy = threading.Thread(target=get, args=(server.port,))
    busy.start()  # the only handler renders (held) ...
    deadline = time.monotonic() + 10
    while respond.calls == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    for _ in range(5):  # ... while these send a request and hang up (reset: a FIN could be a half-close)
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        s.close()
    time.sleep(0.2)
    hold.set()
    busy.join(30)
    deadline = time.monotonic() + 10
    while server.skipped_gone < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.skipped_gone == 5 and respond.calls == 1
    # a client that hangs up while its (large) answer is written: no traceback anywhere
    respond.body = b"x" * 5_000_000
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    s.recv(100)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")  # reset on close
    s.close()
    assert get(server.port)[0] == 200
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "BrokenPipe" not in out + err
    assert not [r for r in caplog.records if r.exc_info]


def test_out_of_descriptors_closes_idle_connections_and_keeps_serving(serve):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    respond = Counting()
    server = serve(respond)
    idle = []
    try:
        import os

        in_use = len(os.listdir("/proc/self/fd"))
        resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + 40, hard))
        for _ in range(60):  # more than the process can accept: the server must make room
            try:
                idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))
            except OSError:
                break  # the test's own side ran out: enough
        for s in idle[:10]:
            s.close()  # free a few descriptors on this side for the scrapes below
        del idle[:10]
        for _ in range(5):
            assert get(server.port)[0] == 200
    finally:
        for s in idle:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_ipv6_loopback_and_dual_stack(serve):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this kernel")
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    v6 = serve(Counting(), address="::1")
    assert get(v6.port, host="::1")[0] == 200
    dual = serve(Counting(), address="::")
    assert get(dual.port, host="::1")[0] == 200
    assert get(dual.port, host="127.0.0.1")[0] == 200  # `::` listens for IPv4 too


# ---- issue 21: stalled readers, a bounded queue, half-closed clients ----------------------------------------
def test_a_half_closed_client_is_answered(serve):
    """The client sends its request, then shuts its sending side (shutdown(SHUT_WR)), as some clients and
    proxies do; prometheus_client's server answers it, so must we."""
    server = serve(Counting())
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        s.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    finally:
        s.close()
    assert answer.startswith(b"HTTP/1.0 200") and answer.endswith(b"metric 1\n")


def _stalled(port: int) -> socket.socket:
    """A client that asks for the whole exposition uncompressed and never reads a byte of it."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n")
    return s


def test_clients_that_never_read_a_large_exposition_do_not_delay_a_healthy_scrape(serve):
    """The review's attack: 40 clients that shrink their receive buffer and never read a ~5 MB answer. Each
    used to hold a handler for the whole write bound, and a healthy scrape queued behind them. Counted, not
    timed: the healthy scrape is answered while every stalled client still holds its connection (the write
    bound, 30 s here, has not expired for any), and it needed no more than its own rendering.

    The wait queue is made long enough for the whole burst (max_pending=64): with the default (twice the
    handlers) a loaded machine lets the loop read all 40 heads before a handler runs, and the oldest are
    answered 503 by design (the next test). That is scheduling, not the attack under test here."""
    respond = Counting(body=b"x" * 5_000_000)
    server = serve(respond, write_timeout=30.0, max_pending=64)
    stalled = [_stalled(server.port) for _ in range(40)]
    try:
        deadline = time.monotonic() + 25
        while respond.calls < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        # every stalled client got its answer rendered: all handlers were free again
        assert (respond.calls, server.refused_busy) == (40, 0)
        more = [_stalled(server.port) for _ in range(8)]  # and a new wave arrives
        stalled += more
        status, _, body = get(server.port, headers={"Accept-Encoding": "gzip"})  # the client times out at 30 s
        assert status == 200 and len(gzip.decompress(body)) == 5_000_000
        assert len(server._writing) >= 40  # the stalled clients still hold their connections: none expired
        assert server.refused_busy == 0
    finally:
        for s in stalled:
            s.close()


def test_requests_waiting_for_a_handler_are_bounded_and_the_oldest_get_503(serve):
    hold = threading.Event()
    respond = Counting(hold=hold)
    server = serve(respond, handlers=1, max_pending=3)
    answers: list = []

    def ask():
        try:
            answers.append(get(server.port)[0])
        except OSError as e:
            answers.append(repr(e))

    first = threading.Thread(target=ask)
    first.start()
    deadline = time.monotonic() + 10
    while respond.calls == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    others = [threading.Thread(target=ask) for _ in range(9)]
    for t in others:
        t.start()
        time.sleep(0.02)  # one after the other: the oldest waiting ones are refused first
    deadline = time.monotonic() + 10
    while server.refused_busy < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.refused_busy == 6 and sorted(answers) == [503] * 6  # answered at once, not held
    hold.set()
    for t in [first, *others]:
        t.join(30)
    assert sorted(answers) == [200] * 4 + [503] * 6 and respond.calls == 4
