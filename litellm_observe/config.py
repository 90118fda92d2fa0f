"""The optional `litellm_observe:` section of the proxy's config.yaml and its `LITELLM_OBSERVE_*`
environment overrides, read into frozen dataclasses.

Two readers own the section's keys: the runtime settings (settings.py: what a proxy needs) and the
generation options (generators/options.py: `dashboards:` and `alerts:`). This module is what they
share: where the section comes from, how the environment overrides it, and how a mapping becomes a
dataclass. Invariants: a bad value raises SettingsError naming `litellm_observe.<key>` and never
shows a secret; an environment variable overrides its key alone (siblings survive); a string
setting takes an environment value as written, any other reads it as YAML; a dataclass field's
config key is its name without a trailing underscore (`for_` is `for`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from .catalogue import CALLER_DIMENSIONS, METADATA_DIMENSION_PREFIX, all_labels

SECTION = "litellm_observe"
ENV_PREFIX = "LITELLM_OBSERVE_"
SECRETS = frozenset({"bearer_token", "basic_auth_password"})
STRING_KINDS = ("str", "str | None")


SHOWN_CHARS = 80  # at most this much of a wrong value is quoted in an error
MAX_VALUES = 10_000  # values in the section, counted with YAML aliases expanded (an alias bomb is refused)
REDACTED = "***"


class SettingsError(ValueError):
    """A setting is wrong; the message names `litellm_observe.<key>`."""


def redacted(value: Any, budget: list[int] | None = None) -> Any:
    """A copy of `value` for a message: every value under a secret's key, at any depth, replaced by ***;
    at most a few hundred values copied (the rest cut), whatever aliases the YAML had."""
    budget = [400] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0:
        return _CUT
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if isinstance(k, str) and k in SECRETS else redacted(v, budget))
            for k, v in list(value.items())[:50]
        }
    if isinstance(value, (list, tuple)):
        return [redacted(v, budget) for v in value[:50]]
    if isinstance(value, str) and len(value) > SHOWN_CHARS:
        return value[:SHOWN_CHARS]
    return value


class _Cut:
    def __repr__(self) -> str:
        return "..."


_CUT = _Cut()


def shown(value: Any) -> str:
    """A wrong value as an error quotes it: secrets redacted at every depth, cut to SHOWN_CHARS."""
    text = repr(redacted(value))
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "... (cut)"


def check(key: str, ok: bool, message: str, value: Any) -> None:
    if not ok:
        quoted = f"a value of type {type(value).__name__}" if key.split(".")[-1] in SECRETS else shown(value)
        raise SettingsError(f"{SECTION}.{key}: {message}, got {quoted}")


def bounded(section: Any) -> None:
    """Refuse a section with more than MAX_VALUES values once YAML aliases are expanded (nested aliases
    grow exponentially: 530 bytes held billions), in time bounded by MAX_VALUES."""
    todo, seen = [section], 0
    while todo:
        value = todo.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise SettingsError(
                f"{SECTION}: more than {MAX_VALUES} values once YAML aliases are expanded; "
                "refusing it (a settings section is a few dozen values)"
            )
        if isinstance(value, Mapping):
            todo.extend(value.values())
        elif isinstance(value, (list, tuple)):
            todo.extend(value)


def config_key(field: dataclasses.Field) -> str:
    return field.name.rstrip("_")


def is_group(field: dataclasses.Field) -> bool:
    """A field holding a dataclass of its own, read from a nested mapping."""
    return bool(field.metadata.get("group"))


def coerce(key: str, ftype: str, value: Any) -> Any:
    """Check one value against a dataclass field's type (as written in the annotation)."""
    if ftype == "float":
        check(key, not isinstance(value, float) or math.isfinite(value), "must be a finite number", value)
    if ftype == "bool":
        check(key, isinstance(value, bool), "must be true or false", value)
    elif ftype == "int":
        check(key, isinstance(value, int) and not isinstance(value, bool), "must be an integer", value)
    elif ftype == "float":
        check(key, isinstance(value, (int, float)) and not isinstance(value, bool), "must be a number", value)
        value = float(value)
    elif ftype == "str":
        check(key, isinstance(value, str), "must be a string", value)
    elif ftype == "str | None":
        check(key, value is None or isinstance(value, str), "must be a string", value)
    elif ftype == "tuple[str, ...]":
        check(
            key,
            isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value),
            "must be a list of strings",
            value,
        )
        value = tuple(value)
    elif ftype == "Mapping[str, int]":
        check(key, isinstance(value, dict), "must be a mapping of label name to integer", value)
        for label, cap in value.items():
            known = label in all_labels() or label in CALLER_DIMENSIONS
            known = known or (isinstance(label, str) and label.startswith(METADATA_DIMENSION_PREFIX))
            check(
                f"{key}.{label}",
                known,
                f"unknown label (known: {', '.join(all_labels())}, and the caller dimensions "
                f"{', '.join(CALLER_DIMENSIONS)}, metadata.<key>)",
                label,
            )
            check(
                f"{key}.{label}",
                isinstance(cap, int) and not isinstance(cap, bool) and cap >= 1,
                "must be an integer >= 1",
                cap,
            )
        value = dict(value)
    return value


