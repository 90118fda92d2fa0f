"""Grafana's dashboard schema, as the grafana-foundation-sdk package models it (Grafana generates the package
from the same schema as its published dashboard JSON schema). `violations(dashboard)` lists, as JSON paths,
everything in a dashboard's JSON that the schema does not accept:

- a key the model does not know, or a `null` it does not keep: `Dashboard.from_json` drops both silently, so
  they are missing from `to_json` (keys only in the output are the model's defaults and fine);
- a value that the round trip `from_json -> to_json` changes;
- a value of the wrong type, or not one of its enum's values: `from_json` copies scalars as they come, so a
  round trip keeps them; they are checked against the models' type annotations instead;
- a panel type or a target datasource type the SDK has no model for (their options or queries would go
  unchecked), and a non-empty `fieldConfig.defaults.custom` on a panel type whose schema has no field config.

Panel `options` and `fieldConfig.defaults.custom` are decoded with the panel type's own model: the SDK's
panelcfg registry stays empty until `register_default_plugins()` runs, and without it every panel's options
would pass through as an untyped dict. Targets are decoded with the dataquery model of the panel datasource's
type (`prometheus` here).

Panels' `links` and `transformations`, which the SDK passes through raw although it types them, are decoded
here with their models.

Not checked: what the schema itself leaves untyped (`Any`/`object`): override property values, transformation
`options`, a target's `datasource`; required keys (every model defaults a missing key); constraints beyond
types (ranges, string patterns, gridPos widths). An exception inside `from_json` (a number where a list
belongs...) is reported at `$`, without a finer path. The result depends on the installed SDK release: each
models one Grafana version's schema. The test extra pins the Grafana 11.6 build (the dashboards also pass
10.1's, checked once by hand).
"""

from __future__ import annotations

import copy
import enum
import functools
import inspect
import json
import re
import types
import typing
from importlib.metadata import version

from grafana_foundation_sdk.cog import plugins, runtime
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common, dashboard

SDK_VERSION = version("grafana-foundation-sdk")

plugins.register_default_plugins()
# Grafana's table panel schema types its field config as common.TableFieldOptions, which this SDK release
# does not register for `table` (later releases do): register it, or table columns' `custom` goes unchecked.
_table = runtime.panelcfg_config("table")
if _table is not None and _table.field_config_from_json_hook is None:
    runtime.register_panelcfg_variant(
        runtime.PanelCfgConfig("table", _table.options_from_json_hook, common.TableFieldOptions.from_json)
    )


def violations(data: dict) -> list[str]:
    """Every JSON path of `data` (a dashboard) that Grafana's dashboard schema does not accept, with why."""
    out: list[str] = []
    try:
        model = dashboard.Dashboard.from_json(copy.deepcopy(data))
    except Exception as e:  # noqa: BLE001 - the model's decoder assumes the schema's shapes
        return [f"$: the schema model cannot decode it: {e!r}"]
    _diff(data, _encode(model), "$", out)
    _check(model, dashboard.Dashboard, "$", out)
    for path, panel in _panels(data):
        config = runtime.panelcfg_config(panel.get("type", ""))
        custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom")
        if config is None and panel.get("type") != "row":
            out.append(f"{path}.type: no schema model for panel type {panel.get('type')!r}")
        elif custom and config is not None and config.field_config_from_json_hook is None:
            out.append(f"{path}.fieldConfig.defaults.custom: the {panel['type']} panel's schema has no field config")
    return out


def _panels(data: dict):
    for i, panel in enumerate(data.get("panels", [])):
        yield f"$.panels[{i}]", panel
        for j, inner in enumerate(panel.get("panels", [])):
            yield f"$.panels[{i}].panels[{j}]", inner


def _encode(model) -> typing.Any:
    return json.loads(json.dumps(model, cls=JSONEncoder))


def _key(path: str, key: str) -> str:
    return f"{path}.{key}" if re.fullmatch(r"[A-Za-z_]\w*", key) else f"{path}[{json.dumps(key)}]"


def _show(value) -> str:
    text = json.dumps(value, cls=JSONEncoder)
    return text if len(text) <= 60 else text[:57] + "..."


