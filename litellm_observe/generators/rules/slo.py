"""Provider availability SLO: multi-window, multi-burn-rate alerts (Google SRE workbook, ch. 5).

One table, WINDOWS, drives the recording rules (an error ratio per window), the alerts
(one per window pair) and their promtool cases. As in sloth, each pair is stated as the
share of the whole SLO window's error budget it would spend, so the burn factor follows
the configured SLO window: 2 % of a 30 d budget in 1 h is a 14.4x burn.

`ALERTS`, at the end, declares the alert (context.Declaration).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...catalogue import PROVIDER_ERRORS, PROVIDER_REQUESTS
from .. import fields
from ..promql.build import Scope, fmt, regex_matcher
from ..promql.durations import minutes, seconds
from .context import Context, Declaration
from .model import PERCENT, Alert, Case, Expected, Inhibition, Recording, Spec, counter, counter_end, series

# upstream failures the caller did not cause; they count against a provider's availability
CALLER_BLAMELESS = ("connection", "internal_server_error", "other", "rate_limit", "service_unavailable", "timeout")


@dataclass(frozen=True)
class Objective:
    """The provider availability SLO, read by the recording rules, LitellmHighErrorRate and
    LitellmProviderErrorBudgetBurn: it sits directly under `alerts:`."""

    slo_objective: float = fields.objective(0.995, "share of a provider's upstream calls that should not fail")
    slo_window: str = fields.duration("30d", "the window the objective holds over (the error budget's)")
    slo_error_types: tuple[str, ...] = fields.error_types(
        CALLER_BLAMELESS, "the error types that count against a provider's availability"
    )
    slo_min_calls: float = fields.positive(
        20,
        "upstream calls a provider must have had in the short window before its error ratio may alert "
        "(a cold start's first failures or a trickle of traffic are no outage)",
    )


def enough_calls(q: Scope, objective: Objective, window: str) -> str:
    """`and` this: the providers with at least `slo_min_calls` upstream calls over `window`."""
    calls = q.sum_increase(q.sample(PROVIDER_REQUESTS), ("provider",), window)
    return f"and on (provider)\n{calls} >= {fmt(objective.slo_min_calls)}\n"


@dataclass(frozen=True)
class ProviderErrorBudgetBurn:
    """Each window pair's `for` is in WINDOWS, with the rest of the pair."""

    page_severity: str = fields.severity("critical", "the severity of the fast-burn pairs (1h/5m, 6h/30m)")
    ticket_severity: str = fields.severity("warning", "the severity of the slow-burn pairs (1d/2h, 3d/6h)")


@dataclass(frozen=True)
class BurnWindow:
    long: str
    short: str  # must also be over the threshold, so the alert stops soon after the errors do
    budget_spent: float  # share of the SLO window's error budget spent in `long` at this burn
    page: bool  # page (critical) or ticket (warning)
    for_: str


WINDOWS = (
    BurnWindow("1h", "5m", 0.02, True, "2m"),
    BurnWindow("6h", "30m", 0.05, True, "15m"),
    BurnWindow("1d", "2h", 0.10, False, "1h"),
    BurnWindow("3d", "6h", 0.10, False, "3h"),
)
ALERT = "LitellmProviderErrorBudgetBurn"


def factor(w: BurnWindow, objective: Objective) -> float:
    return round(w.budget_spent * seconds(objective.slo_window) / seconds(w.long), 6)


def budget(objective: Objective) -> float:
    return round(1 - objective.slo_objective, 9)


def with_history(q: Scope, w: BurnWindow) -> str:
    """`and` this: the providers whose short-window ratio was recorded one short window ago. On a cold start
    (a new provider, new rules) the long window holds as little data as the short one, and a single early
    failure would read as a slow burn; a pair judges a provider only once it has a short window of history."""
    return f"and on (provider)\n{ratio_record(w.short, q)} offset {w.short}\n"


def judges_from(w: BurnWindow) -> int:
    """The first test minute a pair may judge: ratios are first recorded at minute 1 (rate needs two
    samples), and with_history looks one short window back."""
    return 1 + minutes(w.short)


