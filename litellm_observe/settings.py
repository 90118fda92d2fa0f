"""The runtime settings: what a proxy's workers and its exporter need, read from the optional
`litellm_observe:` section of the proxy's config.yaml, with `LITELLM_OBSERVE_<KEY>` overrides
(`__` for nesting, values read as YAML; config.py). `LITELLM_OBSERVE_CONFIG` names the config file
when the proxy's cannot be found.

Invariants: a bad value raises SettingsError naming the key, at start, never during a request. The
section's `dashboards:` and `alerts:` keys (and their LITELLM_OBSERVE_DASHBOARDS__/ALERTS__
variables) are generation options, read by the generators (generators/options.py): they are
ignored here, never validated, so no dashboard or alert option can ever stop a proxy.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .catalogue import CALLER_DIMENSIONS, DEFAULT_NAMESPACE, METADATA_DIMENSION_PREFIX
from .config import (
    SECRETS,
    SECTION,
    SettingsError,
    build,
    check,
    env_overrides,
    merge,
    proxy_config_path,
    read_section,
    section_mapping,
    string_kind,
)

__all__ = ["SECRETS", "SECTION", "Settings", "SettingsError", "dump", "load", "proxy_config_path", "valid_address"]

DEFAULT_LABEL_CAPS = {"team": 500, "provider": 50}
# The enabled caller dimensions share this many values (each gets an equal part, unless label_caps names it), so
# turning more of them on never multiplies the series: caller series stay under CALLER_VALUES x (status codes + 3).
CALLER_VALUES = 1000
MAX_DIMENSIONS = 8
MAX_EVENT_BATCH_SECONDS = 1.0  # how late a hook call may be recorded at most (event_batch_seconds)
# metadata keys that name a secret or a person's address: never a caller dimension (compared lower-cased, `-` as `_`)
PRIVATE_METADATA_KEYS = (
    "api_key",
    "key",
    "authorization",
    "password",
    "secret",
    "token",
    "email",
    "user_email",
    "ip",
    "ip_address",
    "requester_ip_address",
    "user_agent",
    "headers",
)
PRIVATE_METADATA_PARTS = ("key", "token", "secret", "password", "email", "ip_address", "user_agent", "auth")
_METADATA_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
GENERATION_KEYS = ("dashboards", "alerts")  # read by the generators, ignored here


@dataclass(frozen=True)
class Settings:
    namespace: str = DEFAULT_NAMESPACE
    exporter: bool = True  # serve aggregated metrics from one process per proxy run
    port: int = 9464
    # All interfaces, like node_exporter and prometheus_client's start_http_server: Prometheus
    # normally scrapes a pod or host address. Set 127.0.0.1 when only a local agent scrapes.
    bind_address: str = "0.0.0.0"
    metrics_dir: str | None = None  # default: a directory of this user's own (README "Safe on a shared host")
    metrics_dir_group_shared: bool = False  # 0770/0660 instead of 0700/0600: a sidecar of the same group
    label_cap: int = 200  # distinct values per label per proxy run
    # per-label caps; labels not named keep these defaults, then label_cap
    label_caps: Mapping[str, int] = field(default_factory=dict)
    bearer_token: str | None = None  # exporter auth; never logged
    basic_auth_username: str | None = None
    basic_auth_password: str | None = None
    inflight_timeout_seconds: float = 900.0  # a request not ended after this no longer counts as in flight
    error_log_interval_seconds: float = 60.0  # internal errors are logged at most once per hook per interval
    # hook calls made in the event loop are recorded in batches, at most this long after the call (0: at once)
    event_batch_seconds: float = 1.0
    # caller dimensions (README "Who spent it"): key_alias, user, end_user, tags, metadata.<key>; none by default
    attribution: tuple[str, ...] = ()

    def cap_for(self, label: str) -> int:
        """The cap of a labeller key (cap_label): a label, `entity.<type>` (the `entity` cap, per type) or
        `caller.<dimension>` (label_caps names the dimension itself, else its share of CALLER_VALUES)."""
        label = cap_label(label)
        if label.startswith("caller."):
            dimension = label[len("caller.") :]
            return self.label_caps.get(dimension) or max(1, CALLER_VALUES // max(1, len(self.attribution)))
        return self.label_caps.get(label) or DEFAULT_LABEL_CAPS.get(label) or self.label_cap

    def public(self) -> dict:
        """The settings without secrets, for logs and the exporter's spawn."""
        data = dataclasses.asdict(self)
        for secret in SECRETS:
            if data[secret] is not None:
                data[secret] = "***"
        return data


