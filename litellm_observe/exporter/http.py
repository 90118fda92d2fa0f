"""A small HTTP server for /metrics that no client can tie up.

One selector loop owns every connection; a fixed number of handler threads only parse a complete
request and render its answer. So:
- A connection waits in the selector until its whole request head has arrived; a slow or idle client
  costs a descriptor and a small buffer, never a thread. A connection whose request is not complete
  after `idle_timeout` is closed; past `max_connections` the oldest waiting one is closed; out of
  descriptors (EMFILE), the oldest makes room.
- Complete requests wait for a handler in a queue of at most `max_pending`; past it the oldest waiting
  one is answered 503 at once. A handler renders, then hands the answer back to the loop, which writes
  it as the client reads, without blocking: a client that does not read holds a buffer (the shared
  rendering, not a copy) for at most `write_timeout`, never a handler. A healthy scrape therefore waits
  for renderings only, however many clients stall.
- A client that reset its connection before its answer is ready gets no rendering; one that only closed
  its sending side after the request (a half-close, as some clients and proxies do) is answered. A
  client that disconnects costs no traceback.
- IPv4 and IPv6: `::` listens dual-stack.

Why one module of this size: every connection's state (waiting for its head, waiting for a handler, being
written) belongs to the one selector loop; the handlers' part is small and only hands answers back.
"""

from __future__ import annotations

import errno
import io
import logging
import queue
import select
import selectors
import socket
import socketserver
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Protocol, cast

log = logging.getLogger("litellm_observe.exporter")


class Headers(Protocol):
    """A request's headers as the handler reads them (an http.server message, or a dict in tests)."""

    def get(self, name: str, /) -> str | None: ...


Respond = Callable[[Headers], tuple[int, dict[str, str], bytes]]  # request headers -> the answer
BUSY = (
    b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
    b"Connection: close\r\n\r\nbusy\n"
)


def client_gone(sock: socket.socket) -> bool:
    """True when the peer reset the connection (or it is in error). A peer that only closed its sending side
    (a FIN: a half-close after its request, or a full close; they look alike until we write) is not gone."""
    try:
        poll = select.poll()  # not select(): descriptors past 1024 are normal here
        poll.register(sock, select.POLLIN)
        events = poll.poll(0)
        return bool(events) and bool(events[0][1] & (select.POLLHUP | select.POLLERR))
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


@dataclass
class _Outgoing:
    """An answer the loop is writing: what is left of each chunk, and when the client's time is up."""

    chunks: deque = field(default_factory=deque)  # memoryviews
    deadline: float = 0.0