def build(cls: type, data: Any, prefix: str = "", also_known: tuple[str, ...] = ()) -> Any:
    """`cls` from a mapping: every key known, every value of its field's type and passing the
    field's own check (metadata `ok`, `must_be`); groups built from their nested mapping."""
    if not isinstance(data, Mapping):  # its type only: a string here may be a whole section, secrets and all
        raise SettingsError(
            f"{SECTION}{'.' + prefix.rstrip('.') if prefix else ''}: must be a mapping, got a {type(data).__name__}"
        )
    fields = {config_key(f): f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            known = ", ".join(sorted([*fields, *also_known]))
            name = key if isinstance(key, str) and len(key) <= SHOWN_CHARS and key.isprintable() else shown(key)
            raise SettingsError(f"{SECTION}.{prefix}{name}: unknown setting (known: {known})")
        f = fields[key]
        if is_group(f):
            kwargs[f.name] = build(f.metadata["group"], {} if value is None else value, f"{prefix}{key}.")
            continue
        value = coerce(prefix + key, str(f.type), value)
        if "ok" in f.metadata:
            check(prefix + key, f.metadata["ok"](value), "must be " + f.metadata["must_be"], value)
        kwargs[f.name] = value
    return cls(**kwargs)


def string_kind(cls: type, path: list[str]) -> str | None:
    """'str' or 'str | None' when the setting at `path` below `cls` is a string, else None."""
    for i, part in enumerate(path):
        f = next((f for f in dataclasses.fields(cls) if config_key(f) == part), None)
        if f is None:
            return None
        if i == len(path) - 1:
            return str(f.type) if str(f.type) in STRING_KINDS else None
        if not is_group(f):
            return None
        cls = f.metadata["group"]
    return None


def env_overrides(
    environ: Mapping[str, str], wanted: Callable[[str], bool], kind: Callable[[list[str]], str | None]
) -> dict:
    """The `LITELLM_OBSERVE_*` variables whose top-level key is `wanted`, as a nested mapping;
    `kind(path)` tells a string setting (taken as written) from any other (read as YAML)."""
    out: dict = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        if not wanted(path[0]):
            continue
        try:
            string = kind(path)
            # ... and an empty secret stays empty, so it is an error rather than auth silently off
            keep_empty = string == "str" or path[-1] in SECRETS
            value = (raw if raw or keep_empty else None) if string else yaml.safe_load(raw) if raw != "" else None
            bounded(value)
        except yaml.YAMLError as e:
            raise SettingsError(
                f"{SECTION}.{'.'.join(path)} (from {name}): not a YAML value: {_yaml_problem(e)}"
            ) from None
        target, where = out, []
        for part in path[:-1]:
            where.append(part)
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise SettingsError(
                    f"{SECTION}.{'.'.join(where)}: set both as a value and as a section "
                    f"(by {ENV_PREFIX}{'__'.join(where).upper()} and {name})"
                )
        if isinstance(target.get(path[-1]), dict):
            raise SettingsError(
                f"{SECTION}.{'.'.join(path)}: set both as a value and as a section "
                f"(by {name} and {ENV_PREFIX}{'__'.join(path).upper()}__...)"
            )
        target[path[-1]] = value
    return out


def merge(base: Mapping, over: Mapping) -> dict:
    merged = dict(base)
    for k, v in over.items():
        merged[k] = merge(merged[k], v) if isinstance(v, dict) and isinstance(merged.get(k), dict) else v
    return merged


def proxy_config_path(environ: Mapping[str, str] = os.environ) -> str | None:
    """Where the running proxy's config.yaml is, as far as a worker can tell."""
    explicit = environ.get(ENV_PREFIX + "CONFIG") or environ.get("CONFIG_FILE_PATH")
    if explicit:
        return explicit
    server = sys.modules.get("litellm.proxy.proxy_server")
    path = getattr(server, "user_config_file_path", None)
    if isinstance(path, str) and path:
        return path
    worker = environ.get("WORKER_CONFIG")
    if worker:
        try:
            data = json.loads(worker)
        except ValueError:
            return worker if os.path.isfile(worker) else None
        if isinstance(data, dict) and isinstance(data.get("config"), str):
            return data["config"]
    return None


def read_section(config_path: str | None = None, environ: Mapping[str, str] = os.environ) -> Mapping:
    """The `litellm_observe:` section of `config_path` (else of the proxy's config), {} when absent."""
    if config_path and not os.path.isfile(config_path):
        raise SettingsError(f"{config_path}: no such config file")
    path = config_path or proxy_config_path(environ)
    if not (path and os.path.isfile(path)):
        return {}
    with open(path, encoding="utf-8") as f:
        try:
            doc = yaml.safe_load(f)
            doc = {} if doc is None else doc
        except yaml.YAMLError as e:
            raise SettingsError(f"{path}: not valid YAML: {_yaml_problem(e)}") from None
    if not isinstance(doc, dict):
        raise SettingsError(
            f"{path}: the top level must be a mapping (the proxy's config.yaml), got a {type(doc).__name__}"
        )
    section = doc.get(SECTION)
    return {} if section is None else section  # absent, or an empty `litellm_observe:` line


def section_mapping(section: Any) -> Mapping:
    bounded(section)
    if not isinstance(section, Mapping):
        raise SettingsError(
            f"{SECTION}: must be a mapping of settings (key: value lines under it), got a {type(section).__name__}"
        )  # never the value: a list or a string may hold secrets
    return section


def _yaml_problem(error: yaml.YAMLError) -> str:
    """What is wrong and where, without the snippet of the file PyYAML quotes (it may hold a secret)."""
    problem = getattr(error, "problem", None) or getattr(error, "context", None) or "not YAML"
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else str(problem)
