"""A small HTTP server for /metrics that no client can tie up.

- Connections wait in a selector until their whole request head has arrived; only
  then does one of a fixed number of handler threads take them, so a slow or idle
  client costs a descriptor and a small buffer, never a thread. A connection whose
  request is not complete after `idle_timeout` is closed; past `max_connections` the
  oldest waiting one is closed; out of descriptors (EMFILE), the oldest makes room.
- A handler writes with `write_timeout` (the total for the whole answer), so a client
  that does not read frees its thread after a few seconds.
- A client that has gone before its answer is ready gets no rendering, and a client
  that disconnects costs no traceback.
- IPv4 and IPv6: `::` listens dual-stack.
"""
from __future__ import annotations

import errno
import io
import logging
import select
import selectors
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from typing import Callable

log = logging.getLogger("litellm_observe.exporter")

Respond = Callable[[dict], tuple[int, dict[str, str], bytes]]


def client_gone(sock: socket.socket) -> bool:
    """True when the peer has closed its side (a zero-byte peek) or reset the connection."""
    try:
        poll = select.poll()  # not select(): descriptors past 1024 are normal here
        poll.register(sock, select.POLLIN | select.POLLRDHUP)
        events = poll.poll(0)
        if not events:
            return False
        if events[0][1] & (select.POLLRDHUP | select.POLLHUP | select.POLLERR):
            return True
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def listening_socket(address: str, port: int, backlog: int) -> socket.socket:
    """A bound, listening socket for an IPv4 or IPv6 literal or host name ("::" is dual-stack)."""
    infos = socket.getaddrinfo(address or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, socktype, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, socktype, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if sockaddr[0] == "::" else 1)
        sock.bind(sockaddr)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


class MetricsServer:
    MAX_HEAD = 16 * 1024

    def __init__(self, respond: Respond, address: str, port: int, *, handlers: int = 8,
                 write_timeout: float = 5.0, idle_timeout: float = 10.0, max_connections: int = 1024,
                 backlog: int = 1024):
        self._respond = respond
        self._sock = listening_socket(address, port, backlog)
        self._sock.setblocking(False)
        self.address = self._sock.getsockname()[:2]
        self.write_timeout = write_timeout
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self._pool = ThreadPoolExecutor(handlers, thread_name_prefix="litellm-observe-http")
        self._selector = selectors.DefaultSelector()
        self._idle: dict[socket.socket, float] = {}  # request head not complete yet -> accepted at
        self._heads: dict[socket.socket, bytearray] = {}
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._handler = _handler_class(self)
        self._emfile_logged = -1e9
        self.skipped_gone = 0  # clients gone before their answer was rendered (tests read it)

    @property
    def port(self) -> int:
        return self.address[1]

    def serve_forever(self) -> None:
        self._selector.register(self._sock, selectors.EVENT_READ)
        try:
            while not self._stop.is_set():
                for key, _ in self._selector.select(timeout=0.5):
                    if key.fileobj is self._sock:
                        self._accept()
                    else:
                        self._receive(key.fileobj)
                self._expire(time.monotonic())
        finally:
            for conn in list(self._idle):
                self._close(conn)
            self._selector.close()
            self._sock.close()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._stopped.set()

    def shutdown(self) -> None:
        self._stop.set()
        self._stopped.wait(10)

    # ---- connections --------------------------------------------------------------------------
    def _accept(self) -> None:
        for _ in range(256):  # a burst, then back to the loop
            try:
                conn, _addr = self._sock.accept()
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    now = time.monotonic()
                    if now - self._emfile_logged > 60:
                        self._emfile_logged = now
                        log.warning("litellm_observe: exporter out of descriptors (%s): closing idle connections",
                                    e.strerror)
                    if not self._close_oldest():
                        return
                    continue
                return  # ECONNABORTED and the like: the client left already
            conn.setblocking(False)
            if len(self._idle) >= self.max_connections:
                self._close_oldest()
            self._idle[conn] = time.monotonic()
            self._selector.register(conn, selectors.EVENT_READ)

    def _receive(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close(conn)  # the client left before sending a whole request
            return
        head = self._heads.setdefault(conn, bytearray())
        head += data
        if b"\r\n\r\n" in head or b"\n\n" in head:
            self._selector.unregister(conn)
            self._idle.pop(conn, None)
            self._pool.submit(self._handle, conn, bytes(self._heads.pop(conn)))
        elif len(head) > self.MAX_HEAD:
            self._close(conn)

    def _close(self, conn: socket.socket) -> None:
        self._idle.pop(conn, None)
        self._heads.pop(conn, None)
        try:
            self._selector.unregister(conn)
        except (KeyError, ValueError):
            pass
        conn.close()

    def _close_oldest(self) -> bool:
        if not self._idle:
            return False
        self._close(min(self._idle, key=self._idle.__getitem__))
        return True

    def _expire(self, now: float) -> None:
        for conn, since in list(self._idle.items()):
            if now - since > self.idle_timeout:
                self._close(conn)

    def _handle(self, conn: socket.socket, head: bytes) -> None:
        try:
            conn.settimeout(self.write_timeout)  # blocking, bounded in total per sendall
            self._handler(conn, head)
        except OSError:
            pass  # the client went away or timed out: nothing to say
        except Exception:
            log.exception("litellm_observe: exporter request failed")
        finally:
            try:
                conn.close()
            except OSError:
                pass


class _Writer(io.BufferedIOBase):
    """Whole writes (sendall), bounded in total by the socket's timeout."""

    def __init__(self, sock: socket.socket):
        self._sock = sock

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._sock.sendall(data)
        return len(data)


def _handler_class(server: MetricsServer):
    class Handler(BaseHTTPRequestHandler):
        """One request whose head the server's selector loop has read already."""

        server_version = "litellm-observe"

        def __init__(self, conn: socket.socket, head: bytes):
            self._head = head
            super().__init__(conn, ("", 0), server)

        def setup(self):
            self.connection = self.request
            self.rfile = io.BytesIO(self._head)
            self.wfile = _Writer(self.request)

        def finish(self):
            try:
                self.wfile.close()
            except OSError:
                pass

        def do_GET(self):  # noqa: N802
            if self.path.split("?")[0] == "/favicon.ico":
                self.send_error(404)
                return
            if client_gone(self.connection):
                server.skipped_gone += 1
                self.close_connection = True
                return
            try:
                status, headers, body = server._respond(self.headers)
            except Exception:
                log.exception("litellm_observe: rendering failed")
                status, headers, body = 500, {"Content-Type": "text/plain"}, b"render failed\n"
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

        def log_error(self, *args):
            pass

    return Handler