def ratio_record(window: str, scope: Scope) -> str:
    return f"provider:{scope.family(PROVIDER_ERRORS)}:ratio_rate{window}"


def windows() -> list[str]:
    return sorted({d for w in WINDOWS for d in (w.long, w.short)}, key=seconds)


# A ratio that only patient alerts read is recorded in a group of its own, evaluated every SLOW_INTERVAL rather
# than every evaluation interval (as Pyrra evaluates the increase over its whole SLO window every 2m30s): each
# evaluation reads every sample of its window, so these groups are where rule time goes at fleet size, and an
# alert that holds `for` PATIENT or longer before firing is delayed by at most SLOW_INTERVAL of it (a fifth).
# With the default WINDOWS the page's fast pair (1h/5m, for 2m) keeps its ratios at the evaluation interval;
# 30m, 2h, 6h, 1d and 3d (pairs holding 15m, 1h and 3h) are recorded every 2m. rules.recording_groups decides
# from the rules that read each ratio, so an alert added later that reads one impatiently moves it back.
SLOW_INTERVAL = "2m"
PATIENT = "10m"


def counted_errors(objective: Objective) -> str:
    """The matcher of the upstream failures that count against a provider's availability."""
    return regex_matcher("error_type", objective.slo_error_types)


def rates(q: Scope, objective: Objective, window: str) -> tuple[str, str]:
    """(counted failures, upstream calls) per second per provider over `window`: the SLO's two sides, which
    the recording rules and the Sloth spec (generators/slo_specs.py) both read."""
    failed = q.sum_rate(q.sample(PROVIDER_ERRORS), ("provider",), window, counted_errors(objective))
    return failed, q.sum_rate(q.sample(PROVIDER_REQUESTS), ("provider",), window)


def recording_rules(q: Scope, objective: Objective, among: list[str] | None = None) -> list[Recording]:
    """The error ratio over each window of `among` (default: every window), shortest first."""
    rules = []
    for w in windows() if among is None else among:
        failed, total = rates(q, objective, w)
        # `or 0 * total`: a provider with calls and no failures has ratio 0, not no data
        expr = f"(\n  {failed}\nor\n  0 * {total}\n)\n/\n{total}\n"
        rules.append(
            Recording(
                ratio_record(w, q),
                expr,
                f"Share of a provider's upstream calls that failed for a reason the caller did not cause, over {w}.",
            )
        )
    return rules


def alerts(c: Context[ProviderErrorBudgetBurn, Objective]) -> list[Alert]:
    a, burn = c.objective, c.group
    out = []
    for w in WINDOWS:
        f = fmt(factor(w, a))
        threshold = f"({f} * (1 - {fmt(a.slo_objective)}))"
        expr = f"{ratio_record(w.long, c.scope)} > {threshold}\nand\n{ratio_record(w.short, c.scope)} > {threshold}\n"
        expr += enough_calls(c.scope, a, w.short)
        expr += with_history(c.scope, w)
        description = (
            "Provider {provider} is spending its availability error budget " + f"{f}x as fast as a "
            f"{fmt(a.slo_objective * 100)} % objective over {a.slo_window} allows: " + "{value} of "
            f"upstream calls failed over the last {w.long}, and still over the last {w.short}."
        )
        out.append(
            c.alert(
                expr,
                w.for_,
                burn.page_severity if w.page else burn.ticket_severity,
                "A provider is using up its availability error budget too fast.",
                description,
                PERCENT,
                labels={"long_window": w.long, "short_window": w.short},
                meaning=(
                    f"The provider's upstream calls fail (for reasons in `alerts.slo_error_types`: "
                    f"{', '.join(a.slo_error_types)}) often enough that, at this rate, a share of the "
                    f"{a.slo_window} error budget of a {fmt(a.slo_objective * 100)} % objective is gone within "
                    f"the long window. Page-level pairs (1h/5m, 6h/30m) mean the whole budget goes within days; "
                    f"ticket-level pairs (1d/2h, 3d/6h) mean a slow, steady burn."
                ),
                confirm=f'{ratio_record(w.long, c.scope)}{{provider="<provider>"}}',
                action=(
                    "Check the provider's status page and the error types in the Providers dashboard. Route "
                    "traffic away (fallbacks, weights in the router's model_list) while it lasts; for a ticket, "
                    "look for a steady error source such as an expired key or a deprecated model."
                ),
            )
        )
    return out