class MetricsServer:
    MAX_HEAD = 16 * 1024

    def __init__(
        self,
        respond: Respond,
        address: str,
        port: int,
        *,
        handlers: int = 8,
        write_timeout: float = 5.0,
        idle_timeout: float = 10.0,
        max_connections: int = 1024,
        max_pending: int | None = None,
        backlog: int = 1024,
    ):
        self._respond = respond
        self._sock = listening_socket(address, port, backlog)
        self._sock.setblocking(False)
        self.address = self._sock.getsockname()[:2]
        self.write_timeout = write_timeout
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.max_pending = max_pending or 2 * handlers
        self._selector = selectors.DefaultSelector()
        self._idle: dict[socket.socket, float] = {}  # request head not complete yet -> accepted at
        self._heads: dict[socket.socket, bytearray] = {}
        self._writing: dict[socket.socket, _Outgoing] = {}  # answers being written, oldest first
        # complete requests waiting for a handler; (None, b"") tells a handler to stop
        self._pending: deque[tuple[socket.socket | None, bytes]] = deque()
        self._work = threading.Condition()
        self._answers: queue.SimpleQueue = queue.SimpleQueue()  # (conn, chunks) from handlers to the loop
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._handler = _handler_class(self)
        self._emfile_logged = -1e9
        self._workers = [
            threading.Thread(target=self._work_loop, daemon=True, name="litellm-observe-http") for _ in range(handlers)
        ]
        self.skipped_gone = 0  # clients gone before their answer was rendered (tests read it)
        self.refused_busy = 0  # requests answered 503 because too many waited for a handler

    @property
    def port(self) -> int:
        return self.address[1]

    def serve_forever(self) -> None:
        for worker in self._workers:
            worker.start()
        self._selector.register(self._sock, selectors.EVENT_READ)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        try:
            while not self._stop.is_set():
                for key, events in self._selector.select(timeout=0.5):
                    if key.fileobj is self._sock:
                        self._accept()
                    elif key.fileobj is self._wake_r:
                        self._take_answers()
                    elif events & selectors.EVENT_WRITE:
                        self._send(cast(socket.socket, key.fileobj))  # every other key is a connection
                    else:
                        self._receive(cast(socket.socket, key.fileobj))
                self._expire(time.monotonic())
        finally:
            with self._work:
                for conn, _ in self._pending:
                    if conn is not None:
                        conn.close()
                self._pending.clear()
                self._pending.extend([(None, b"")] * len(self._workers))  # one stop signal per handler
                self._work.notify_all()
            for conn in [*self._idle, *self._writing]:
                self._close(conn)
            self._selector.close()
            self._sock.close()
            self._wake_r.close()
            self._stopped.set()

    def shutdown(self) -> None:
        self._stop.set()
        self._stopped.wait(10)
        for worker in self._workers:
            worker.join(10)
        self._wake_w.close()

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
                        log.warning(
                            "litellm_observe: exporter out of descriptors (%s): closing idle connections", e.strerror
                        )
                    if not self._close_oldest():
                        return
                    continue
                return  # ECONNABORTED and the like: the client left already
            conn.setblocking(False)
            if len(self._idle) + len(self._writing) >= self.max_connections:
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
            self._enqueue(conn, bytes(self._heads.pop(conn)))
        elif len(head) > self.MAX_HEAD:
            self._close(conn)

    def _enqueue(self, conn: socket.socket, head: bytes) -> None:
        """A complete request waits for a handler; past max_pending the oldest waiting one gets a 503."""
        refused = None
        with self._work:
            if len(self._pending) >= self.max_pending:
                refused = self._pending.popleft()[0]
            self._pending.append((conn, head))
            self._work.notify()
        if refused is not None:
            self.refused_busy += 1
            self._write(refused, [BUSY])

    def _work_loop(self) -> None:
        while True:
            with self._work:
                while not self._pending:
                    self._work.wait()
                conn, head = self._pending.popleft()
            if conn is None:
                return
            chunks = self._handle(conn, head)
            if chunks is None:
                conn.close()
            else:
                self._answers.put((conn, chunks))
                try:
                    self._wake_w.send(b"\0")
                except OSError:
                    pass  # the wake-up pipe is full (the loop will see it) or closed (shutting down)

    def _handle(self, conn: socket.socket, head: bytes) -> list | None:
        """The answer's chunks, rendered in a handler thread; None when there is nothing to send."""
        try:
            handler = self._handler(conn, head)
            return handler.wfile.chunks or None
        except Exception:
            log.exception("litellm_observe: exporter request failed")
            return None

    # ---- writing, in the loop ------------------------------------------------------------------
    def _take_answers(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                conn, chunks = self._answers.get_nowait()
            except queue.Empty:
                return
            self._write(conn, chunks)

    def _write(self, conn: socket.socket, chunks: list) -> None:
        self._writing[conn] = _Outgoing(
            deque(memoryview(c) for c in chunks if c), time.monotonic() + self.write_timeout
        )
        try:
            self._selector.register(conn, selectors.EVENT_WRITE)
        except (KeyError, ValueError):
            self._selector.modify(conn, selectors.EVENT_WRITE)
        self._send(conn)

    def _send(self, conn: socket.socket) -> None:
        out = self._writing.get(conn)
        if out is None:
            return
        try:
            while out.chunks:
                view = out.chunks[0]
                sent = conn.send(view)
                if sent < len(view):
                    out.chunks[0] = view[sent:]
                    return  # the client's buffer is full: the selector says when it can take more
                out.chunks.popleft()
        except BlockingIOError:
            return
        except OSError:
            pass  # the client went away: nothing to say
        self._close(conn)

    # ---- closing -------------------------------------------------------------------------------
    def _close(self, conn: socket.socket) -> None:
        self._idle.pop(conn, None)
        self._heads.pop(conn, None)
        self._writing.pop(conn, None)
        try:
            self._selector.unregister(conn)
        except (KeyError, ValueError):
            pass
        conn.close()

    def _close_oldest(self) -> bool:
        if self._idle:
            self._close(min(self._idle, key=self._idle.__getitem__))
            return True
        if self._writing:
            self._close(next(iter(self._writing)))
            return True
        return False

    def _expire(self, now: float) -> None:
        for conn, since in list(self._idle.items()):
            if now - since > self.idle_timeout:
                self._close(conn)
        for conn, out in list(self._writing.items()):
            if now > out.deadline:
                self._close(conn)  # a client that does not read: its time is up


class _Collector(io.BufferedIOBase):
    """Where a handler's answer goes: the chunks as written (the body is the shared rendering, not copied);
    the server's loop sends them."""

    def __init__(self):
        self.chunks: list = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.chunks.append(data)
        return len(data)


def _handler_class(server: MetricsServer):
    class Handler(BaseHTTPRequestHandler):
        """One request whose head the server's selector loop has read already."""

        server_version = "litellm-observe"

        def __init__(self, conn: socket.socket, head: bytes):
            self._head = head
            super().__init__(conn, ("", 0), cast(socketserver.BaseServer, server))  # only its name is read

        def setup(self):
            self.connection = self.request
            self.rfile = io.BytesIO(self._head)
            self.wfile = _Collector()

        def finish(self):
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
