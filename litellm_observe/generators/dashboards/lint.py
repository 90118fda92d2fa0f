"""Every panel query of the dashboards through the PromQL linter (generators/promql/lint.py).

`problems(dashboards, namespace, records)` takes the dashboards' JSON by uid and returns one message
per problem, prefixed by the dashboard and the panel; empty means clean.
"""
from __future__ import annotations

from ..promql import lint as promql_lint


def iter_panels(data: dict):
    """Every panel of a dashboard's JSON, rows' nested panels included."""
    for panel in data.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def problems(dashboards: dict[str, dict], namespace: str, records: frozenset[str] = frozenset()) -> list[str]:
    out = []
    for uid, data in dashboards.items():
        for panel in iter_panels(data):
            for target in panel.get("targets", []):
                found = promql_lint.problems(target.get("expr", ""), namespace, records)
                out += [f"{uid} / {panel.get('title', '?')} / {target.get('refId', '?')}: {p}" for p in found]
    return out
