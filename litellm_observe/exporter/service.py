"""The exporter: serves the aggregate of a directory over HTTP, in a process of its own
so that rendering never runs on a thread of a worker serving LLM requests.

Two ways to run (rundir/protocol.py has the handshakes):
- a run's exporter (`python -m litellm_observe.exporter`, started by a worker's
  supervisor): holds the run's `exporter.lock` for life, so there is exactly one, and
  exits when the run's root process is gone, removing the run directory (left for a
  sidecar to fold when one watches the base);
- the `serve-metrics` sidecar, over a base directory (every run in it, plus the runs
  it folded when they ended, so a proxy restart never lowers a total) or over one run.
"""
from __future__ import annotations

import base64
import hmac
import logging
import os
import shutil
import threading
import time

from .. import compat, settings as settings_mod
from ..rundir.protocol import (EXIT_BIND, EXIT_BUSY, EXIT_UNSAFE, Directory, Root, UnsafeDirectory, bind_failed, bound,
                               hold, lock_held,
                               private_dir, share_with_group, watch_as_sidecar, write_atomically, writer_gone)
from ..rundir.record import Recorder
from ..rundir.store import WorkerStore
from .aggregate import QUARANTINED, Aggregator
from .exposition import SharedRender, families
from .http import MetricsServer

log = logging.getLogger("litellm_observe.exporter")
FOLD_SECONDS = 1.0
BIND_LOG_SECONDS = 300  # a busy port is logged once, then at most this often


class Exporter:
    """Aggregation, rendering and auth for one directory; the HTTP server calls `respond`."""

    def __init__(self, directory: str, settings: settings_mod.Settings, *, sidecar: bool = False):
        self.settings = settings
        self.directory = Directory(directory)
        self.sidecar = sidecar
        self._rec: Recorder | None = None
        try:  # the exporter's own counters live beside the workers', so they survive its restarts
            self._rec = Recorder(WorkerStore(self.directory))
        except OSError as e:
            log.warning("litellm_observe: exporter cannot write its own counters in %s: %s", directory, e)
        self.aggregator = Aggregator(self.directory, on_error=self._read_error)
        self._runs: dict[str, Aggregator] = {}
        self._fold_lock = threading.Lock()
        self.render = SharedRender(self._families)
        self._expected = self._credentials(settings)

    @staticmethod
    def _credentials(s: settings_mod.Settings) -> list[tuple[str, bytes]]:
        allowed = []
        if s.bearer_token:
            allowed.append(("bearer", s.bearer_token.encode("utf-8")))
        if s.basic_auth_username is not None:
            pair = f"{s.basic_auth_username}:{s.basic_auth_password}".encode("utf-8")
            allowed.append(("basic", base64.b64encode(pair)))
        return allowed

    def _read_error(self, outcome: str, path: str, err: BaseException) -> None:
        if self._rec is not None:
            try:
                self._rec.observe_internal_errors(hook="exporter_read" if outcome == QUARANTINED
                                                  else "exporter_read_retry")
            except OSError:
                pass

    # ---- what is served ------------------------------------------------------------------------
    def _children(self) -> list[Aggregator]:
        if not self.sidecar:
            return []
        runs = {r.path: r for r in self.directory.run_dirs()}
        self._runs = {p: self._runs.get(p) or Aggregator(r, on_error=self._read_error) for p, r in runs.items()}
        return list(self._runs.values())

    def fold(self) -> None:
        """Fold dead writers (and, for a sidecar, ended runs) so a scrape seldom pays for it."""
        with self._fold_lock:
            self.aggregator.compact()
            for agg in self._children():
                agg.compact()
            if self.sidecar:
                ended = [a for a in self._runs.values() if _ended(a.dir)]
                if ended:
                    self.aggregator.fold_directories(ended, _remove_run)

    def _families(self) -> list:
        self.fold()
        return families(self.aggregator.collect(self._children()), self.settings.namespace)

    def authorized(self, header: str | None) -> bool:
        if not self._expected:
            return True
        scheme, _, given = (header or "").partition(" ")
        scheme = scheme.lower()  # the scheme is case-insensitive (RFC 7235)
        try:
            # http.server decodes header bytes as ISO-8859-1: encoding back gives the bytes the
            # client sent, so a token is compared as the UTF-8 bytes a client sends for it
            given = given.encode("iso-8859-1")
        except UnicodeEncodeError:
            return False
        ok = False
        for expected_scheme, expected in self._expected:  # compare against all, constant time
            ok |= hmac.compare_digest(given, expected) & (scheme == expected_scheme)
        return ok

    def respond(self, headers) -> tuple[int, dict[str, str], bytes]:
        if not self.authorized(headers.get("Authorization")):
            return 401, {"WWW-Authenticate": 'Basic realm="litellm_observe"', "Content-Type": "text/plain"}, \
                b"unauthorized\n"
        body, content_type, extra = self.render(headers.get("Accept"), headers.get("Accept-Encoding"))
        return 200, {"Content-Type": content_type, **extra}, body