def cap_label(key: str) -> str:
    """What a labeller key is capped and counted under: `caller.<dimension>` as it is, `entity.<type>` as
    `entity` (budget entities share the `entity` cap, each type counted apart), a plain label as itself."""
    return key if key.startswith("caller.") else key.split(".", 1)[0]


_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")  # fullmatch only: `$` alone would let "acme\n" through
_HOSTNAME = re.compile(
    r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)


def valid_address(value: object) -> bool:
    """An IPv4 or IPv6 literal, or a host name, that a server can bind."""
    import ipaddress

    if not isinstance(value, str) or not value:
        return False
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return bool(_HOSTNAME.fullmatch(value)) and not value.replace(".", "").isdigit()


def dimension_problem(name: object) -> str | None:
    """Why `name` cannot be a caller dimension, or None when it can."""
    if not isinstance(name, str):
        return "must be a string"
    if name in CALLER_DIMENSIONS:
        return None
    if not name.startswith(METADATA_DIMENSION_PREFIX):
        return f"must be one of {', '.join(CALLER_DIMENSIONS)} or metadata.<key>"
    key = name[len(METADATA_DIMENSION_PREFIX) :]
    if not _METADATA_KEY.fullmatch(key):
        return "metadata.<key>: the key must be 1 to 64 letters, digits, _ or -"
    folded = key.lower().replace("-", "_")
    if folded in PRIVATE_METADATA_KEYS or any(part in folded for part in PRIVATE_METADATA_PARTS):
        return "metadata.<key>: refused, the key names a secret, an address or a client's identity"
    return None


def _validate(s: Settings) -> Settings:
    for name in s.attribution:
        problem = dimension_problem(name)
        check("attribution", problem is None, problem or "", name)
    check("attribution", len(set(s.attribution)) == len(s.attribution), "names a dimension twice", s.attribution)
    check("attribution", len(s.attribution) <= MAX_DIMENSIONS, f"at most {MAX_DIMENSIONS} dimensions", s.attribution)
    check(
        "namespace",
        s.namespace == "" or bool(_NAME.fullmatch(s.namespace)),
        "must be a Prometheus metric name prefix ([a-zA-Z_][a-zA-Z0-9_]*)",
        s.namespace,
    )
    check("port", 1 <= s.port <= 65535, "must be a TCP port 1..65535", s.port)
    check("label_cap", s.label_cap >= 1, "must be >= 1", s.label_cap)
    check("inflight_timeout_seconds", s.inflight_timeout_seconds > 0, "must be > 0", s.inflight_timeout_seconds)
    check("error_log_interval_seconds", s.error_log_interval_seconds > 0, "must be > 0", s.error_log_interval_seconds)
    check(
        "event_batch_seconds",
        0 <= s.event_batch_seconds <= MAX_EVENT_BATCH_SECONDS,
        f"must be between 0 (record at once) and {MAX_EVENT_BATCH_SECONDS}",
        s.event_batch_seconds,
    )
    check(
        "basic_auth_password",
        (s.basic_auth_username is None) == (s.basic_auth_password is None),
        "basic_auth_username and basic_auth_password go together",
        "",
    )
    for key in ("bearer_token", "basic_auth_username", "basic_auth_password"):
        if getattr(s, key) == "":
            raise SettingsError(f"{SECTION}.{key}: must not be empty (leave it out to turn authentication off)")
    check(
        "bind_address",
        valid_address(s.bind_address),
        "must be an IPv4 or IPv6 address (0.0.0.0, ::, 127.0.0.1, ::1) or a host name",
        s.bind_address,
    )
    if s.metrics_dir is not None:
        check(
            "metrics_dir",
            s.metrics_dir.strip() != "" and "\0" not in s.metrics_dir,
            "must be a directory path",
            s.metrics_dir,
        )
    return s


def dump(settings: Settings) -> str:
    """The settings as JSON that `load(section=json.loads(...), environ={})` turns back into them
    (secrets included: for the pipe to the exporter only, never for a log)."""
    return json.dumps(dataclasses.asdict(settings))


def load(
    config_path: str | None = None, environ: Mapping[str, str] = os.environ, section: Mapping | None = None
) -> Settings:
    """Settings from `section` (or the config file's section), then the environment; the
    generation keys are left out unread."""
    if section is None:
        section = read_section(config_path, environ)
    section = {k: v for k, v in section_mapping(section).items() if k not in GENERATION_KEYS}
    runtime = env_overrides(environ, lambda key: key not in GENERATION_KEYS, lambda path: string_kind(Settings, path))
    return _validate(build(Settings, merge(section, runtime), also_known=GENERATION_KEYS))
