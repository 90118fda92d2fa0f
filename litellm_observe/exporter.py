"""The exporter: serves one run directory's aggregate over HTTP, in a process of
its own so that rendering never runs on a thread of a worker serving LLM requests.

Exactly one exporter per proxy run holds `exporter.lock`; when it dies the lock is
released and a worker's supervisor (supervisor.py) starts another. It exits, and
removes the run directory, when the proxy run's root process is gone.
"""
from __future__ import annotations

import argparse
import base64
import fcntl
import hmac
import logging
import os
import shutil
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import settings as settings_mod
from .aggregate import Aggregator
from .catalogue import CATALOGUE
from .exposition import SharedRender, families, maybe_gzip
from .rundir import RUN_PREFIX, Root
from .store import WorkerStore

log = logging.getLogger("litellm_observe.exporter")
LOCK_NAME = "exporter.lock"
READY_NAME = "exporter.pid"  # written once the exporter listens
EXIT_BUSY = 0  # another exporter already serves this run
EXIT_BIND = 3  # the address could not be bound (told to the supervisor)


class Exporter:
    """Aggregation, rendering and auth for one run directory (or, for the sidecar, a base
    directory: the sum of the `run-*` directories in it); the HTTP server calls `respond`."""

    def __init__(self, directory: str, settings: settings_mod.Settings):
        self.settings = settings
        self.directory = directory
        self._own: WorkerStore | None = None
        self._runs: dict[str, Aggregator] = {}
        if not self._run_dirs():
            try:  # the exporter's own counters live beside the workers', so they survive its restarts
                self._own = WorkerStore(directory, {m.name: m.value_slots() for m in CATALOGUE})
            except OSError as e:
                log.warning("litellm_observe: exporter cannot write its own counters in %s: %s", directory, e)
        self.aggregator = Aggregator(directory, on_corrupt=self._corrupt)
        self.render = SharedRender(self._families)
        self._expected = self._credentials(settings)

    @staticmethod
    def _credentials(s: settings_mod.Settings) -> list[tuple[str, bytes]]:
        allowed = []
        if s.bearer_token:
            allowed.append(("bearer", s.bearer_token.encode()))
        if s.basic_auth_username is not None:
            pair = f"{s.basic_auth_username}:{s.basic_auth_password}".encode()
            allowed.append(("basic", base64.b64encode(pair)))
        return allowed

    def _corrupt(self, path: str, err: Exception) -> None:
        if self._own is not None:
            self._own.inc("observe_internal_errors", ("exporter_read",))

    def _run_dirs(self) -> list[str]:
        try:
            return sorted(os.path.join(self.directory, n) for n in os.listdir(self.directory)
                          if n.startswith(RUN_PREFIX) and os.path.isdir(os.path.join(self.directory, n)))
        except OSError:
            return []

    def _families(self) -> list:
        runs = self._run_dirs()
        if not runs:
            self.aggregator.compact()
            return families(self.aggregator.collect(), self.settings.namespace)
        self._runs = {d: self._runs.get(d) or Aggregator(d, on_corrupt=self._corrupt) for d in runs}
        total: dict = {}
        for aggregator in self._runs.values():
            aggregator.compact()
            for key, values in aggregator.collect().items():
                acc = total.get(key)
                if acc is None or len(acc) != len(values):
                    total[key] = values
                else:
                    total[key] = [a + v for a, v in zip(acc, values)]
        return families(total, self.settings.namespace)

    def authorized(self, header: str | None) -> bool:
        if not self._expected:
            return True
        scheme, _, given = (header or "").partition(" ")
        scheme, given = scheme.lower(), given.encode()  # the scheme is case-insensitive (RFC 7235)
        ok = False
        for expected_scheme, expected in self._expected:  # compare against all, constant time
            ok |= hmac.compare_digest(given, expected) & (scheme == expected_scheme)
        return ok

    def respond(self, headers) -> tuple[int, dict[str, str], bytes]:
        if not self.authorized(headers.get("Authorization")):
            return 401, {"WWW-Authenticate": 'Basic realm="litellm_observe"', "Content-Type": "text/plain"}, \
                b"unauthorized\n"
        body, content_type = self.render(headers.get("Accept"))
        body, extra = maybe_gzip(body, headers.get("Accept-Encoding"))
        return 200, {"Content-Type": content_type, **extra}, body


def make_server(exporter: Exporter, address: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path.split("?")[0] == "/favicon.ico":
                self.send_error(404)
                return
            try:
                status, headers, body = exporter.respond(self.headers)
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

    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer((address, port), Handler)
    server.daemon_threads = True
    return server


def hold_lock(directory: str) -> int | None:
    """Take the run's exporter lock without waiting; the fd keeps it until the process ends."""
    fd = os.open(os.path.join(directory, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def run(directory: str, settings: settings_mod.Settings, root: Root | None, address: str | None = None,
        port: int | None = None) -> int:
    """Serve until the root process is gone. Without a root (the `serve-metrics` sidecar)
    serve forever, beside any other reader: folding is guarded by its own lock."""
    if root is not None and hold_lock(directory) is None:
        return EXIT_BUSY
    address = settings.bind_address if address is None else address
    port = settings.port if port is None else port
    try:
        exporter = Exporter(directory, settings)
        server = make_server(exporter, address, port)
    except OSError as e:
        log.error("litellm_observe: exporter cannot listen on %s:%s: %s", address, port, e)
        return EXIT_BIND
    if root is not None:
        with open(os.path.join(directory, READY_NAME), "w") as f:
            f.write(str(os.getpid()))
    log.info("litellm_observe: serving metrics of %s on http://%s:%s/metrics", directory, address, port)
    threading.Thread(target=server.serve_forever, daemon=True, name="litellm-observe-http").start()
    try:
        while root is None or root.alive():
            time.sleep(1.0)
            try:  # fold recycled workers between scrapes, so a scrape seldom pays for it
                exporter.aggregator.compact()
            except Exception:
                log.exception("litellm_observe: folding dead workers failed; the next scrape retries")
    except KeyboardInterrupt:
        pass
    server.shutdown()
    if root is not None:
        shutil.rmtree(directory, ignore_errors=True)  # the run is over: leave nothing behind
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m litellm_observe.exporter")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--root", required=True, help="PID:STARTTIME of the proxy run's root process")
    p.add_argument("--config", default=None)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s: %(message)s")
    pid, start = args.root.split(":")
    settings = settings_mod.load(args.config)
    return run(args.run_dir, settings, Root(int(pid), int(start)))


if __name__ == "__main__":
    sys.exit(main())
