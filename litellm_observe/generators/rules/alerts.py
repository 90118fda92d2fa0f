"""The alert registry and the `alerts:` options derived from it.

`ALERTS` is the one list of alerts: the declarations each topic module keeps beside its option groups
and builders (context.Declaration), joined in the order the rule files, their promtool tests, the
README and the options table list them. Everything else is derived from it:

- `AlertOptions`, the `alerts:` key: first the options every rule shares (`Shared`: selector,
  runbook address, scrape job), then the objectives several rules read, also directly under
  `alerts:` (slo.Objective, cost.DailyBudget, workers.WorkerMemory; fields come in reverse order of
  the bases), then one group per declaration, in ALERTS order, holding the alert's own threshold(s),
  `for` and severity, keyed `Declaration.key` (the name without its prefix, in snake case:
  LitellmHighErrorRate, `alerts.high_error_rate`) and documented by the alert's name (the README's
  options table reads that metadata);
- `specs(options)`, one Spec per declaration, in ALERTS order, each built from its own `Context`.

Invariants: an alert exists exactly when it is declared (no second list to keep equal); each
builder receives its own group, the objective its declaration `reads` and the shared settings, never
the whole options; a spec is named after its declaration (checked here).
"""

from __future__ import annotations

from dataclasses import dataclass, make_dataclass
from dataclasses import fields as dataclass_fields
from typing import TYPE_CHECKING, Any, Protocol

from ...settings import Settings
from .. import fields
from ..dashboards import exporter_health, overview, providers, spend
from ..promql import selectors
from ..promql.build import Scope
from . import budgets, callers, cost, deployments, health, latency, proxy, slo, upstream, workers
from .context import Context, Declaration
from .model import Inhibition, Spec
from .routing import AlertmanagerOptions

ALERTS: tuple[Declaration, ...] = (
    *upstream.ALERTS,
    *latency.ALERTS,
    *deployments.ALERTS,
    *cost.ALERTS,
    *callers.ALERTS,
    *budgets.ALERTS,
    *proxy.ALERTS,
    *workers.ALERTS,
    *health.ALERTS,
    *slo.ALERTS,
)
# Inhibitions, declared beside their source alert (model.Inhibition), in the order Alertmanager's config lists them;
# the burn's depends on its page and ticket severities (inhibitions(), below)
INHIBITIONS = (*health.INHIBITIONS, *deployments.INHIBITIONS, *budgets.INHIBITIONS, *workers.INHIBITIONS)
_NAMES = {d.name for d in ALERTS}
if any(i.source not in _NAMES or not set(i.targets) <= _NAMES | {"*"} for i in INHIBITIONS):  # a typo, at import
    raise RuntimeError("an inhibition names an alert that is not declared")

RUNBOOKS_URL = "https://github.com/litellm-observe/litellm-observe/blob/main/docs/runbooks.md"


@dataclass(frozen=True)
class Shared:
    selector: str = fields.selector("", "label matchers added to every rule expression")
    runbook_base_url: str = fields.text(
        RUNBOOKS_URL, "each alert's runbook_url: this, `#`, the alert's name in lower case"
    )
    scrape_job: str = fields.label_value("litellm", "the Prometheus job scraping the exporters (LitellmMetricsAbsent)")
    grafana_url: str = fields.url(
        "http://localhost:3000",
        "Grafana's address: each alert's `dashboard` annotation links to its dashboard there (empty: no link)",
    )

    def matchers(self) -> tuple[selectors.Matcher, ...]:
        return selectors.parse(self.selector)


OBJECTIVES = (workers.WorkerMemory, cost.DailyBudget, slo.Objective)
if any(d.reads not in (None, *OBJECTIVES) for d in ALERTS):  # a builder reads one of these, or none
    raise TypeError(
        "an alert reads an objective not in alerts.OBJECTIVES: "
        f"{[d.name for d in ALERTS if d.reads not in (None, *OBJECTIVES)]}"
    )
