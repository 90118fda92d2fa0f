"""Label values that never lie and never explode.

- `clean` turns anything into a valid, bounded label value; missing values become `unknown`.
- `LabelCaps` admits at most N distinct values per label per proxy run, shared by all
  workers through files in the run directory so the admitted set survives worker
  recycling; past the cap a value becomes `overflow`.
- `Labeller` is what the recording code asks: a raw value (as an observation carries it) in, its label
  value out, cleaned and capped; a model group is also checked against the proxy's model list.
"""

from __future__ import annotations

import fnmatch
import json
import os
import threading
import time
from collections.abc import Callable, Iterable

from ..rundir.files import lock_exclusively, open_file
from ..rundir.layout import Directory, private_dir
from .callers import private

UNKNOWN = "unknown"  # the value was missing, None, "None", "null" or empty
UNLISTED = "unlisted"  # a model name that is not in the proxy's model list
OVERFLOW = "overflow"  # the label had reached its cap of distinct values
REDACTED = "redacted"  # a caller value that looked like a secret, an e-mail, an IP address or a user agent
SENTINELS = frozenset((UNKNOWN, UNLISTED, OVERFLOW, REDACTED))
MAX_LENGTH = 120
_MISSING = frozenset(("", "none", "null", "nil", "undefined", "nan"))
_INT_LIMIT = 10**MAX_LENGTH


def clean(value: object) -> str:
    """A label value: never empty, never a literal None/null, at most MAX_LENGTH
    characters, no control characters, always encodable as UTF-8. Bounded work whatever
    the input: a long value is cut before anything else looks at it."""
    if (
        type(value) is str
        and 0 < len(value) <= MAX_LENGTH
        and value.isascii()
        and value.isprintable()
        and not value[0].isspace()
        and not value[-1].isspace()
    ):
        return UNKNOWN if value.lower() in _MISSING else value  # the common case, in one test
    if value is None or isinstance(value, bool):
        return UNKNOWN if value is None else str(value).lower()
    if not isinstance(value, str):
        if not isinstance(value, (int, float)):
            return UNKNOWN
        if isinstance(value, int) and not -_INT_LIMIT < value < _INT_LIMIT:
            return UNKNOWN  # too long for a label anyway; printing it costs time
        value = str(value)
    value = str(value[:MAX_LENGTH])  # nothing below sees more (str(): a subclass's slice stays plain)
    value = value.encode("utf-8", "replace").decode("utf-8")
    value = "".join(ch if ch.isprintable() else " " for ch in value).strip()
    return UNKNOWN if value.lower() in _MISSING else value


class LabelCaps:
    """Admits label values up to a cap per label; one instance per process."""

    def __init__(
        self,
        cap_for: Callable[[str], int],
        directory: Directory | str | None = None,
        on_overflow: Callable[[str], None] | None = None,
    ):
        self._cap_for = cap_for
        self._dir = Directory(directory) if isinstance(directory, str) else directory
        if self._dir is not None:
            private_dir(self._dir.labels_dir)
        self._on_overflow = on_overflow or (lambda label: None)
        self._admitted: dict[str, set[str]] = {}
        self._offsets: dict[str, int] = {}
        self._full: set[str] = set()
        self._lock = threading.Lock()

    def admit(self, label: str, value: str) -> str:
        seen = self._admitted.get(label)
        if seen is not None and value in seen:
            return value
        if value in SENTINELS:
            return value
        with self._lock:
            return self._admit_slow(label, value)

    def admitted(self, label: str) -> frozenset[str]:
        return frozenset(self._admitted.get(label, ()))

    def _admit_slow(self, label: str, value: str) -> str:
        seen = self._admitted.setdefault(label, set())
        cap = self._cap_for(label)
        if label not in self._full:
            if self._dir is None:
                if len(seen) < cap:
                    seen.add(value)
                    return value
                self._full.add(label)
            else:
                if self._admit_shared(self._dir, label, value, seen, cap):
                    return value
        if value in seen:
            return value
        self._on_overflow(label)
        return OVERFLOW

    def _admit_shared(self, directory: Directory, label: str, value: str, seen: set[str], cap: int) -> bool:
        """Read values other workers admitted, then append ours if there is room."""
        fd = open_file(directory.label_values(label), os.O_RDWR | os.O_CREAT | os.O_APPEND)
        try:
            lock_exclusively(fd)
            start = self._offsets.get(label, 0)
            size = os.fstat(fd).st_size
            if size > start:
                data = os.pread(fd, size - start, start)
                end = data.rfind(b"\n") + 1
                for line in data[:end].splitlines():
                    try:
                        seen.add(json.loads(line))
                    except ValueError:
                        pass  # a torn line from a killed writer: skip it
                self._offsets[label] = start + end
            if value in seen:
                return True
            if len(seen) >= cap:
                self._full.add(label)
                return False
            os.write(fd, json.dumps(value).encode() + b"\n")
            self._offsets[label] = os.fstat(fd).st_size
            seen.add(value)
            return True
        finally:
            os.close(fd)  # closing releases the flock


