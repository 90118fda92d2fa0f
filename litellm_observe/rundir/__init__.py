"""The run directory: where workers leave samples and the exporter finds them, and the protocol between
them. The worker side (`worker/`) and the exporter side (`exporter/`) both follow it and never import
each other. One module per concern:

  layout.py      every name in a base and a run directory, the base directory's policy, `Directory`
  files.py       opening, creating and replacing files, and every lock the package takes
  runs.py        which run a process belongs to, and whether a run lives (directory locks)
  handshakes.py  the exporter's start and exit codes, a sidecar taking ended runs over
  samplefile.py  the format of one sample file (as prometheus_client's mmap_dict.py)
  writer.py      writes one (a worker's samples, the exporter's own counters)
  record.py      names the labels of every write, one method per catalogue metric

The tree:

  <base>/                       litellm_observe-<uid> in the temp dir, or the configured
                                metrics_dir; checked on every start (layout.private_dir); every
                                process of a live run holds a shared flock on it (runs.py)
    sidecar.lock                held by a `serve-metrics` sidecar serving the base
    w-*.lob, archive.lob        the sidecar's own counters and the runs it folded
    .new-run-*, .gone-run-*     a run directory being made, or removed (runs.py)
    run-<pid>-<start>-<ns>/     one proxy run, named after its root process and its PID
                                namespace (runs.py); every process of the run holds a
                                shared flock on it for life: the run lives while one does
      w-<pid>-<rand>.lob        one sample file per live writer, flock held for life
      .creating-w-<pid>-<rand>.lob  being created: locked from before anything sees it,
                                never read nor removed (a writer killed there leaves
                                it to the run's removal)
      w-<pid>-<rand>.lob.new    made by earlier versions while being created; removed
                                once its lock is free
      archive.lob               what dead writers left (written whole, then renamed)
      *.corrupt                 a dead writer's file that did not parse, set aside
      compact.lock              folding (exclusive) excludes reading (shared)
      exporter.lock             held by the run's one exporter for its whole life
      exporter.pid              the exporter's pid, written once it listens
      exporter.bindfail         failed attempts to listen and when one was last logged (gone once it listens)
      spawn.lock                the worker that starts an exporter holds it meanwhile
      remade                    made by the first process to notice the directory was removed
      labels/<label>.values     label values admitted in this run, one JSON per line
      resets/<sha256 prefix>    budget reset claims, an 8-byte stamp each
      cooldowns/<end>-<sha256>  deployment cooldown claims: empty files created with O_EXCL,
                                so one cooldown seen by several workers counts once

Handshakes:
- A writer creates `.creating-<name>`, takes an exclusive flock on it, writes the header,
  then renames it to `<name>`: a visible sample file is always complete and locked
  while its writer lives. Whoever can take that flock knows the writer is gone. Nothing
  removes a `.creating-` file, so no reader can take one for abandoned between its
  creation and its lock (a `.new` name once let a compaction delete it there).
- A dead writer's file is folded into `archive.lob` under `compact.lock` held
  exclusively; readers hold it shared, so no reader counts a writer twice.
- A run ends when its root process is gone (its exporter, in the root's PID namespace,
  watches the root) and, for everyone else, when no process holds its directory's flock
  (runs.py). Its exporter then deletes the run directory, unless a sidecar holds
  `sidecar.lock` in the base: then the sidecar folds the run into the base's archive and
  deletes it (so its totals never drop).
"""
