"""README blocks generated from the catalogue (metric table, error mapping, settings)."""
from __future__ import annotations

import dataclasses

from ..worker.error_types import BY_CLASS, BY_STATUS
from ..catalogue import CATALOGUE, Kind
from ..settings import Settings


def metric_table(settings: Settings) -> str:
    rows = ["| metric | type | labels | what it counts |", "| --- | --- | --- | --- |"]
    for m in CATALOGUE:
        name = m.sample_names(settings.namespace)[0] if m.kind is Kind.COUNTER else m.family(settings.namespace)
        kind = m.kind.value + (f" ({m.gauge_mode.value})" if m.gauge_mode else "")
        labels = ", ".join(f"`{label}`" for label in m.labels) or "none"
        help_text = m.help.replace("|", "\\|")
        rows.append(f"| `{name}` | {kind} | {labels} | {help_text} |")
    return "\n".join(rows) + "\n"


def error_table(settings: Settings) -> str:
    rows = ["| LiteLLM exception class (or a subclass) | error_type |", "| --- | --- |"]
    rows += [f"| `{cls}` | `{et}` |" for cls, et in BY_CLASS.items()]
    rows += ["", "Other exceptions, by status code:", "", "| status | error_type |", "| --- | --- |"]
    rows += [f"| {code} | `{et}` |" for code, et in sorted(BY_STATUS.items())]
    rows += ["| other 4xx | `bad_request` |", "| anything else | `other` |"]
    return "\n".join(rows) + "\n"


def settings_table(settings: Settings) -> str:
    defaults = Settings()
    rows = ["| key | default | environment |", "| --- | --- | --- |"]
    for f in dataclasses.fields(Settings):
        value = getattr(defaults, f.name)
        if dataclasses.is_dataclass(value):
            for sub in dataclasses.fields(value):
                rows.append(f"| `{f.name}.{sub.name}` | `{getattr(value, sub.name)!r}` | "
                            f"`LITELLM_OBSERVE_{f.name.upper()}__{sub.name.upper()}` |")
        else:
            rows.append(f"| `{f.name}` | `{value!r}` | `LITELLM_OBSERVE_{f.name.upper()}` |")
    return "\n".join(rows) + "\n"


def readme_blocks(settings: Settings) -> dict[str, str]:
    return {"metrics": metric_table(settings), "error-types": error_table(settings),
            "settings": settings_table(settings)}