def _diff(ours, theirs, path: str, out: list[str]) -> None:
    """What of `ours` is missing or different in `theirs`, the model's output."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key, value in ours.items():
            if key not in theirs:
                why = "null" if value is None else "unknown key"
                out.append(f"{_key(path, key)}: {why}, dropped by the schema model")
            else:
                _diff(value, theirs[key], _key(path, key), out)
    elif isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _diff(a, b, f"{path}[{i}]", out)
    elif ours != theirs or type(ours) is not type(theirs):
        out.append(f"{path}: {_show(ours)} becomes {_show(theirs)} in the schema model")


def _is_model(value) -> bool:
    return (
        type(value).__module__.startswith("grafana_foundation_sdk.models.")
        and hasattr(value, "to_json")
        and not isinstance(value, enum.Enum)
    )


@functools.cache
def _fields(cls: type) -> list[tuple[str, str, typing.Any]]:
    """(JSON key, attribute, type) of a model class, the keys read off its generated to_json."""
    hints = typing.get_type_hints(cls)
    pairs = re.findall(r'"([^"]+)"\]?\s*[:=]\s*self\.(\w+)', inspect.getsource(cls.to_json))
    return [(key, attr, hints[attr]) for key, attr in pairs]


def _check(value, hint, path: str, out: list[str]) -> None:
    """Type-check a decoded value against the model's annotation `hint`."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if isinstance(value, runtime.UnknownDataquery):
        out.append(f"{path}: no query model for this target's datasource type (set the panel's datasource type)")
    elif hint in (typing.Any, object):
        if _is_model(value):  # options and custom, decoded by the panel type's model
            _check(value, type(value), path, out)
    elif origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        if value is None and len(members) < len(args):
            return
        exact = [a for a in members if isinstance(a, type) and _is_model(value) and isinstance(value, a)]
        if exact or len(members) == 1:
            return _check(value, (exact or members)[0], path, out)
        for member in members:
            trial: list[str] = []
            _check(value, member, path, trial)
            if not trial:
                return
        out.append(f"{path}: {_show(value)} is none of {' | '.join(map(_name, members))}")
    elif origin is typing.Literal:
        if not any(value is a or (type(value) is type(a) and value == a) for a in args):
            out.append(f"{path}: {_show(value)} is not one of {list(args)}")
    elif origin in (list, dict):
        if not isinstance(value, origin):
            out.append(f"{path}: {_show(value)} is not a {origin.__name__}")
        elif origin is list:
            for i, item in enumerate(value):
                _check(item, args[0], f"{path}[{i}]", out)
        else:
            for key, item in value.items():
                _check(item, args[1], _key(path, key), out)
    elif isinstance(hint, type) and issubclass(hint, enum.Enum):
        if not isinstance(value, hint) and not any(type(value) is type(m.value) and value == m.value for m in hint):
            out.append(f"{path}: {_show(value)} is not one of {[m.value for m in hint]}")
    elif isinstance(hint, type) and _is_model(value) and isinstance(value, hint):  # hint may be a base class
        for key, attr, field_hint in _fields(type(value)):
            _check(getattr(value, attr), field_hint, _key(path, key), out)
    elif isinstance(hint, type) and hint.__module__.startswith("grafana_foundation_sdk.models."):
        if isinstance(value, dict) and hasattr(hint, "from_json"):  # passed through raw by the SDK: decode it
            try:
                decoded = hint.from_json(value)
            except Exception as e:  # noqa: BLE001
                out.append(f"{path}: the schema model {hint.__name__} cannot decode it: {e!r}")
                return
            _diff(value, _encode(decoded), path, out)
            _check(decoded, hint, path, out)
        else:
            out.append(f"{path}: {_show(value)} is not a {hint.__name__}")
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(f"{path}: {_show(value)} is not a number")
    elif hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            out.append(f"{path}: {_show(value)} is not an integer")
    elif isinstance(hint, type) and not isinstance(value, hint):
        out.append(f"{path}: {_show(value)} is not a {hint.__name__}")


def _name(hint) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")