def _ratio(b: float, end: int | None, window: int, t: int) -> float:
    """Error ratio over `window` minutes at minute t when calls fail at ratio b from 0 until `end`."""
    start = max(t - window, 0)
    failing_until = t if end is None else end
    failing = max(0, min(t, failing_until) - min(start, failing_until))
    return b * failing / (t - start)


def _firing(objective: Objective, rules: list[Alert], b: float, end: int | None, t: int, labels) -> tuple:
    """Which pairs fire at minute t: both ratios over the threshold at every evaluation in `for`."""
    fired = []
    for w, rule in zip(WINDOWS, rules):
        threshold = factor(w, objective) * budget(objective)
        held = range(t - minutes(w.for_), t + 1)
        if held.start >= judges_from(w) and all(
            _ratio(b, end, minutes(w.long), s) > threshold and _ratio(b, end, minutes(w.short), s) > threshold
            for s in held
        ):
            fired.append(Expected(rule, labels, _ratio(b, end, minutes(w.long), t)))
    return tuple(fired)


def spec(c: Context[ProviderErrorBudgetBurn, Objective]) -> Spec:
    """Cases: per pair, a burn just above its factor (fires it and the slower pairs, not the faster)
    before and at its `for`; a burn under every factor; errors that stopped (short window clears)."""
    rules, o = alerts(c), c.objective
    factors = [factor(w, o) for w in WINDOWS]
    labels = {"provider": "openai"}
    cases = []
    for i, f in enumerate(factors):
        b = (f + factors[i - 1]) / 2 if i else f * 1.25
        ratio = b * budget(o)
        if ratio >= 1:
            raise ValueError(
                f"alerts.slo_objective {o.slo_objective}: a {fmt(f)}x burn needs more "
                "than 100 % errors; the objective is too low for these burn rates"
            )
        fire_at = sorted(
            {judges_from(w) + minutes(w.for_) + d for w, g in zip(WINDOWS, factors) if g < b for d in (-1, 0)}
        )
        checks = tuple((t, _firing(o, rules, ratio, None, t, labels)) for t in fire_at)
        cases.append(
            Case(
                f"burn {fmt(b)}x: the {WINDOWS[i].long}/{WINDOWS[i].short} pair and slower ones fire",
                _calls(c, ratio, None, fire_at[-1] + 5),
                checks,
            )
        )
    b = min(factors) / 2
    last = max(judges_from(w) + minutes(w.for_) for w in WINDOWS) + 10
    cases.append(
        Case(
            f"burn {fmt(b)}x: under every factor, nothing fires",
            _calls(c, b * budget(o), None, last + 5),
            ((last, ()),),
        )
    )
    # Half the calls failing from a cold start, but fewer calls in the fastest pair's short window than
    # slo_min_calls: the fast page waits (checked after its `for`, before any slower pair's could pass)
    fast = WINDOWS[0]
    trickle = o.slo_min_calls / minutes(fast.short) / 2
    t = judges_from(fast) + minutes(fast.for_) + 2
    if t < min(judges_from(w) + minutes(w.for_) for w in WINDOWS[1:]):
        cases.append(
            Case(
                f"half failing, too few calls in {fast.short} to judge: the {fast.long}/{fast.short} page waits",
                _calls(c, 0.5, None, t + 5, trickle),
                ((t, ()),),
            )
        )
    # Errors stop at 30m: by 40m the 5m window is clean, so the 1h/5m page resolves while 1h is still high.
    ratio, end, t = factors[0] * 1.25 * budget(o), 30, 40
    cases.append(
        Case(
            "errors stopped: the short window resolves the fast page",
            _calls(c, ratio, end, t + 5),
            ((t, _firing(o, rules, ratio, end, t, labels)),),
        )
    )
    return Spec(tuple(rules), tuple(cases))


