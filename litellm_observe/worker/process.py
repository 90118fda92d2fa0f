"""One worker process's state, built once per process.

The proxy may build the logger in one process and fork its workers from it: each process builds its own
state (its sample file, its place in the run, its label caps, ...) when its first hook runs, and a forked
child never writes through its parent's. A fork is seen through os.register_at_fork (a generation count),
not by a getpid() per hook. While the state cannot be built (an unwritable, full or unsafe directory) metrics
are off in that process, the proxy keeps serving, and it is tried again every _STORE_RETRY_SECONDS.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from .. import compat
from .. import settings as settings_mod
from ..catalogue import INTERNAL_ERRORS
from ..rundir import handshakes, layout, runs
from ..rundir.record import Recorder
from ..rundir.writer import SampleWriter
from .budgets import BudgetResets
from .calls import CallBook
from .deployments import CooldownWatch
from .errors import HOOKS, InternalError
from .health import WorkerHealth
from .labels import LabelCaps, Labeller
from .recording import Recording
from .timers import Timers

log = logging.getLogger("litellm_observe")
_STORE_RETRY_SECONDS = 30.0  # a process whose sample file could not be created tries again this often

_generation = 0  # forks between this interpreter's start and this process: a child's state is not its parent's


def _forked() -> None:
    global _generation
    _generation += 1


os.register_at_fork(after_in_child=_forked)


class WorkerProcess:
    """Everything one worker process keeps: its sample file (`writer`) and the Recorder that writes it, its
    place in the run (`membership`; None in a fixed run directory), its labeller (label caps shared with the
    run's other workers), budget resets, cooldown watch, health, the requests in flight (`calls`), the
    deployment states it wrote (`recording.states`), its timers. flow.py's functions take it."""

    def __init__(
        self,
        *,
        writer: SampleWriter,
        rec: Recorder,
        directory: layout.Directory,
        membership: runs.Membership | None,
        labels: Labeller,
        budgets: BudgetResets,
        cooldowns: CooldownWatch,
        health: WorkerHealth,
        calls: CallBook,
        recording: Recording,
        timers: Timers,
        inflight_timeout: float,
        internal_error: InternalError,
        attribution: tuple[str, ...] = (),
        batch_seconds: float = 0.0,
    ):
        self.generation, self.pid = _generation, os.getpid()
        self.writer, self.rec, self.directory, self.membership = writer, rec, directory, membership
        self.labels, self.budgets, self.cooldowns, self.health = labels, budgets, cooldowns, health
        self.calls, self.recording, self.timers = calls, recording, timers
        self.inflight_timeout = inflight_timeout
        self.internal_error = internal_error
        self.attribution = attribution  # the caller dimensions turned on (settings.attribution)
        self.next_sweep = 0.0  # when requests that never ended are next looked for (flow.py)
        # Hook calls waiting for their batch (logger.py): (hook, act, what its reader read, monotonic, wall
        # clock), in the order they were made; `batch_seconds` 0: none wait. `mono` and `wall` are the clock
        # readings of the call being handled (taken when the hook was called): flow.py reads the time from them,
        # never the clocks.
        self.batch_seconds = batch_seconds
        self.pending: deque[tuple[str, Callable[..., None], tuple[Any, ...], float, float]] = deque()
        # Held while acts run in batches (record_pending, act_now): re-entrant, as act_now records first
        self.batch_lock = threading.RLock()
        self.mono, self.wall = 0.0, 0.0

    def record_pending(self) -> None:
        """Record the hook calls waiting for their batch, in the order they were made, each with the clock readings
        of its call; what one raises is counted under its hook and the rest go on; then what they kept
        (Recording.write_kept: in-flight changes, budgets). All under the batch lock, so one thread at a time
        records and writes what the acts kept, and nothing is kept meanwhile. Safe against a thread that queues
        meanwhile (a deque's append and popleft are atomic): whoever queues into an empty deque makes sure a batch
        follows (logger.py)."""
        pending = self.pending
        with self.batch_lock:
            while True:
                try:
                    hook, handler, args, self.mono, self.wall = pending.popleft()
                except IndexError:
                    break
                try:
                    handler(self, *args)
                except Exception as e:
                    self.internal_error(hook, e)
            try:
                self.recording.write_kept()  # in batches, once per batch (recording.py)
            except Exception as e:
                self.internal_error("batch", e)

    def act_now(self, handler: Callable[..., None], *args: Any) -> None:
        """Run `handler(self, *args)` now (a timer's act, a settle by hand), timed as now, after the hook calls
        waiting, and write what it kept (Recording.write_kept), under the batch lock as record_pending. What
        `handler` raises reaches the caller, after the write."""
        with self.batch_lock:
            if self.pending:
                self.record_pending()
            self.mono, self.wall = time.monotonic(), time.time()
            try:
                handler(self, *args)
            finally:
                self.recording.write_kept()

    def start_probe(self) -> None:
        """The loop-lag probe needs this worker's event loop: the proxy builds the logger inside it at
        start-up; elsewhere the first hook that runs in a loop starts it. Batches run on that loop too."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no running loop here
        self.health.start_probe(loop)

    def keep_run(self) -> bool:
        """When the run directory (or this process's sample file) was removed under this process, by a cleaner
        that ignores locks or by hand: make it again, publish this process's sample file there again, every
        value kept, and go on counting. The first process of the run to notice logs it and counts it in
        observe_internal_errors{hook="run_directory"}; the exporter keeps what the run's dead workers had left
        (exporter/service.py). True when it did."""
        membership, writer = self.membership, self.writer
        if membership is None or membership.pid != os.getpid():
            return False
        lost = membership.lost()
        if not lost and not writer.unlinked():
            return False
        try:
            directory = membership.rejoin() if lost else membership.directory
            writer.republish(directory)
        except OSError as e:
            self.internal_error("run_directory", e)
            return False
        if handshakes.first_to_notice(directory):
            self.rec.observe_internal_errors(hook="run_directory")  # reserved: needs no new space
            log.error(
                "litellm_observe: the run directory %s was removed while the proxy ran (by a cleaner of old "
                "files that ignores locks, or by hand); made it again: every worker's counts are kept, those of "
                "workers that ended in the last second before may be lost. Keep metrics_dir where no cleaner "
                "runs (README: Containers and cleaners).",
                directory.path,
            )
        return True


class Processes:
    """The logger's WorkerProcess: `current()` builds it when this process has none (or retries, when due),
    `live()` only looks. `disabled_reason` says why metrics are off, None while they are on. logger.py's guard
    tests current()'s first answer itself (`_process` of this generation, probing), before calling either."""

    def __init__(
        self,
        settings: settings_mod.Settings,
        *,
        run_directory: str | None,
        model_names: Callable[[], Iterable[str] | None],
        caching_on: Callable[[], bool],
        router: Callable[[], object | None],
        start_exporter: bool,
        internal_error: InternalError,
        keep_run: Callable[[], bool],
        on_settle: Callable[[], None],
        read_cooldowns: Callable[[], Coroutine[Any, Any, None]],
    ):
        self._settings = settings
        self._fixed_run_directory = run_directory
        self._model_names, self._caching_on, self._router = model_names, caching_on, router
        self._start_exporter = start_exporter
        self._internal_error, self._keep_run = internal_error, keep_run
        self._on_settle, self._read_cooldowns = on_settle, read_cooldowns
        self._process: WorkerProcess | None = None
        self._membership: runs.Membership | None = None  # the latest made by this logger
        self._tried_in = -1  # the generation of the last attempt to build a process
        self._retry_at = 0.0
        self._warned_version = False
        self.disabled_reason: str | None = None
        self.run_directory: str | None = None  # the latest built process's

    def live(self) -> WorkerProcess | None:
        """This process's state, or None (not built, or a forked child's copy of its parent's)."""
        p = self._process
        return p if p is not None and p.generation == _generation else None

    def current(self) -> WorkerProcess | None:
        """This process's state, built if needed; None while metrics are off here."""
        p = self._process
        if p is not None and p.generation == _generation:
            if p.health.loop is None:  # not probing yet (the attribute, not the property: every hook call)
                p.start_probe()
            return p
        if self._tried_in == _generation and time.monotonic() < self._retry_at:
            return None
        self._tried_in = _generation
        self._process = None
        return self._open()

    def _open(self) -> WorkerProcess | None:
        settings, fixed = self._settings, self._fixed_run_directory
        root = None
        base = fixed or layout.base_dir(settings.metrics_dir)
        writer = None
        try:
            if fixed:
                directory, membership = layout.prepare(fixed), None
            else:
                root = runs.current_root()
                if self._membership is not None and self._membership.pid == os.getpid():
                    # a retry after a failure in this process (a forked child keeps its parent's)
                    self._membership.close()
                self._membership = membership = runs.Membership(base, root.name)
                directory = membership.directory
                runs.remove_dead_runs(base, keep=root)
            writer = SampleWriter(directory)
            for hook in HOOKS:
                writer.reserve(INTERNAL_ERRORS.name, (hook,))
            process = self._build(writer, directory, membership)
        except OSError as e:
            if writer is not None:
                writer.close()
            self._retry_at = time.monotonic() + _STORE_RETRY_SECONDS
            if self.disabled_reason is None:
                where = f" ({e.filename})" if e.filename and e.filename != base else ""
                self.disabled_reason = (
                    e.strerror
                    if isinstance(e, layout.UnsafeDirectory)
                    else (f"cannot write metrics to {base}: {e.strerror or e}{where}")
                )
                log.error(
                    "litellm_observe: %s; metrics are OFF in process %s, the proxy keeps serving; retrying "
                    "every %d s. Set litellm_observe.metrics_dir to a writable directory with free space.",
                    self.disabled_reason,
                    os.getpid(),
                    _STORE_RETRY_SECONDS,
                )
            return None
        if self.disabled_reason is not None:
            log.warning("litellm_observe: metrics are ON again in process %s (%s)", os.getpid(), directory.path)
            self.disabled_reason = None
        self._process, self.run_directory = process, directory.path
        process.health.started()
        process.start_probe()
        _, warning = compat.startup_line()
        if warning and not self._warned_version:  # once per logger; the exporter logs the line itself
            self._warned_version = True
            log.warning(warning)
        if root is not None:
            from .supervisor import ExporterSupervisor

            ExporterSupervisor(
                directory, root, settings, keep_run=self._keep_run, start_exporters=self._start_exporter
            ).start()
        return process

    def _build(
        self, writer: SampleWriter, directory: layout.Directory, membership: runs.Membership | None
    ) -> WorkerProcess:
        settings = self._settings
        rec = Recorder(writer)

        def overflowed(label: str) -> None:
            rec.observe_label_overflow(label=settings_mod.cap_label(label))

        labels = Labeller(LabelCaps(settings.cap_for, directory, overflowed), self._model_names)
        budgets = BudgetResets(directory)
        calls = CallBook()
        process = WorkerProcess(
            writer=writer,
            rec=rec,
            directory=directory,
            membership=membership,
            labels=labels,
            budgets=budgets,
            cooldowns=CooldownWatch(directory, self._router),
            health=WorkerHealth(rec, self._internal_error),
            calls=calls,
            recording=Recording(
                rec, labels, calls, budgets, self._caching_on, batched=settings.event_batch_seconds > 0
            ),
            timers=Timers(self._on_settle, self._read_cooldowns),
            inflight_timeout=settings.inflight_timeout_seconds,
            internal_error=self._internal_error,
            attribution=settings.attribution,
            batch_seconds=settings.event_batch_seconds,
        )
        process.health.before_exit = process.record_pending  # a clean exit records what waits first
        return process
