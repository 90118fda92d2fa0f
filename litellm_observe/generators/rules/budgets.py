"""Alerts on LiteLLM budgets (of a team, a key by its alias, a user or an end user): one nearly used
up, and one on course to run out before it resets; each with its options group and its promtool
cases.

The gauges are each replica's latest reading, taken from the requests it served: the lowest
remaining and the highest maximum any replica saw are the fleet's view. A budget nobody spends
from keeps its last reading (see README: what is and is not seen).

`ALERTS`, at the end, declares them in output order (context.Declaration).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...catalogue import BUDGET_MAX, BUDGET_REMAINING, BUDGET_RESET
from .. import fields
from ..promql import durations
from ..promql.build import aggregate, fmt
from .context import Context, Declaration
from .model import COUNT, PERCENT, Expected, Inhibition, Spec, boundary, constant, negative, series

ENTITY = ("entity_type", "entity")
ON = f"on ({', '.join(ENTITY)})"


@dataclass(frozen=True)
class BudgetNearlyExhausted:
    ratio: float = fields.ratio(0.1, "fires when a budget's remaining share is under this")
    for_: str = fields.duration("5m")
    severity: str = fields.severity("warning")


@dataclass(frozen=True)
class BudgetExhaustedBeforeReset:
    for_: str = fields.duration("30m")
    severity: str = fields.severity("warning")


def budget_nearly_exhausted(c: Context[BudgetNearlyExhausted, None]) -> Spec:
    g, q, base = c.group, c.scope, c.base
    remaining, maximum = q.sample(BUDGET_REMAINING), q.sample(BUDGET_MAX)
    # the lowest remaining and the highest maximum any replica saw
    lowest, highest = q.gauge("min", BUDGET_REMAINING, ENTITY), q.gauge("max", BUDGET_MAX, ENTITY)
    expr = f"{lowest}\n/ {ON}\n({highest} > 0)\n< {fmt(g.ratio)}\n"
    alert = c.alert(
        expr,
        g.for_,
        g.severity,
        "A LiteLLM budget is nearly used up.",
        "The {entity_type} budget of {entity} has {value} left.",
        PERCENT,
        meaning=(
            f"Less than {fmt(g.ratio * 100)} % of this team's, key's, user's or end user's max_budget is left, "
            "as of the latest request any replica served for it. When it reaches 0, LiteLLM rejects its "
            "requests with budget_exceeded (400) until the budget resets."
        ),
        confirm=f"{lowest} / {ON} {highest}",
        action=(
            "Tell the owner; raise max_budget in LiteLLM if the spend is legitimate, or find the client "
            "spending it (spend by team and model on the Spend dashboard); check when it resets "
            "(budget_reset_seconds)."
        ),
    )
    labels = {**base, "entity_type": "team", "entity": "search"}
    low = g.ratio / 2

    def readings(left_share: float, other_share: float | None = None):
        out = [
            (series(maximum, labels), constant(100, 30)),
            (series(remaining, labels), constant(100 * left_share, 30)),
        ]
        if other_share is not None:  # a second replica, whose latest request was earlier
            b = {**labels, "instance": "proxy-b:9464"}
            out += [(series(maximum, b), constant(100, 30)), (series(remaining, b), constant(100 * other_share, 30))]
        return out

    return Spec(
        (alert,),
        (
            boundary(
                "little budget left",
                readings(low),
                g.for_,
                0,
                (Expected(alert, {"entity_type": "team", "entity": "search"}, low),),
            ),
            # the replica that served the latest request saw the budget low; the other still shows more
            boundary(
                "two replicas: the lowest reading counts",
                readings(low, 0.9),
                g.for_,
                0,
                (Expected(alert, {"entity_type": "team", "entity": "search"}, low),),
            ),
            negative("plenty of budget left", readings(min(1.0, g.ratio * 2)), g.for_, 0),
        ),
    )


def budget_exhausted_before_reset(c: Context[BudgetExhaustedBeforeReset, None]) -> Spec:
    g, q, base = c.group, c.scope, c.base
    remaining, reset = q.sample(BUDGET_REMAINING), q.sample(BUDGET_RESET)
    burn = f"-1 * {aggregate('min', ENTITY, f'deriv({q.select(remaining)}[1h])')}"
    reset_in, left_usd = q.gauge("min", BUDGET_RESET, ENTITY), q.gauge("min", BUDGET_REMAINING, ENTITY)
    expr = f"{burn}\n* {ON}\n{reset_in}\n> {ON}\n{left_usd}\n"
    alert = c.alert(
        expr,
        g.for_,
        g.severity,
        "A LiteLLM budget is on course to run out before it resets.",
        "At the last hour's pace the {entity_type} budget of {entity} would spend {value} USD before it resets, "
        "more than it has left.",
        COUNT,
        meaning=(
            "The budget left fell over the last hour at a pace that, kept up until the next reset, spends "
            "more than what is left: its requests will be rejected with budget_exceeded before the reset."
        ),
        confirm=f"{burn} * {ON} {reset_in}  # USD spent by the reset at this pace\n{left_usd}  # USD left",
        action=(
            "Raise max_budget, or slow the client down (rate limits on its key or team); find what changed "
            "on the Spend dashboard (a new model, a loop, a retry storm)."
        ),
    )
    labels = {**base, "entity_type": "key", "entity": "batch-jobs"}
    key = {"entity_type": "key", "entity": "batch-jobs"}

    def budget(spent_per_minute: float, reset_in_minutes: int, length: int = 90):
        """100 USD left at minute 0, falling by `spent_per_minute`; the reset countdown falls 60 s a minute."""
        left = f"100-{float(spent_per_minute)!r}x{length}" if spent_per_minute else constant(100, length)
        return [(series(remaining, labels), left), (series(reset, labels), f"{reset_in_minutes * 60.0!r}-60x{length}")]

    # 0.5 USD a minute with the reset 6 h away: 0.5 * (360 - t) USD needed by the reset, 100 - 0.5 t left.
    # With the reset 2 h away: 0.5 * (120 - t) needed, always less than what is left.
    onset = 1  # deriv needs two samples
    at = onset + durations.minutes(g.for_)
    return Spec(
        (alert,),
        (
            boundary(
                "spending faster than the budget lasts",
                budget(0.5, 6 * 60),
                g.for_,
                onset,
                (Expected(alert, key, 0.5 * (6 * 60 - at)),),
            ),
            negative("the budget lasts until the reset", budget(0.5, 2 * 60), g.for_, onset),
            negative("nothing spent", budget(0, 6 * 60), g.for_, onset),
        ),
    )


ALERTS = (
    Declaration("LitellmBudgetNearlyExhausted", BudgetNearlyExhausted, budget_nearly_exhausted),
    Declaration("LitellmBudgetExhaustedBeforeReset", BudgetExhaustedBeforeReset, budget_exhausted_before_reset),
)

INHIBITIONS = (
    Inhibition(
        "LitellmBudgetExhaustedBeforeReset",
        ("LitellmBudgetNearlyExhausted",),
        ("cluster", "entity_type", "entity"),
        "a budget that will run out before its reset is also nearly exhausted",
    ),
)
