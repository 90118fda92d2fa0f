"""LiteLLM / Spend & budgets: who spends what, on which models and providers."""

from __future__ import annotations

from ...catalogue import (
    BUDGET_MAX,
    BUDGET_REMAINING,
    BUDGET_RESET,
    BUDGET_RESETS,
    SPEND_USD,
    TOKENS_USED,
    UNPRICED_REQUESTS,
)
from . import panels as p
from .options import Inputs
from .promql import RATE_WINDOW, Queries

UID = "litellm-spend"
TITLE = "Spend & budgets"
DESCRIPTION = (
    "Spend in US dollars as LiteLLM prices it, tokens by team and type, unpriced traffic, top spenders, "
    "budgets left and budget resets."
)
BUDGET = ("entity_type", "entity")
DETAIL = 'token_type!~"input|output"'  # shares of input or output (cached, reasoning, audio): never stacked on them
TOP = 10


def _per_hour(expr: str) -> str:
    return f"3600 * {expr}"


def build(options: Inputs):
    q = Queries(options)
    rows = []
    for label in ("team", "model", "provider"):
        legend = "{{%s}}" % label
        rows.append(
            [
                p.timeseries(
                    f"Spend rate by {label} (USD per hour)",
                    f"How many US dollars per hour does each {label} spend?",
                    [p.target(_per_hour(q.rate(SPEND_USD, (label,))), legend)],
                    "currencyUSD",
                    stacked=True,
                ),
                p.stat(
                    f"Spend in time range by {label}",
                    f"How many US dollars has each {label} spent in this time range?",
                    [p.target(q.increase(SPEND_USD, (label,)), legend, instant=True)],
                    "currencyUSD",
                    decimals=2,
                    graph=False,
                ),
            ]
        )
    rows.append(
        [
            p.timeseries(
                "Tokens by team",
                "How many input and output tokens per hour does each team use?",
                [
                    p.target(
                        _per_hour(q.rate(TOKENS_USED, ("team", "token_type"), ('token_type=~"input|output"',))),
                        "{{team}} {{token_type}}",
                    )
                ],
                "suffix: tokens/h",
                stacked=True,
            ),
            p.table(
                f"Top {TOP} spenders",
                f"Which {TOP} team and model pairs spent most in this time range?",
                f"topk({TOP}, {q.increase(SPEND_USD, ('team', 'model'))})",
                "currencyUSD",
                "spend",
            ),
        ]
    )
    rows.append(
        [
            p.timeseries(
                "Token detail by model",
                "Of those tokens, how many per hour were cached or cache-creation input, reasoning or audio? "
                "Each is a share of input or output, not extra.",
                [
                    p.target(
                        _per_hour(q.rate(TOKENS_USED, ("model", "token_type"), (DETAIL,))), "{{model}} {{token_type}}"
                    )
                ],
                "suffix: tokens/h",
            ),
            p.timeseries(
                "Unpriced calls by model",
                "How many successful upstream calls per second used tokens but got no price? Their spend is "
                "missing from every figure here: give the model a price in the proxy config.",
                [p.target(q.rate(UNPRICED_REQUESTS, ("provider", "model")), "{{provider}} {{model}}")],
                "ops",
                stacked=True,
            ),
        ]
    )
    rows.append(
        [
            p.table(
                "Budget left",
                "How much of each team's, key's, user's and end user's budget is left, as of its "
                "latest request? The lowest any replica saw.",
                f"{q.gauge(BUDGET_REMAINING, BUDGET, 'min')} / {q.gauge(BUDGET_MAX, BUDGET, 'max')}",
                "percentunit",
                "left",
            ),
            p.table(
                "Time to budget reset",
                "How long until each budget resets?",
                q.gauge(BUDGET_RESET, BUDGET, "min"),
                "s",
                "resets in",
            ),
        ]
    )
    rows.append(
        [
            p.timeseries(
                "Budget resets by entity type",
                "How many key, user, team and end-user budgets were reset, and when?",
                [p.target(q.increase(BUDGET_RESETS, ("entity_type",), window=RATE_WINDOW), "{{entity_type}}")],
                "short",
                bars=True,
            ),
        ]
    )
    return p.dashboard(options, UID, TITLE, DESCRIPTION, rows)
