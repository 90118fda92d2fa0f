"""The label-matcher grammar, written once: `name="value", name!~"regex", ...`.

`parse` is the only reader of a configured selector: option validation, the dashboards' and the
rules' query builders and the rule tests' input series all go through it. A selector is zero or more
matchers separated by commas (a trailing comma and blanks around are allowed); a value is a
double-quoted PromQL string on one line, kept as written (escapes included), so rendering a parsed
selector never changes what it matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
OPERATORS = ("=~", "!~", "!=", "=")
_MATCHER = re.compile(rf'\s*({LABEL})\s*(=~|!~|!=|=)\s*"((?:[^"\\\n]|\\.)*)"\s*')
EXAMPLE = 'namespace="llm",env!~"dev.*"'


class SelectorError(ValueError):
    """Not label matchers; the message says where it stopped making sense."""


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str  # as written between the quotes

    def __str__(self) -> str:
        return f'{self.label}{self.op}"{self.value}"'


def parse(text: str) -> tuple[Matcher, ...]:
    """'a="b", c!~"d",' -> (a="b", c!~"d"); raises SelectorError for anything else."""
    matchers, pos = [], 0
    while text[pos:].strip():
        m = _MATCHER.match(text, pos)
        if not m:
            raise SelectorError(f"expected a label matcher like {EXAMPLE} at {text[pos:]!r}")
        matchers.append(Matcher(*m.groups()))
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                raise SelectorError(f"expected a comma at {text[pos:]!r}")
            pos += 1
    return tuple(matchers)


def is_selector(text: object) -> bool:
    if not isinstance(text, str):
        return False
    try:
        parse(text)
    except SelectorError:
        return False
    return True


def render(matchers: tuple[Matcher, ...]) -> str:
    return ", ".join(str(m) for m in matchers)


def satisfying_labels(matchers: tuple[Matcher, ...], key: str) -> dict[str, str]:
    """Label values a series needs to be selected, for test input series: `=` values as they are,
    a value matching each `=~` regex (its first alternative); negative matchers need nothing."""
    labels = {}
    for m in matchers:
        if m.op == "=":
            labels[m.label] = m.value
        elif m.op == "=~":
            candidate = m.value.split("|")[0].strip("^$()")
            if not re.fullmatch(m.value, candidate):
                raise SelectorError(
                    f'{key}: cannot derive a test value for {m.label}=~{m.value!r}; use {m.label}="value"'
                )
            labels[m.label] = candidate
    return labels


def equality_labels(matchers: tuple[Matcher, ...]) -> dict[str, str]:
    """What `absent()` keeps of a selector: its equality matchers."""
    return {m.label: m.value for m in matchers if m.op == "="}
