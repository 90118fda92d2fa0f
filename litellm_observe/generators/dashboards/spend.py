"""LiteLLM / Spend & budgets: who spends what, on which models and providers."""

from __future__ import annotations

from ...catalogue import (
    BUDGET_MAX,
    BUDGET_REMAINING,
    BUDGET_RESET,
    BUDGET_RESETS,
    CALLER_REQUESTS,
    CALLER_SPEND,
    CALLER_TOKENS,
    SPEND_USD,
    TOKEN_DETAILS,
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
    "spend and errors by caller (with attribution on), budgets left and budget resets."
)
BUDGET = ("entity_type", "entity")
TOP = 10
FAILED = 'status_code!="200"'  # a request's status is 200 or a 4xx/5xx (README: status_code)
TAGS_NOTE = "With tags, a request counts under each of its tags."


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
                [p.target(_per_hour(q.rate(TOKENS_USED, ("team", "token_type"))), "{{team}} {{token_type}}")],
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
                "Each is a part of input or output, not extra.",
                [p.target(_per_hour(q.rate(TOKEN_DETAILS, ("model", "detail"))), "{{model}} {{detail}}")],
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
    rows += _callers(q)
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
    return p.dashboard(options, UID, TITLE, DESCRIPTION, rows, callers=True)


def _callers(q: Queries) -> list[list]:
    """The caller section: the dimension chosen with the `dimension` variable (attribution setting; empty
    without it)."""
    by_caller = ("caller",)
    all_requests = q.rate(CALLER_REQUESTS, by_caller)
    return [
        [
            p.table(
                f"Top {TOP} callers by spend",
                f"Which {TOP} callers of the chosen dimension spent most in this time range? " + TAGS_NOTE,
                f"topk({TOP}, {q.increase(CALLER_SPEND, by_caller)})",
                "currencyUSD",
                "spend",
            ),
            p.timeseries(
                "Spend rate by caller (USD per hour)",
                "How many US dollars per hour does each of the top callers spend? " + TAGS_NOTE,
                [p.target(f"topk({TOP}, {_per_hour(q.rate(CALLER_SPEND, by_caller))})", "{{caller}}")],
                "currencyUSD",
            ),
        ],
        [
            p.timeseries(
                "Requests by caller",
                "How many client requests per second does each of the top callers send?",
                [p.target(f"topk({TOP}, {q.rate(CALLER_REQUESTS, by_caller)})", "{{caller}}")],
                "reqps",
            ),
            p.timeseries(
                "Error share by caller",
                "What share of each caller's requests failed (a 4xx or 5xx answer)?",
                [
                    p.target(
                        # `or 0 * all`: a caller with requests and no failure shows 0, not nothing
                        f"100 * ({q.rate(CALLER_REQUESTS, by_caller, (FAILED,))} or 0 * {all_requests})"
                        f" / {all_requests}",
                        "{{caller}}",
                    )
                ],
                "percent",
            ),
            p.timeseries(
                "Billed tokens by caller",
                "How many input and output tokens per hour does each of the top callers use?",
                [
                    p.target(
                        f"topk({TOP}, {_per_hour(q.rate(CALLER_TOKENS, ('caller', 'token_type')))})",
                        "{{caller}} {{token_type}}",
                    )
                ],
                "suffix: tokens/h",
            ),
        ],
    ]