if TYPE_CHECKING:

    class AlertOptions(workers.WorkerMemory, cost.DailyBudget, slo.Objective, Shared):
        """What a type checker sees of the class below: the shared options and objectives by name, and one
        group per declaration (made from ALERTS at import, so only known by key here)."""

        alertmanager: AlertmanagerOptions

        def __getattr__(self, key: str) -> Any: ...
else:
    AlertOptions = make_dataclass(  # make_dataclass refuses two declarations with one key
        "AlertOptions",
        [
            ("alertmanager", AlertmanagerOptions, fields.group(AlertmanagerOptions, "Alertmanager routing")),
            *((d.key, d.group, fields.group(d.group, d.name)) for d in ALERTS),
        ],
        bases=(*OBJECTIVES, Shared),
        frozen=True,
        namespace={"__module__": __name__, "__doc__": "The `alerts:` options, derived from ALERTS."},
    )


class Inputs(Protocol):
    """What the rules read of the generation options: the runtime settings (namespace, exporter port) and
    the `alerts:` options. generators.options.Options is one; the rules never import it."""

    @property
    def settings(self) -> Settings: ...

    @property
    def alerts(self) -> AlertOptions: ...


def scope(options: Inputs) -> Scope:
    """Where rule expressions look: the namespace and the configured `alerts.selector`."""
    return Scope(options.settings.namespace, tuple(str(m) for m in options.alerts.matchers()))


def base_labels(options: Inputs) -> dict[str, str]:
    """Labels every test input series has: scrape target labels and values satisfying the selector."""
    return {
        "job": options.alerts.scrape_job,
        "instance": "proxy-a:9464",
        **selectors.satisfying_labels(options.alerts.matchers(), "alerts.selector"),
    }


def objective(cls: type | None, alerts: AlertOptions):
    """A copy of the shared objective `cls` (one of OBJECTIVES) out of the `alerts:` options; None for None."""
    return None if cls is None else cls(**{f.name: getattr(alerts, f.name) for f in dataclass_fields(cls)})


# the dashboard that shows each topic module's alerts (dashboards' uids)
DASHBOARD_OF = {
    upstream.__name__: providers.UID,
    latency.__name__: providers.UID,
    deployments.__name__: providers.UID,
    slo.__name__: providers.UID,
    cost.__name__: spend.UID,
    callers.__name__: spend.UID,
    budgets.__name__: spend.UID,
    proxy.__name__: overview.UID,
    workers.__name__: overview.UID,
    health.__name__: exporter_health.UID,
}
if any(d.build.__module__ not in DASHBOARD_OF for d in ALERTS):  # a new topic module without a dashboard
    raise RuntimeError("an alert module has no dashboard in alerts.DASHBOARD_OF")


def dashboard_url(declaration: Declaration, grafana_url: str) -> str:
    return f"{grafana_url.rstrip('/')}/d/{DASHBOARD_OF[declaration.build.__module__]}" if grafana_url else ""


def context(declaration: Declaration, options: Inputs) -> Context:
    a = options.alerts
    return Context(
        declaration.name,
        getattr(a, declaration.key),
        objective(declaration.reads, a),
        scope(options),
        base_labels(options),
        f"{a.runbook_base_url}#{declaration.name.lower()}",
        a.scrape_job,
        options.settings.port,
        a.matchers(),
        dashboard_url(declaration, a.grafana_url),
    )


def specs(options: Inputs) -> list[Spec]:
    out = []
    for declaration in ALERTS:
        spec = declaration.build(context(declaration, options))
        if {a.name for a in spec.alerts} != {declaration.name}:
            raise RuntimeError(f"{declaration.name}'s builder made rules named {sorted({a.name for a in spec.alerts})}")
        out.append(spec)
    return out


def inhibitions(options: Inputs) -> list[Inhibition]:
    """Every inhibition, for the alert options in force."""
    burn = getattr(options.alerts, next(d.key for d in slo.ALERTS))
    return [INHIBITIONS[0], *slo.inhibitions(burn), *INHIBITIONS[1:]]
