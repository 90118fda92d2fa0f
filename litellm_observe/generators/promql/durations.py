"""Prometheus durations ('5m', '1h30m'): checked, and read as seconds or minutes."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PART = re.compile(r"([0-9]+)(ms|s|m|h|d|w|y)")
_DURATION = re.compile(r"([0-9]+(ms|s|m|h|d|w|y))+")


def is_duration(text: object) -> bool:
    return isinstance(text, str) and bool(_DURATION.fullmatch(text))


def seconds(duration: str) -> float:
    """'1h30m' -> 5400.0 (a duration option, checked by is_duration)."""
    return sum(int(n) * _UNITS[u] for n, u in _PART.findall(duration))


def minutes(duration: str) -> int:
    return int(seconds(duration) // 60)