MODEL_REFRESH_SECONDS = 10.0
MAX_REMEMBERED = 8192


class Labeller:
    """Label values of one process. `model_names` gives the proxy's public model groups (wildcard entries
    included), or None outside a proxy, where every name is a model group; it is asked again at most every
    MODEL_REFRESH_SECONDS, and only for a name not seen in the list.

    Answers for text values are remembered (at most MAX_REMEMBERED, forgotten all at once when full, and at
    every read of the model list), but never `overflow` (counted at every sighting) nor `unlisted` (looked up
    again as the list may have grown): a remembered answer is the one the caps and the list give now, since
    an admitted value stays admitted for the run."""

    def __init__(self, caps: LabelCaps, model_names: Callable[[], Iterable[str] | None]):
        self._caps = caps
        self._model_names = model_names
        self._known: set[str] = set()
        self._patterns: list[str] = []
        self._checked = 0.0
        self._any_model = False  # outside a proxy (no model list): every name is a model group
        self._remembered: dict[tuple[str | None, str], str] = {}  # (label name, or None for a model; value)
        # Goes up whenever a remembered answer may change (the model list read anew): what a caller remembers of
        # this labeller's answers holds while it stays the same (recording.py's success series by raw values)
        self.generation = 0

    def _remember(self, key: tuple[str | None, str], answer: str) -> str:
        if answer is not OVERFLOW and answer is not UNLISTED:
            if len(self._remembered) >= MAX_REMEMBERED:
                self._remembered.clear()
            self._remembered[key] = answer
        return answer

    def label(self, name: str, value: object) -> str:
        """`name`'s label value for `value` (an `entity.<type>` name is capped per entity type)."""
        if type(value) is str:
            answer = self._remembered.get((name, value))
            if answer is None:
                answer = self._remember((name, value), self._caps.admit(name, clean(value)))
            return answer
        if value is None:  # a key without a team, an event without a deployment: common, and always unknown
            return UNKNOWN
        return self._caps.admit(name, clean(value))

    def caller(self, dimension: str, value: object) -> str:
        """A caller's label value in one attribution dimension (capped per dimension as `caller.<dimension>`):
        never a value that looks private (callers.private), which is `redacted`."""
        cleaned = clean(value)
        if cleaned not in SENTINELS and private(cleaned):
            return REDACTED
        return self._caps.admit("caller." + dimension, cleaned)

    def team(self, value: object) -> str:
        return self.label("team", value)

    def model(self, name: object) -> str:
        """A model group label: a group of the proxy's model list (or the wildcard entry it matches),
        `unlisted` for any other name, `unknown` when missing."""
        if type(name) is str:
            answer = self._remembered.get((None, name))
            if answer is None:
                answer = self._remember((None, name), self._model(name))
            return answer
        return self._model(name)

    def _model(self, name: object) -> str:
        value = clean(name)
        if value == UNKNOWN:
            return value
        if value not in self._known and not self._any_model:
            now = time.monotonic()
            if now - self._checked > MODEL_REFRESH_SECONDS or not self._checked:
                self._checked = now
                self._remembered.clear()  # read anew: what was answered from the old list may differ now
                self.generation += 1
                names = self._model_names()
                self._any_model = names is None
                if names is None:  # not inside a proxy: every name is a model group
                    return self._caps.admit("model", value)
                cleaned = [clean(n) for n in names]
                self._known = {n for n in cleaned if "*" not in n}
                self._patterns = [n for n in cleaned if "*" in n]
            if value not in self._known:
                match = next((p for p in self._patterns if fnmatch.fnmatchcase(value, p)), None)
                if match is None:
                    return UNLISTED
                value = match
        return self._caps.admit("model", value)
