"""Spend per caller (the `attribution` setting's families): recording rules for spend per caller per hour and
per day, and an alert for a caller whose spend rate is far above its own baseline (a runaway script); each
with its options and its promtool cases.

The alert reads the raw counter, not the recording rules: a baseline a day long would need a day of the
recorded series, and a rule file deployed today must alert today. Without attribution there are no caller
series: the rules record nothing and the alert never fires.

`ALERTS`, at the end, declares them in output order (context.Declaration).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...catalogue import CALLER_SPEND
from .. import fields
from ..promql import durations
from ..promql.build import Scope, fmt
from .context import Context, Declaration
from .model import COUNT, Expected, Recording, Spec, boundary, counter, counter_end, negative, series

GROUP = "litellm-observe-callers.rules"
BY_CALLER = ("dimension", "caller")
WINDOWS = ("1h", "1d")  # recorded: spend per caller per hour and per day
BASELINE = "1d"  # the caller's own baseline: its spend over the day before the last hour
RECENT = "1h"


def spend_record(q: Scope, window: str) -> str:
    return f"dimension_caller:{q.family(CALLER_SPEND)}:increase{window}"


def recording_rules(q: Scope) -> list[Recording]:
    spend = q.sample(CALLER_SPEND)
    return [
        Recording(
            spend_record(q, w),
            q.sum_increase(spend, BY_CALLER, w) + "\n",
            f"US dollars each caller spent over the last {w}, per attribution dimension (tags: a request "
            "counts under each of its tags).",
        )
        for w in WINDOWS
    ]


def recording_case(q: Scope, base: dict[str, str]) -> dict:
    """Two replicas' counters of two callers, 1 USD a minute each: the rules sum the replicas per caller."""
    spend = q.sample(CALLER_SPEND)
    minutes = 24 * 60 + 10
    inputs = [
        (series(spend, {**base, "instance": instance, "dimension": "key_alias", "caller": caller}), counter(1, minutes))
        for instance in ("proxy-a:9464", "proxy-b:9464")
        for caller in ("batch", "chat-ui")
    ]
    tests = []
    for window, per_replica in (("1h", 60), ("1d", 24 * 60)):
        name = spend_record(q, window)
        tests.append(
            {
                "expr": f'{name}{{caller="batch"}}',
                "eval_time": f"{minutes}m",
                "exp_samples": [
                    {
                        "labels": series(name, {"dimension": "key_alias", "caller": "batch"}),
                        "value": 2 * per_replica,
                    }
                ],
            }
        )
    return {
        "name": "recording rules: spend per caller per hour and per day",
        "interval": "1m",
        "inputs": inputs,
        "tests": tests,
    }


@dataclass(frozen=True)
class CallerSpendRunaway:
    factor: float = fields.positive(
        10.0, "fires when a caller's spend over the last hour is this many times its hourly average of the day before"
    )
    min_usd_per_hour: float = fields.positive(
        5.0, "... and over this many US dollars in the last hour (small callers never page)"
    )
    for_: str = fields.duration("15m")
    severity: str = fields.severity("warning")


def caller_spend_runaway(c: Context[CallerSpendRunaway, None]) -> Spec:
    g, q, base = c.group, c.scope, c.base
    spend = q.sample(CALLER_SPEND)
    recent = q.sum_increase(spend, BY_CALLER, RECENT)
    baseline = q.sum_increase(spend, BY_CALLER, BASELINE, offset=RECENT)
    expr = f"{recent}\n> {fmt(g.factor)} * {baseline} / 24\nand\n{recent}\n> {fmt(g.min_usd_per_hour)}\n"
    alert = c.alert(
        expr,
        g.for_,
        g.severity,
        "A caller spends far more than its own baseline.",
        f"Caller {{caller}} ({{dimension}}) spent {{value}} USD in the last hour, over {fmt(g.factor)} times its "
        "hourly average of the day before.",
        COUNT,
        meaning=(
            f"One caller (a key alias, user, end user, tag or metadata value: the `attribution` setting) spent "
            f"more than {fmt(g.factor)} times its own hourly average of the previous day, and more than "
            f"{fmt(g.min_usd_per_hour)} USD, in the last hour: typically a script in a loop, a retry storm in a "
            "client, or a job moved to a pricier model. A caller first seen within the last hour has no baseline "
            "and is not compared (LitellmSpendBurnHigh watches the fleet)."
        ),
        confirm=q.sum_increase(spend, BY_CALLER, RECENT),
        action=(
            "Find the caller on the Spend dashboard's caller section (its requests and error share); stop or "
            "throttle the client, or set a LiteLLM budget or rate limit on its key, user or team."
        ),
    )
    who = {"dimension": "key_alias", "caller": "batch"}
    labels = {**base, **who}
    day = 25 * 60  # a day of baseline and the hour before it

    def jump(baseline_per_minute: float, runaway_per_minute: float) -> list[tuple[str, str]]:
        start = counter_end(baseline_per_minute, day) + runaway_per_minute
        values = f"{counter(baseline_per_minute, day)} {start!r}+{float(runaway_per_minute)!r}x100"
        return [(series(spend, labels), values)]

    # baseline 0.1 USD a minute (6 an hour), then 10 a minute: over the last hour, (60 - k) * 0.1 + 10 * k after
    # k minutes, over 10 x 6 from k = 6
    # (the case holds for the default factor and floor; other options get the negative cases only)
    onset = day + 6
    k = min(onset + durations.minutes(g.for_) - day, 60)
    fires = g.factor <= 10 and g.min_usd_per_hour < 60 and durations.minutes(g.for_) <= 90
    cases = []
    if fires:
        value = (60 - k) * 0.1 + 10 * k
        cases.append(
            boundary(
                "a caller's spend jumps a hundredfold", jump(0.1, 10), g.for_, onset, (Expected(alert, who, value),)
            )
        )
    steady = [(series(spend, labels), counter(100 / 60, day + 100))]
    cases += [
        negative("a steady high spender", steady, g.for_, day),
        negative("fiftyfold, but under the floor", jump(0.001, 0.05), g.for_, day),
    ]
    return Spec((alert,), tuple(cases))


ALERTS = (Declaration("LitellmCallerSpendRunaway", CallerSpendRunaway, caller_spend_runaway),)
