"""LiteLLM / Exporter health: is litellm-observe itself recording and being scraped well."""

from __future__ import annotations

from ...catalogue import BUILD_INFO, INTERNAL_ERRORS, LABEL_OVERFLOW
from ..promql.build import SCRAPE_DURATION, SCRAPE_SAMPLES, SCRAPE_SERIES_ADDED, UP, aggregate
from . import panels as p
from .options import Inputs
from .promql import RATE_WINDOW, Queries

UID = "litellm-exporter-health"
TITLE = "Exporter health"
DESCRIPTION = "litellm-observe's own health: events it could not record, capped labels, versions, scrapes."
UP_MAPPING = [
    {
        "type": "value",
        "options": {
            "0": {"text": "down", "color": "red", "index": 0},
            "1": {"text": "up", "color": "green", "index": 1},
        },
    }
]


def build(options: Inputs):
    q = Queries(options)
    by_target = ("job", "instance")
    return p.dashboard(
        options,
        UID,
        TITLE,
        DESCRIPTION,
        [
            [
                p.timeseries(
                    "Internal errors by hook",
                    "How many proxy events could the logger not record, and in which hook? (should be none)",
                    [p.target(q.increase(INTERNAL_ERRORS, ("hook",), window=RATE_WINDOW), "{{hook}}")],
                    "short",
                    bars=True,
                ),
                p.timeseries(
                    "Label overflow by label",
                    "Which labels reached their value cap, so new values are recorded as `overflow`?",
                    [p.target(q.increase(LABEL_OVERFLOW, ("label",), window=RATE_WINDOW), "{{label}}")],
                    "short",
                    bars=True,
                ),
            ],
            [
                p.table(
                    "Build info",
                    "Which litellm-observe and litellm versions run, on how many exporters?",
                    q.gauge(BUILD_INFO, ("version", "litellm_version"), "count"),
                    "short",
                    "exporters",
                ),
                p.state_timeline(
                    "Scrape target up",
                    "Could Prometheus scrape each exporter, and when could it not?",
                    [p.target(aggregate("max", by_target, q.prometheus_series(UP)), "{{instance}}")],
                    "none",
                    mappings=UP_MAPPING,
                ),
            ],
            [
                p.timeseries(
                    "Scrape duration",
                    "How long does Prometheus take to scrape each exporter?",
                    [p.target(aggregate("max", by_target, q.prometheus_series(SCRAPE_DURATION)), "{{instance}}")],
                    "s",
                ),
                p.timeseries(
                    "Series per scrape",
                    "How many series does each exporter expose, and how many are new?",
                    [
                        p.target(
                            aggregate("sum", by_target, q.prometheus_series(SCRAPE_SAMPLES)), "{{instance}} samples"
                        ),
                        p.target(
                            aggregate("sum", by_target, q.prometheus_series(SCRAPE_SERIES_ADDED)),
                            "{{instance}} new series",
                        ),
                    ],
                    "short",
                ),
            ],
        ],
    )