def _ended(run: Directory) -> bool:
    """A run that can be folded: its root, its exporter and every writer are gone."""
    root = run.root
    if root is None or root.alive():
        return False
    try:
        if lock_held(run.exporter_lock):
            return False
    except OSError:
        return False
    return all(writer_gone(p) for p in run.sample_files())


def _remove_run(run: Directory) -> None:
    shutil.rmtree(run.path, ignore_errors=True)


def run(directory: str, settings: settings_mod.Settings, root: Root | None, address: str | None = None,
        port: int | None = None) -> int:
    """Serve until the root process is gone. Without a root (the `serve-metrics` sidecar)
    serve forever, beside any other reader: folding is guarded by its own lock."""
    d = Directory(directory)
    share_with_group(settings.metrics_dir_group_shared)
    try:
        private_dir(directory, create=False)
    except OSError as e:
        log.error("litellm_observe: cannot serve %s: %s", directory, e.strerror if isinstance(e, UnsafeDirectory) else e)
        return EXIT_UNSAFE
    if root is not None:
        if hold(d.exporter_lock) is None:
            return EXIT_BUSY
    else:
        watch_as_sidecar(directory)  # run exporters see it and leave ended runs to us
    address = settings.bind_address if address is None else address
    port = settings.port if port is None else port
    try:
        exporter = Exporter(directory, settings, sidecar=root is None)
        server = MetricsServer(exporter.respond, address, port)
    except OSError as e:
        attempts, speak = bind_failed(d, time.time(), BIND_LOG_SECONDS)
        if speak and attempts == 1:
            log.error("litellm_observe: exporter cannot listen on %s:%s: %s. Metrics are not served until it can; "
                      "the proxy keeps serving and the exporter is retried quietly (backing off to once a minute; "
                      "this message repeats at most every %d minutes). Free the port or set litellm_observe.port.",
                      address, port, e, BIND_LOG_SECONDS // 60)
        elif speak:
            log.error("litellm_observe: exporter still cannot listen on %s:%s after %d attempts: %s", address,
                      port, attempts, e)
        return EXIT_BIND
    failed = bound(d)
    if failed:
        log.warning("litellm_observe: exporter listening on %s:%s after %d failed attempts", address, port, failed)
    if root is not None:
        write_atomically(d.exporter_pid, str(os.getpid()).encode())  # the supervisor waits for it
    line, warning = compat.startup_line()
    log.info("%s: serving metrics of %s on http://%s:%s/metrics", line, directory, address, port)
    if warning:
        log.warning(warning)
    threading.Thread(target=server.serve_forever, daemon=True, name="litellm-observe-http").start()
    try:
        while root is None or root.alive():
            time.sleep(FOLD_SECONDS)
            try:
                exporter.fold()
            except Exception:
                log.exception("litellm_observe: folding dead workers failed; the next scrape retries")
    except KeyboardInterrupt:
        pass
    server.shutdown()
    if root is not None and not d.sidecar_watching():
        shutil.rmtree(directory, ignore_errors=True)  # the run is over: leave nothing behind
    return 0
