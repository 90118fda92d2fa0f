"""What the rules need from PromQL besides the shared builders (generators/promql/build.py):
durations, and label values for unit-test input series that satisfy the configured selector."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..promql import selectors
from ..promql.build import UP as PROMETHEUS_UP  # noqa: F401 - health.py reads it from here
from ..promql.build import fmt, regex_matcher  # noqa: F401 - the rules read these from here
from ..promql.durations import minutes, seconds  # noqa: F401 - the rules read durations from here

if TYPE_CHECKING:
    from ..options import Options


def selector_labels(options: Options) -> dict[str, str]:
    """Label values that satisfy the configured selector, for unit-test input series."""
    return selectors.satisfying_labels(options.alerts.matchers(), "alerts.selector")


def equality_labels(options: Options) -> dict[str, str]:
    return selectors.equality_labels(options.alerts.matchers())
