"""README blocks generated from the catalogue (metric table, error mapping) and from the
declarations of the runtime settings and the generation options (their tables)."""

from __future__ import annotations

import dataclasses

from ..catalogue import CATALOGUE, Kind
from ..settings import Settings
from ..worker.error_types import BY_CLASS, BY_STATUS
from . import fields
from .options import GenerationSection, Options


def metric_table(options: Options) -> str:
    rows = ["| metric | type | labels | what it counts |", "| --- | --- | --- | --- |"]
    for m in CATALOGUE:
        name = m.sample_names(options.namespace)[0] if m.kind is Kind.COUNTER else m.family(options.namespace)
        kind = m.kind.value + (f" ({m.gauge_mode.value})" if m.gauge_mode else "")
        labels = ", ".join(f"`{label}`" for label in m.labels) or "none"
        help_text = m.help.replace("|", "\\|")
        rows.append(f"| `{name}` | {kind} | {labels} | {help_text} |")
    return "\n".join(rows) + "\n"


def error_table(options: Options) -> str:
    rows = ["| LiteLLM exception class (or a subclass) | error_type |", "| --- | --- |"]
    rows += [f"| `{cls}` | `{et}` |" for cls, et in BY_CLASS.items()]
    rows += ["", "Other exceptions, by status code:", "", "| status | error_type |", "| --- | --- |"]
    rows += [f"| {code} | `{et}` |" for code, et in sorted(BY_STATUS.items())]
    rows += ["| other 4xx | `bad_request` |", "| anything else | `other` |"]
    return "\n".join(rows) + "\n"


def settings_table(options: Options) -> str:
    """The runtime settings, the keys a proxy reads."""
    defaults = Settings()
    rows = ["| key | default | environment |", "| --- | --- | --- |"]
    for f in dataclasses.fields(Settings):
        rows.append(f"| `{f.name}` | `{getattr(defaults, f.name)!r}` | `LITELLM_OBSERVE_{f.name.upper()}` |")
    return "\n".join(rows) + "\n"


def options_table(options: Options) -> str:
    """The generation options, the keys only the generators read, with what each must be."""
    rows = ["| key | default | must be | what it sets |", "| --- | --- | --- | --- |"]
    for key, f, default, alert in fields.leaves(GenerationSection):
        doc = f"{alert}: {f.metadata['doc']}" if alert else f.metadata["doc"]
        rows.append(f"| `{key}` | `{default!r}` | {f.metadata['must_be']} | {doc} |")
    return "\n".join(rows) + "\n"


def readme_blocks(options: Options) -> dict[str, str]:
    return {
        "metrics": metric_table(options),
        "error-types": error_table(options),
        "settings": settings_table(options),
        "generation-options": options_table(options),
    }
