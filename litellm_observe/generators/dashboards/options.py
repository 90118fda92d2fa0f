"""The `dashboards:` options (also the flags of `litellm_observe generate`), and `Inputs`: what the
dashboards read of the generation options. generators.options.Options is one; the dashboards never
import it (it imports this package)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .. import fields
from ..promql import selectors


@dataclass(frozen=True)
class DashboardOptions:
    datasource: str = fields.text("Prometheus", "the default Prometheus data source name (--datasource)")
    selector: str = fields.selector("", "label matchers added to every query and variable (--selector)")
    title_prefix: str = fields.line("LiteLLM / ", "put before every dashboard title (--title-prefix)")
    tags: tuple[str, ...] = fields.names(("litellm", "litellm-observe"), "Grafana tags of every dashboard (--tags)")
    refresh: str = fields.grafana_interval("30s", "how often Grafana reloads the dashboards (--refresh)")

    def matchers(self) -> tuple[selectors.Matcher, ...]:
        return selectors.parse(self.selector)


class Inputs(Protocol):
    @property
    def namespace(self) -> str: ...

    @property
    def dashboards(self) -> DashboardOptions: ...
