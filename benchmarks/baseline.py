"""Run a benchmark against an earlier version of the package, side by side with this one.

`extract(ref)` writes the `litellm_observe` package as it was at git revision `ref` into a
temporary folder; a child process started with that folder first on PYTHONPATH imports
that version instead of the installed one. The helpers below import what a benchmark
needs from either layout (before and after the worker/ exporter/ rundir/ split).
"""

from __future__ import annotations

import importlib
import io
import os
import subprocess
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def extract(ref: str) -> str:
    """A folder holding `litellm_observe/` as of `ref` (to put first on PYTHONPATH)."""
    data = subprocess.run(
        ["git", "-C", ROOT, "archive", "--format=tar", ref, "litellm_observe"], capture_output=True, check=True
    ).stdout
    folder = tempfile.mkdtemp(prefix=f"bench-baseline-{ref[:12]}-")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _first(*names: str):
    """The first of `names` that exists in the version of the package actually imported (an editable
    install could otherwise lend a module of the newer layout to the older package)."""
    import litellm_observe

    root = os.path.dirname(litellm_observe.__file__)
    for name in names:
        relative = name.split(".")[1:]
        if os.path.exists(os.path.join(root, *relative) + ".py") or os.path.isdir(os.path.join(root, *relative)):
            return importlib.import_module(name)
    raise ModuleNotFoundError(names[0])


def logger_class():
    return _first("litellm_observe.worker.logger", "litellm_observe.logger").ObserveLogger


def aggregator_class():
    return _first("litellm_observe.exporter.aggregate", "litellm_observe.aggregate").Aggregator


def exporter_class():
    return _first("litellm_observe.exporter.service", "litellm_observe.exporter").Exporter


def worker_store(run_dir: str):
    """A sample file writer in `run_dir` (SampleWriter, formerly WorkerStore), whatever its constructor takes in
    this version."""
    module = _first("litellm_observe.rundir.writer", "litellm_observe.rundir.store", "litellm_observe.store")
    writer = getattr(module, "SampleWriter", None) or module.WorkerStore
    try:
        return writer(run_dir)
    except TypeError:
        from litellm_observe.catalogue import CATALOGUE

        return writer(run_dir, {m.name: m.value_slots() for m in CATALOGUE})


def sample_files(exporter) -> list:
    agg = exporter.aggregator
    return agg.dir.sample_files() if hasattr(agg, "dir") else agg.worker_files()
