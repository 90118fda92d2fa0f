"""The exporter: serves the aggregate of a directory over HTTP, in a process of its own
so that rendering never runs on a thread of a worker serving LLM requests.

Two ways to run (rundir/handshakes.py and rundir/runs.py have the handshakes):
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

from .. import compat
from .. import settings as settings_mod
from ..rundir import handshakes
from ..rundir.files import hold, share_with_group, write_atomically
from ..rundir.handshakes import EXIT_BIND, EXIT_BUSY, EXIT_UNSAFE, bind_failed, bound, first_to_notice, watch_as_sidecar
from ..rundir.layout import Directory, UnsafeDirectory, private_dir
from ..rundir.record import Recorder
from ..rundir.runs import Membership, Root, claim_ended, hold_dir, remove_claimed
from ..rundir.writer import SampleWriter
from .aggregate import QUARANTINED, VANISHED_SECONDS, Aggregator, Series
from .exposition import SharedRender
from .http import Headers, MetricsServer

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
            self._rec = Recorder(SampleWriter(self.directory))
        except OSError as e:
            log.warning("litellm_observe: exporter cannot write its own counters in %s: %s", directory, e)
        self.aggregator = Aggregator(self.directory, on_error=self._read_error)
        self._runs: dict[str, Aggregator] = {}
        self._vanished_at: dict[str, float] = {}
        # one fold or read at a time: the folding loop and scrapes in two formats (exposition.SharedRender renders
        # them apart) go through the same file readers and aggregator state, which are not for two threads at once
        self._lock = threading.RLock()
        self.render = SharedRender(self._series, settings.namespace)
        self._expected = self._credentials(settings)

    @staticmethod
    def _credentials(s: settings_mod.Settings) -> list[tuple[str, bytes]]:
        allowed = []
        if s.bearer_token:
            allowed.append(("bearer", s.bearer_token.encode("utf-8")))
        if s.basic_auth_username is not None:
            pair = f"{s.basic_auth_username}:{s.basic_auth_password}".encode()
            allowed.append(("basic", base64.b64encode(pair)))
        return allowed

    def _read_error(self, outcome: str, path: str, err: BaseException) -> None:
        self.count_internal_error("exporter_read" if outcome == QUARANTINED else "exporter_read_retry")

    def count_internal_error(self, hook: str) -> None:
        if self._rec is not None:
            try:
                self._rec.observe_internal_errors(hook=hook)
            except OSError:
                pass

    def republish(self) -> None:
        """Publish the exporter's own counters again in its directory, made anew (rundir/writer.py)."""
        if self._rec is not None:
            try:
                self._rec.store.republish(self.directory)
            except OSError as e:
                log.warning(
                    "litellm_observe: exporter cannot write its own counters in %s again: %s", self.directory.path, e
                )

    # ---- what is served ------------------------------------------------------------------------
    def _children(self) -> list[Aggregator]:
        """A sidecar's runs: every run directory of the base, and for VANISHED_SECONDS one that was
        removed under its live run (its last values stand in until its processes make it again)."""
        if not self.sidecar:
            return []
        runs = {r.path: r for r in self.directory.run_dirs()}
        now = time.monotonic()
        children = {}
        for path, agg in self._runs.items():
            if path not in runs and now - self._vanished_at.setdefault(path, now) < VANISHED_SECONDS:
                children[path] = agg
        for path, run in runs.items():
            self._vanished_at.pop(path, None)
            children[path] = self._runs.get(path) or Aggregator(run, on_error=self._read_error)
        self._vanished_at = {p: t for p, t in self._vanished_at.items() if p in children}
        self._runs = children
        return list(children.values())

    def fold(self) -> None:
        """Fold dead writers (and, for a sidecar, ended runs) so a scrape seldom pays for it."""
        with self._lock:
            self.aggregator.compact()
            for agg in self._children():
                agg.compact()
            if self.sidecar:
                claims = {a.dir.path: fd for a in self._runs.values() if (fd := claim_ended(a.dir.path)) is not None}
                try:
                    if claims:
                        self.aggregator.fold_directories(
                            [self._runs[p] for p in claims], lambda run: self._remove_run(run, claims)
                        )
                finally:
                    for fd in claims.values():
                        os.close(fd)

    def _remove_run(self, run: Directory, claims: dict[str, int]) -> None:
        """An ended run, folded into the sidecar's archive: removed, under the lock that says it ended."""
        remove_claimed(run.path, claims.pop(run.path))
        self._runs.pop(run.path, None)

    def _series(self) -> Series:
        with self._lock:
            self.fold()
            return self.aggregator.collect(self._children())

    def authorized(self, header: str | None) -> bool:
        if not self._expected:
            return True
        scheme, _, text = (header or "").partition(" ")
        scheme = scheme.lower()  # the scheme is case-insensitive (RFC 7235)
        try:
            # http.server decodes header bytes as ISO-8859-1: encoding back gives the bytes the
            # client sent, so a token is compared as the UTF-8 bytes a client sends for it
            given = text.encode("iso-8859-1")
        except UnicodeEncodeError:
            return False
        ok = False
        for expected_scheme, expected in self._expected:  # compare against all, constant time
            ok |= hmac.compare_digest(given, expected) & (scheme == expected_scheme)
        return ok

    def respond(self, headers: Headers) -> tuple[int, dict[str, str], bytes]:
        if not self.authorized(headers.get("Authorization")):
            return (
                401,
                {"WWW-Authenticate": 'Basic realm="litellm_observe"', "Content-Type": "text/plain"},
                b"unauthorized\n",
            )
        body, content_type, extra = self.render(headers.get("Accept"), headers.get("Accept-Encoding"))
        return 200, {"Content-Type": content_type, **extra}, body


