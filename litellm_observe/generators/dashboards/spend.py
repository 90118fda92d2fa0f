"""LiteLLM / Spend & budgets: who spends what, on which models and providers."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import panels as p
from .promql import Queries

if TYPE_CHECKING:
    from ..options import Options

UID = "litellm-spend"
TITLE = "Spend & budgets"
DESCRIPTION = "Spend in US dollars as LiteLLM prices it, tokens by team, top spenders and budget resets."
TOP = 10


def _per_hour(expr: str) -> str:
    return f"3600 * {expr}"


def build(options: Options):
    q = Queries(options)
    rows = []
    for label in ("team", "model", "provider"):
        legend = "{{%s}}" % label
        rows.append([
            p.timeseries(f"Spend rate by {label} (USD per hour)",
                         f"How many US dollars per hour does each {label} spend?",
                         [p.target(_per_hour(q.rate("spend_usd", (label,))), legend)], "currencyUSD", stacked=True),
            p.stat(f"Spend in time range by {label}", f"How many US dollars has each {label} spent in this time range?",
                   [p.target(q.increase("spend_usd", (label,)), legend, instant=True)], "currencyUSD",
                   decimals=2, graph=False)])
    rows.append([
        p.timeseries("Tokens by team", "How many tokens per hour does each team use, by token type?",
                     [p.target(_per_hour(q.rate("tokens_used", ("team", "token_type"))), "{{team}} {{token_type}}")],
                     "suffix: tokens/h", stacked=True),
        p.table(f"Top {TOP} spenders", f"Which {TOP} team and model pairs spent most in this time range?",
                f'topk({TOP}, {q.increase("spend_usd", ("team", "model"))})', "currencyUSD", "spend"),
    ])
    rows.append([
        p.timeseries("Budget resets by entity type",
                     "How many key, user, team and end-user budgets were reset, and when?",
                     [p.target(q.increase("budget_resets", ("entity_type",), window="$__rate_interval"),
                               "{{entity_type}}")], "short", bars=True),
    ])
    return p.dashboard(options, UID, TITLE, DESCRIPTION, rows)
