"""What one alert is made of: its declaration, and the context its builder reads.

Each topic module (upstream.py, latency.py, deployments.py, cost.py, budgets.py, proxy.py, workers.py, health.py,
slo.py) ends with `ALERTS`, one `Declaration` per alert: the alert's name, its option group (a
dataclass beside it), its builder, and the shared objective it reads, if any. alerts.py joins those
tables into the one registry the options and the rule files are derived from.

Invariants:
- a builder reads nothing but its `Context`: no rule module imports the generation options
  (generators/options.py imports the groups declared beside the builders, so that import would be a
  cycle);
- the alert's name comes from its declaration only: `Context.alert` names the Alert and points its
  runbook_url at that name's section, the config key is `Declaration.key`, the promtool file
  `unit_tests.file_name(name)`; the rule, its options and its tests cannot name different alerts;
- `Context.objective` is a copy of the one shared objective the declaration reads (`reads`), so a
  builder sees no other alert's options.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..promql.build import Scope
from ..promql.selectors import Matcher
from .model import Alert, Spec, ValueFormat

G = TypeVar("G")  # the alert's own option group
Obj = TypeVar("Obj")  # the shared objective it reads (slo.Objective, cost.DailyBudget, workers.WorkerMemory), or None

PREFIX = "Litellm"


def words(name: str, sep: str) -> str:
    """LitellmHighErrorRate -> high<sep>error<sep>rate: the config key (`_`) and the test file name (`-`)."""
    return re.sub(r"(?<!^)(?=[A-Z])", sep, name.removeprefix(PREFIX)).lower()


@dataclass(frozen=True)
class Context(Generic[G, Obj]):
    name: str  # the declared alert name
    group: G  # its options, `alerts.<key>`
    objective: Obj  # the shared objective it reads, directly under `alerts:` (None when it reads none)
    scope: Scope  # the namespace and `alerts.selector`: where its expressions look
    base: dict[str, str]  # labels every test input series has (scrape target and selector labels)
    runbook_url: str  # `alerts.runbook_base_url#<name in lower case>`
    scrape_job: str  # `alerts.scrape_job`
    exporter_port: int  # the exporter's port (runtime setting `port`), for runbook text
    selector: tuple[Matcher, ...]  # `alerts.selector`, parsed
    dashboard_url: str = ""  # the dashboard that shows this alert's signal, or "" (alerts.py: DASHBOARD_OF)

    def alert(
        self, expr: str, for_: str, severity: str, summary: str, description: str, value: ValueFormat, **details
    ) -> Alert:
        """A rule of this alert: named after the declaration, linking to its runbook section."""
        return Alert(
            self.name,
            expr,
            for_,
            severity,
            summary,
            description,
            value,
            runbook_url=self.runbook_url,
            dashboard_url=self.dashboard_url,
            **details,
        )


@dataclass(frozen=True)
class Declaration(Generic[G, Obj]):
    """One alert: name, option group, builder, and the shared objective (a dataclass whose fields sit
    directly under `alerts:`) it reads."""

    name: str  # Litellm<CamelCase>
    group: type[G]
    build: Callable[[Context[G, Obj]], Spec]
    reads: type[Obj] | None = None

    @property
    def key(self) -> str:
        """Its group's config key under `alerts:`: the name without its prefix, in snake case."""
        return words(self.name, "_")