def _calls(
    c: Context[ProviderErrorBudgetBurn, Objective], ratio: float, end: int | None, length: int, per_minute: float = 1000
):
    """`per_minute` calls a minute to one provider, `ratio` of them failing (until `end`)."""
    labels = {**c.base, "provider": "openai", "model": "gpt-4o"}
    q, failed = c.scope, ratio * per_minute
    errors = (
        counter(failed, length)
        if end is None
        else f"{counter(failed, end)} {counter_end(failed, end)!r}+0x{length - end}"
    )
    return (
        (series(q.sample(PROVIDER_REQUESTS), {**labels, "status_code": "200"}), counter(per_minute, length)),
        (series(q.sample(PROVIDER_ERRORS), {**labels, "error_type": c.objective.slo_error_types[0]}), errors),
    )


def _step(window: str) -> int:
    """Minutes between test samples: an hour for day-long windows keeps promtool fast."""
    return 60 if seconds(window) >= 86400 and seconds(window) % 3600 == 0 else 1


def recording_cases(q: Scope, objective: Objective, base: dict[str, str]) -> dict[int, dict]:
    """promql_expr_test cases per sample step: the ratio over two replicas, with excluded error
    types left out; and for each window, a failure in the first step is in the window at
    t=window and gone one step later."""
    labels = {**base, "provider": "openai", "model": "gpt-4o"}
    err, req = q.sample(PROVIDER_ERRORS), q.sample(PROVIDER_REQUESTS)
    counted = objective.slo_error_types[0]
    excluded = "bad_request" if "bad_request" not in objective.slo_error_types else None
    out = {}
    for step in sorted({_step(w) for w in windows()}):
        mine = [w for w in windows() if _step(w) == step]
        length = max(minutes(w) for w in mine) // step + 5
        inputs = [
            (series(req, {**labels, "instance": "a", "status_code": "200"}), counter(40, length)),
            (series(err, {**labels, "instance": "a", "error_type": counted}), counter(10, length)),
            (series(req, {**labels, "instance": "b", "status_code": "200"}), counter(120, length)),
            (series(err, {**labels, "instance": "b", "error_type": counted}), counter(30, length)),
            # one failure in the first step only, for the window-length checks
            (series(req, {**labels, "provider": "azure", "instance": "a", "status_code": "200"}), counter(40, length)),
            (
                series(err, {**labels, "provider": "azure", "instance": "a", "error_type": counted}),
                f"0 1+0x{length - 1}",
            ),
        ]
        if excluded:  # the caller's mistakes do not count against the provider
            inputs.append((series(err, {**labels, "instance": "a", "error_type": excluded}), counter(500, length)))
        tests = []
        for w in mine:
            name = ratio_record(w, q)
            tests.append(
                {
                    "expr": f'{name}{{provider="openai"}}',
                    "eval_time": f"{10 * step}m",
                    "exp_samples": [{"labels": series(name, {"provider": "openai"}), "value": 0.25}],
                }
            )
            for t, inside in ((minutes(w), 1), (minutes(w) + step, 0)):
                tests.append(
                    {
                        "expr": f'{name}{{provider="azure"}} > bool 0',
                        "eval_time": f"{t}m",
                        "exp_samples": [{"labels": series("", {"provider": "azure"}), "value": inside}],
                    }
                )
        out[step] = {
            "name": f"recording rules over {', '.join(mine)}: provider error ratios",
            "inputs": inputs,
            "tests": tests,
            "interval": f"{step}m",
        }
    return out


ALERTS = (Declaration(ALERT, ProviderErrorBudgetBurn, spec, reads=Objective),)


def inhibitions(burn: ProviderErrorBudgetBurn) -> tuple[Inhibition, ...]:
    """A page-level burn silences the ticket-level burns and the error rate of the same provider (none when
    the two severities are one)."""
    if burn.page_severity == burn.ticket_severity:
        return ()
    return (
        Inhibition(
            ALERT,
            (ALERT, "LitellmHighErrorRate", "LitellmDeploymentDown", "LitellmDeploymentCoolingDownOften"),
            ("cluster", "provider"),
            "a page-level burn of a provider's error budget says what its ticket-level burns, its error rate and "
            "its deployments' cooldowns say",
            source_severity=burn.page_severity,
            target_severity=burn.ticket_severity,
        ),
    )
