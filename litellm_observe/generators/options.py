"""What the generators read: the runtime settings they describe (namespace, exporter port) and the
generation options, the `dashboards:` and `alerts:` keys of the same `litellm_observe:` section.

`load` reads the section once and builds both; `LITELLM_OBSERVE_DASHBOARDS__*` and
`LITELLM_OBSERVE_ALERTS__*` override the options key by key, and `dashboards` (the flags of
`litellm_observe generate`) override both. Options are checked here only, never by a proxy.

Imports go one way: this module imports the option groups declared beside the code that reads them
(dashboards/options.py, rules/alerts.py), and those packages never import it back; they read
`Options` through the narrow protocols they declare (dashboards.options.Inputs, rules.alerts.Inputs),
which it satisfies. Only the wiring (generate.py, check.py, mixin.py, monitors.py, docs.py) names it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from .. import settings as runtime
from ..config import build, env_overrides, merge, read_section, section_mapping, string_kind
from . import fields
from .dashboards.options import DashboardOptions
from .rules.alerts import AlertOptions


@dataclass(frozen=True)
class GenerationSection:
    """The keys of the section the generators own (settings.GENERATION_KEYS)."""

    dashboards: DashboardOptions = fields.group(DashboardOptions, "Grafana dashboards")
    alerts: AlertOptions = fields.group(AlertOptions, "alert and recording rules")


@dataclass(frozen=True)
class Options:
    settings: runtime.Settings = field(default_factory=runtime.Settings)
    dashboards: DashboardOptions = field(default_factory=DashboardOptions)
    alerts: AlertOptions = field(default_factory=AlertOptions)

    @property
    def namespace(self) -> str:
        return self.settings.namespace


def load(
    config_path: str | None = None,
    environ: Mapping[str, str] = os.environ,
    section: Mapping | None = None,
    dashboards: Mapping | None = None,
) -> Options:
    """Options from `section` (or the config file's), then the environment, then `dashboards` flags."""
    if section is None:
        section = read_section(config_path, environ)
    section = section_mapping(section)
    settings = runtime.load(section=section, environ=environ)
    generation = {k: v for k, v in section.items() if k in runtime.GENERATION_KEYS}
    overrides = env_overrides(
        environ, lambda key: key in runtime.GENERATION_KEYS, lambda path: string_kind(GenerationSection, path)
    )
    data = merge(generation, overrides)
    if dashboards:
        data["dashboards"] = merge(data.get("dashboards") or {}, dashboards)
    built = build(GenerationSection, data)
    return Options(settings, built.dashboards, built.alerts)