def run(
    directory: str,
    settings: settings_mod.Settings,
    root: Root | None,
    address: str | None = None,
    port: int | None = None,
) -> int:
    """Serve until the root process is gone. Without a root (the `serve-metrics` sidecar)
    serve forever, beside any other reader: folding is guarded by its own lock.

    A run's exporter holds the run's directory lock (rundir/runs.py) and its exporter lock for life;
    when the directory is removed under the live run, it makes it again (`_remake`). A sidecar holds a
    shared flock on the directory it serves, so age-based cleaners skip it."""
    d = Directory(directory)
    share_with_group(settings.metrics_dir_group_shared)
    membership: Membership | None = None
    try:
        private_dir(directory, create=False)
        if root is not None:
            path = os.path.abspath(directory)
            membership = Membership(os.path.dirname(path), os.path.basename(path), create=False)
        else:
            hold_dir(directory)  # for the sidecar's life
    except OSError as e:
        log.error(
            "litellm_observe: cannot serve %s: %s", directory, e.strerror if isinstance(e, UnsafeDirectory) else e
        )
        return EXIT_UNSAFE
    lock = None
    if root is not None:
        lock = hold(d.exporter_lock)
        if lock is None:
            assert membership is not None  # made above for a run's exporter
            membership.close()
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
            log.error(
                "litellm_observe: exporter cannot listen on %s:%s: %s. Metrics are not served until it can; "
                "the proxy keeps serving and the exporter is retried quietly (backing off to once a minute; "
                "this message repeats at most every %d minutes). Free the port or set litellm_observe.port.",
                address,
                port,
                e,
                BIND_LOG_SECONDS // 60,
            )
        elif speak:
            log.error(
                "litellm_observe: exporter still cannot listen on %s:%s after %d attempts: %s",
                address,
                port,
                attempts,
                e,
            )
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
                if membership is not None and (membership.lost() or lock is None):
                    lock = _remake(exporter, membership, lock)
                exporter.fold()
            except Exception:
                log.exception("litellm_observe: folding dead workers failed; the next scrape retries")
    except KeyboardInterrupt:
        pass
    server.shutdown()
    if root is not None and not handshakes.left_to_sidecar(d):
        shutil.rmtree(directory, ignore_errors=True)  # the run is over: leave nothing behind
    if membership is not None:
        membership.close()
    return 0


def _remake(exporter: Exporter, membership: Membership, lock: int | None) -> int | None:
    """The run directory was removed under the live run (or, after that, a worker's exporter held the new
    one's lock for a moment): make the directory again, or join the one a worker made, take the exporter
    lock there, and publish this exporter's own counters again. The aggregator restores the rest at its
    next read (exporter/aggregate.py). Returns the exporter lock's descriptor, None when not taken yet."""
    if membership.lost():
        if lock is not None:
            os.close(lock)
            lock = None
        directory = membership.rejoin()
        exporter.republish()
        if first_to_notice(directory):
            exporter.count_internal_error("run_directory")
            log.error(
                "litellm_observe: the run directory %s was removed while the proxy ran (by a cleaner of old "
                "files that ignores locks, or by hand); made it again: every worker's counts are kept, those "
                "of workers that ended in the last second before may be lost. Keep metrics_dir where no "
                "cleaner runs (README: Containers and cleaners).",
                directory.path,
            )
    if lock is None:
        lock = hold(membership.directory.exporter_lock)
        if lock is not None:
            write_atomically(membership.directory.exporter_pid, str(os.getpid()).encode())
    return lock
