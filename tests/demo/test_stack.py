"""demo.stack: the demo keeps its usual ports when started right after another demo."""

from __future__ import annotations

import socket

from litellm_observe.demo import stack


def _time_wait_port() -> int:
    """A port on 127.0.0.1 with no listener, whose server side closed a connection first: it lingers in
    TIME_WAIT, as a demo's ports do just after it stopped."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        conn, _ = server.accept()
        conn.close()  # the side that closes first holds TIME_WAIT
        client.close()
    return port


def test_a_port_in_time_wait_is_free_for_the_next_demo():
    port = _time_wait_port()
    with socket.socket() as plain:  # the probe without SO_REUSEADDR would have moved the demo elsewhere
        try:
            plain.bind(("127.0.0.1", port))
            lingering = False
        except OSError:
            lingering = True
    assert lingering, "no TIME_WAIT on this machine: the test shows nothing"
    assert stack.free_port(port) == port


def test_a_port_with_a_listener_is_not_free():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert stack.free_port(port) != port
