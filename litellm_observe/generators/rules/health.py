"""Alerts on litellm-observe itself: events it could not record, capped labels, and an exporter
Prometheus cannot scrape; each with its options and its promtool cases.

`ALERTS`, at the end, declares them in output order (context.Declaration).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...catalogue import INTERNAL_ERRORS, LABEL_OVERFLOW, Metric
from .. import fields
from ..promql import durations
from ..promql.build import UP as PROMETHEUS_UP
from ..promql.selectors import equality_labels
from .context import Context, Declaration
from .model import COUNT, Expected, Inhibition, Spec, boundary, constant, counter, negative, series


@dataclass(frozen=True)
class ObserveInternalErrors:
    for_: str = fields.duration("5m")
    severity: str = fields.severity("warning")


@dataclass(frozen=True)
class ObserveLabelOverflow:
    for_: str = fields.duration("5m")
    severity: str = fields.severity("warning")


@dataclass(frozen=True)
class MetricsAbsent:
    for_: str = fields.duration("5m")
    window: str = fields.duration(
        "2m",
        "pending only once every scrape of a target in this window failed (one missed scrape is not news); "
        "make it several scrape intervals",
    )
    severity: str = fields.severity("critical", "the alert's severity label (with no metrics, no other alert can fire)")


def metrics_absent(c: Context[MetricsAbsent, None]) -> Spec:
    g, job, q, base = c.group, c.scrape_job, c.scope, c.base
    up = q.select(PROMETHEUS_UP, f'job="{job}"')
    alert = c.alert(
        # `unless on() absent(up)`: a Prometheus that has scraped nothing yet (just started) is not missing a
        # target; one that scrapes anything else, or this job's targets before they went, is
        f"max_over_time({up}[{g.window}]) == 0\nor\n(absent({up}) unless on () absent({PROMETHEUS_UP}))\n",
        g.for_,
        g.severity,
        "Prometheus gets no metrics from a litellm-observe exporter.",
        "Exporter target {instance} of job {job} is down or missing (up = {value}; no instance: "
        "Prometheus has no such target).",
        COUNT,
        meaning=(
            f"Every scrape of a target of job `{job}` in the last {g.window} failed (up = 0), or Prometheus, "
            "scraping other targets, has no target in that job at all (up absent: the proxy is gone, service "
            "discovery lost it, or `alerts.scrape_job` does not match the scrape config). Every other alert here "
            "is blind meanwhile. A Prometheus that scrapes nothing at all is for a dead man's switch to catch."
        ),
        confirm=f"{up}",
        action=(
            f"Open Prometheus' Targets page for job `{job}`; check the proxy is running and the "
            f"exporter answers `curl http://<host>:{c.exporter_port}/metrics`; check credentials if bearer or "
            "basic auth is configured."
        ),
    )
    other = {**base, "job": "prometheus", "instance": "localhost:9090"}
    down = {**base, "instance": "proxy-b:9464"}
    absent_labels = {"job": job, **equality_labels(c.selector)}  # absent() keeps equality matchers only
    return Spec(
        (alert,),
        (
            boundary(
                # up 1 until minute 5, then 0: the window is all failures `window` later (both ends of a
                # range are inclusive in Prometheus 2), and the alert fires `for` after that
                "one replica's exporter down",
                [
                    (series(PROMETHEUS_UP, base), constant(1, 30)),
                    (series(PROMETHEUS_UP, down), f"{constant(1, 4)} {constant(0, 25)}"),
                ],
                g.for_,
                5 + durations.minutes(g.window),
                (Expected(alert, down, 0),),
            ),
            boundary(
                "no exporter target at all",
                [(series(PROMETHEUS_UP, other), constant(1, 30))],
                g.for_,
                0,
                (Expected(alert, absent_labels, 1),),
            ),
            negative(
                "one replica misses a scrape now and then",
                [
                    (series(PROMETHEUS_UP, base), constant(1, 30)),
                    (series(PROMETHEUS_UP, down), " ".join(["1", "1", "0"] * 10)),
                ],
                g.for_,
                0,
            ),
            negative(
                "Prometheus just started: nothing scraped yet",
                [("prometheus_build_info", constant(1, 30))],
                g.for_,
                0,
            ),
            negative(
                "every exporter up",
                [(series(PROMETHEUS_UP, base), constant(1, 30)), (series(PROMETHEUS_UP, down), constant(1, 30))],
                g.for_,
                0,
            ),
        ),
    )


def _lost_events(c: Context, counted: Metric, label: str, value: str, summary: str, meaning: str, action: str) -> Spec:
    q, for_ = c.scope, c.group.for_
    total = q.sample(counted)
    alert = c.alert(
        f"{q.sum_increase(total, (label,), '5m')} > 0\n",
        for_,
        c.group.severity,
        summary,
        "litellm-observe lost {value} events at " + label + " {" + label + "} over the last 5 minutes.",
        COUNT,
        meaning=meaning,
        confirm=q.sum_increase(total, (label,), "1h"),
        action=action,
    )
    labels = {**c.base, label: value}
    return Spec(
        (alert,),
        (
            boundary(
                "losing data",
                [(series(total, labels), counter(2, 30))],
                for_,
                1,
                (Expected(alert, {label: value}, 10.0),),
            ),
            negative("lost data long ago, none since", [(series(total, labels), constant(3, 30))], for_),
        ),
    )


def observe_internal_errors(c: Context[ObserveInternalErrors, None]) -> Spec:
    return _lost_events(
        c,
        INTERNAL_ERRORS,
        "hook",
        "async_log_success_event",
        "The litellm-observe logger is failing to record events.",
        "The logger raised while recording an event and dropped it; metrics undercount from then on. The `hook` "
        "label says where: a LiteLLM hook; `exporter_read`, a dead worker's unreadable sample file was set aside "
        "and its samples lost; `exporter_read_retry`, the exporter could not read a file for now (too many open "
        "files, out of memory) and served the last values, which loses nothing unless it lasts.",
        "Read the proxy's log for `litellm_observe` errors (logged at most once a minute per hook). For a full "
        "metrics directory, free space or move `metrics_dir`; for `exporter_read_retry`, raise the exporter's "
        "open-file limit or find what holds so many connections; otherwise report them with the litellm version "
        "from build_info: a litellm upgrade that changed a payload is the usual cause.",
    )


def observe_label_overflow(c: Context[ObserveLabelOverflow, None]) -> Spec:
    return _lost_events(
        c,
        LABEL_OVERFLOW,
        "label",
        "team",
        "A metric label reached its cap of distinct values.",
        "A label reached its cap of distinct values in this proxy run; new values are recorded as `overflow`, "
        "so per-value breakdowns are incomplete.",
        "Raise `label_caps` for that label if the values are legitimate (more teams or models), or find the "
        "client sending ever-new values (for example a model name with a random suffix).",
    )


ALERTS = (
    Declaration("LitellmObserveInternalErrors", ObserveInternalErrors, observe_internal_errors),
    Declaration("LitellmObserveLabelOverflow", ObserveLabelOverflow, observe_label_overflow),
    Declaration("LitellmMetricsAbsent", MetricsAbsent, metrics_absent),
)

# While Prometheus has no data from an exporter target, every other alert of that target (instance) says nothing
# true; with no target at all (absent: no instance), neither does any fleet-wide alert.
INHIBITIONS = (
    Inhibition(
        "LitellmMetricsAbsent",
        ("*",),
        ("cluster", "instance"),
        "no data from the target: its other alerts (and, with no target at all, the fleet's) are about missing data",
    ),
)
