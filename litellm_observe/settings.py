"""One settings object, read from the optional `litellm_observe:` section of the
proxy's config.yaml, with environment overrides.

Environment: `LITELLM_OBSERVE_<KEY>` for a top-level key, `__` for nesting
(`LITELLM_OBSERVE_ALERTS__ERROR_RATIO=0.1`); values are parsed as YAML scalars.
`LITELLM_OBSERVE_CONFIG` names the config file when the proxy's cannot be found.
A bad value raises SettingsError naming the key, at start, never during a request.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import yaml

from .catalogue import DEFAULT_NAMESPACE, DURATION_BUCKETS, ERROR_TYPES, TTFT_BUCKETS, all_labels

SECTION = "litellm_observe"
DEFAULT_LABEL_CAPS = {"team": 500, "provider": 50}
ENV_PREFIX = "LITELLM_OBSERVE_"


class SettingsError(ValueError):
    """A setting is wrong; the message names `litellm_observe.<key>`."""


_DASHBOARD_MATCHER = r'\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\\n]|\\.)*"\s*'
_DASHBOARD_SELECTOR = re.compile(rf"^(?:{_DASHBOARD_MATCHER}(?:,{_DASHBOARD_MATCHER})*,?)?\s*$")
_GRAFANA_DURATION = re.compile(r"^[1-9][0-9]*(s|m|h|d)$")


@dataclass(frozen=True)
class DashboardSettings:
    datasource: str = "Prometheus"  # default datasource name for the template variable
    selector: str = ""  # extra label matchers added to every query, e.g. 'namespace="llm"'
    title_prefix: str = "LiteLLM / "
    tags: tuple[str, ...] = ("litellm", "litellm-observe")
    refresh: str = "30s"

    def __post_init__(self):
        # Checked here, not in _validate, because the CLI flags build this dataclass on their own.
        key = "dashboards."
        _check(key + "datasource", isinstance(self.datasource, str) and self.datasource.strip() != "",
               "must be a non-empty datasource name", self.datasource)
        _check(key + "selector", isinstance(self.selector, str) and bool(_DASHBOARD_SELECTOR.match(self.selector)),
               'must be PromQL label matchers separated by commas, e.g. namespace="llm",env!~"dev.*"',
               self.selector)
        _check(key + "title_prefix", isinstance(self.title_prefix, str) and "\n" not in self.title_prefix,
               "must be a one-line string", self.title_prefix)
        _check(key + "tags", all(isinstance(t, str) and t.strip() for t in self.tags),
               "must be a list of non-empty strings", self.tags)
        _check(key + "refresh", isinstance(self.refresh, str) and bool(_GRAFANA_DURATION.match(self.refresh)),
               "must be a Grafana refresh interval such as 10s, 1m or 1h", self.refresh)

    def matchers(self) -> str:
        """The selector without surrounding blanks or a trailing comma, ready to join a `{...}`."""
        return self.selector.strip().rstrip(",").strip()


@dataclass(frozen=True)
class AlertSettings:
    """Alert and recording rule knobs (litellm_observe.rules); histogram thresholds must be bucket edges."""

    selector: str = ""  # extra label matchers added to every rule expression
    runbook_base_url: str = "https://github.com/litellm-observe/litellm-observe/blob/main/docs/runbooks.md"
    scrape_job: str = "litellm"  # Prometheus job scraping the exporters, for LitellmMetricsAbsent's `up`
    error_ratio: float = 0.05
    error_ratio_for: str = "5m"
    error_ratio_severity: str = "warning"
    ratelimit_headroom: float = 0.2
    ratelimit_headroom_for: str = "2m"
    ratelimit_headroom_severity: str = "warning"
    p99_latency_seconds: float = 30.0
    p99_latency_for: str = "10m"
    p99_latency_severity: str = "warning"
    p95_ttft_seconds: float = 5.0
    p95_ttft_for: str = "10m"
    p95_ttft_severity: str = "warning"
    fallback_failure_ratio: float = 0.5
    fallback_failure_for: str = "10m"
    fallback_failure_severity: str = "warning"
    retries_per_request: float = 1.0
    retries_for: str = "10m"
    retries_severity: str = "warning"
    daily_budget_usd: float = 1000.0
    spend_burn_for: str = "15m"
    spend_burn_severity: str = "warning"
    cache_hit_ratio: float = 0.3
    cache_hit_for: str = "30m"
    cache_hit_severity: str = "info"
    slo_objective: float = 0.995
    slo_window: str = "30d"
    # upstream failures the caller did not cause; they count against a provider's availability
    slo_error_types: tuple[str, ...] = ("connection", "internal_server_error", "other", "rate_limit",
                                        "service_unavailable", "timeout")
    absent_for: str = "5m"
    absent_severity: str = "critical"  # with no metrics, no other alert can fire
    internal_errors_for: str = "5m"
    internal_errors_severity: str = "warning"
    label_overflow_for: str = "5m"
    label_overflow_severity: str = "warning"
    severity_page: str = "critical"
    severity_ticket: str = "warning"


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
    dashboards: DashboardSettings = field(default_factory=DashboardSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)

    def cap_for(self, label: str) -> int:
        return self.label_caps.get(label) or DEFAULT_LABEL_CAPS.get(label) or self.label_cap

    def public(self) -> dict:
        """The settings without secrets, for logs and the exporter's spawn."""
        data = dataclasses.asdict(self)
        for secret in ("bearer_token", "basic_auth_password"):
            if data[secret] is not None:
                data[secret] = "***"
        return data


_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
_MATCHER = r'[a-zA-Z_][a-zA-Z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"'
_SELECTOR = re.compile(rf"^\s*({_MATCHER}\s*(,\s*{_MATCHER}\s*)*,?)?\s*$")
SEVERITIES = ("critical", "warning", "info")


SECRETS = frozenset({"bearer_token", "basic_auth_password"})


def _check(key: str, ok: bool, message: str, value: Any) -> None:
    if not ok:
        shown = f"a value of type {type(value).__name__}" if key.split(".")[-1] in SECRETS else repr(value)
        raise SettingsError(f"{SECTION}.{key}: {message}, got {shown}")


def _coerce(key: str, ftype: Any, value: Any) -> Any:
    """Check one value against the dataclass field's type."""
    t = str(ftype)
    if t == "bool":
        _check(key, isinstance(value, bool), "must be true or false", value)
    elif t == "int":
        _check(key, isinstance(value, int) and not isinstance(value, bool), "must be an integer", value)
    elif t == "float":
        _check(key, isinstance(value, (int, float)) and not isinstance(value, bool), "must be a number", value)
        value = float(value)
    elif t == "str":
        _check(key, isinstance(value, str), "must be a string", value)
    elif t == "str | None":
        _check(key, value is None or isinstance(value, str), "must be a string", value)
    elif t == "tuple[str, ...]":
        _check(key, isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value),
               "must be a list of strings", value)
        value = tuple(value)
    elif t == "Mapping[str, int]":
        _check(key, isinstance(value, dict), "must be a mapping of label name to integer", value)
        for label, cap in value.items():
            _check(f"{key}.{label}", label in all_labels(), f"unknown label (known: {', '.join(all_labels())})", label)
            _check(f"{key}.{label}", isinstance(cap, int) and not isinstance(cap, bool) and cap >= 1,
                   "must be an integer >= 1", cap)
        value = dict(value)
    return value


_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")


def valid_address(value: object) -> bool:
    """An IPv4 or IPv6 literal, or a host name, that a server can bind."""
    import ipaddress

    if not isinstance(value, str) or not value:
        return False
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return bool(_HOSTNAME.match(value)) and not value.replace(".", "").isdigit()


def _build(cls: type, data: Mapping[str, Any], prefix: str) -> Any:
    if not isinstance(data, Mapping):
        raise SettingsError(f"{SECTION}{'.' + prefix.rstrip('.') if prefix else ''}: must be a mapping, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            raise SettingsError(f"{SECTION}.{prefix}{key}: unknown setting (known: {', '.join(sorted(fields))})")
        ftype = fields[key].type
        if dataclasses.is_dataclass(_SUBSECTIONS.get(key)) and not prefix:
            kwargs[key] = _build(_SUBSECTIONS[key], value if value is not None else {}, f"{key}.")
        else:
            kwargs[key] = _coerce(prefix + key, ftype, value)
    return cls(**kwargs)


_SUBSECTIONS = {"dashboards": DashboardSettings, "alerts": AlertSettings}


def _validate(s: Settings) -> Settings:
    _check("namespace", s.namespace == "" or bool(_NAME.match(s.namespace)),
           "must be a Prometheus metric name prefix ([a-zA-Z_][a-zA-Z0-9_]*)", s.namespace)
    _check("port", 1 <= s.port <= 65535, "must be a TCP port 1..65535", s.port)
    _check("label_cap", s.label_cap >= 1, "must be >= 1", s.label_cap)
    _check("inflight_timeout_seconds", s.inflight_timeout_seconds > 0, "must be > 0", s.inflight_timeout_seconds)
    _check("basic_auth_password", (s.basic_auth_username is None) == (s.basic_auth_password is None),
           "basic_auth_username and basic_auth_password go together", "")
    for key in ("bearer_token", "basic_auth_username", "basic_auth_password"):
        if getattr(s, key) == "":
            raise SettingsError(f"{SECTION}.{key}: must not be empty (leave it out to turn authentication off)")
    _check("bind_address", valid_address(s.bind_address),
           "must be an IPv4 or IPv6 address (0.0.0.0, ::, 127.0.0.1, ::1) or a host name", s.bind_address)
    if s.metrics_dir is not None:
        _check("metrics_dir", s.metrics_dir.strip() != "" and "\0" not in s.metrics_dir,
               "must be a directory path", s.metrics_dir)
    a = s.alerts
    for key in ("error_ratio", "ratelimit_headroom", "fallback_failure_ratio", "cache_hit_ratio"):
        _check(f"alerts.{key}", 0 < getattr(a, key) < 1, "must be between 0 and 1", getattr(a, key))
    _check("alerts.slo_objective", 0.5 < a.slo_objective < 1, "must be between 0.5 and 1", a.slo_objective)
    for f in dataclasses.fields(a):
        value = getattr(a, f.name)
        if f.name.endswith("_for") or f.name == "slo_window":
            _check(f"alerts.{f.name}", bool(_DURATION.match(value)), "must be a Prometheus duration like 5m", value)
        elif f.name.endswith("_severity") or f.name.startswith("severity_"):
            _check(f"alerts.{f.name}", value in SEVERITIES, f"must be one of {', '.join(SEVERITIES)}", value)
    for key in ("retries_per_request", "daily_budget_usd"):
        _check(f"alerts.{key}", getattr(a, key) > 0, "must be > 0", getattr(a, key))
    # a quantile can only exceed a bucket edge below the last one (above it, it is clamped to the last edge)
    _check("alerts.p99_latency_seconds", a.p99_latency_seconds in DURATION_BUCKETS[:-1],
           f"must be a request_duration_seconds bucket edge below the last ({DURATION_BUCKETS[:-1]})",
           a.p99_latency_seconds)
    _check("alerts.p95_ttft_seconds", a.p95_ttft_seconds in TTFT_BUCKETS[:-1],
           f"must be a time_to_first_token_seconds bucket edge below the last ({TTFT_BUCKETS[:-1]})",
           a.p95_ttft_seconds)
    _check("alerts.selector", bool(_SELECTOR.match(a.selector)), 'must be label matchers like namespace="llm"',
           a.selector)
    _check("alerts.scrape_job", a.scrape_job != "", "must name the Prometheus job scraping the exporter",
           a.scrape_job)
    _check("alerts.slo_error_types", bool(a.slo_error_types) and set(a.slo_error_types) <= set(ERROR_TYPES),
           f"must be a non-empty list of error types ({', '.join(ERROR_TYPES)})", a.slo_error_types)
    return s


def _env_overrides(environ: Mapping[str, str]) -> dict:
    out: dict = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
            continue
        path = name[len(ENV_PREFIX):].lower().split("__")
        try:
            # a string setting takes the variable as it is: a token "123456" stays a string
            kind = _str_field(path)
            # ... and an empty secret stays empty, so it is an error rather than auth silently off
            keep_empty = kind == "str" or path[-1] in SECRETS
            value = (raw if raw or keep_empty else None) if kind else yaml.safe_load(raw) if raw != "" else None
        except yaml.YAMLError as e:
            raise SettingsError(f"{SECTION}.{'.'.join(path)} (from {name}): not a YAML value: {e}") from None
        target, where = out, []
        for part in path[:-1]:
            where.append(part)
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise SettingsError(f"{SECTION}.{'.'.join(where)}: set both as a value and as a section "
                                    f"(by {ENV_PREFIX}{'__'.join(where).upper()} and {name})")
        if isinstance(target.get(path[-1]), dict):
            raise SettingsError(f"{SECTION}.{'.'.join(path)}: set both as a value and as a section "
                                f"(by {name} and {ENV_PREFIX}{'__'.join(path).upper()}__...)")
        target[path[-1]] = value
    return out


def _str_field(path: list[str]) -> str | None:
    """'str' or 'str | None' when the setting at `path` is a string, else None."""
    cls = Settings
    for part in path[:-1]:
        cls = _SUBSECTIONS.get(part) if cls is Settings else None
        if cls is None:
            return None
    kind = {f.name: str(f.type) for f in dataclasses.fields(cls)}.get(path[-1])
    return kind if kind in ("str", "str | None") else None


def _merge(base: dict, over: dict) -> dict:
    merged = dict(base)
    for k, v in over.items():
        merged[k] = _merge(merged[k], v) if isinstance(v, dict) and isinstance(merged.get(k), dict) else v
    return merged


def dump(settings: Settings) -> str:
    """The settings as JSON that `load(section=json.loads(...), environ={})` turns back into them
    (secrets included: for the pipe to the exporter only, never for a log)."""
    return json.dumps(dataclasses.asdict(settings))


def proxy_config_path(environ: Mapping[str, str] = os.environ) -> str | None:
    """Where the running proxy's config.yaml is, as far as a worker can tell."""
    explicit = environ.get(ENV_PREFIX + "CONFIG") or environ.get("CONFIG_FILE_PATH")
    if explicit:
        return explicit
    import sys

    server = sys.modules.get("litellm.proxy.proxy_server")
    path = getattr(server, "user_config_file_path", None)
    if isinstance(path, str) and path:
        return path
    worker = environ.get("WORKER_CONFIG")
    if worker:
        try:
            data = json.loads(worker)
        except ValueError:
            return worker if os.path.isfile(worker) else None
        if isinstance(data, dict) and isinstance(data.get("config"), str):
            return data["config"]
    return None


def load(config_path: str | None = None, environ: Mapping[str, str] = os.environ, section: Mapping | None = None) -> Settings:
    """Settings from `section` (or the config file's section), then the environment."""
    if section is None:
        section = {}
        if config_path and not os.path.isfile(config_path):
            raise SettingsError(f"{config_path}: no such config file")
        path = config_path or proxy_config_path(environ)
        if path and os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                try:
                    doc = yaml.safe_load(f)
                    doc = {} if doc is None else doc
                except yaml.YAMLError as e:
                    raise SettingsError(f"{path}: not valid YAML: {e}") from None
            if not isinstance(doc, dict):
                raise SettingsError(f"{path}: the top level must be a mapping (the proxy's config.yaml), "
                                    f"got a {type(doc).__name__}")
            section = doc.get(SECTION)
            if section is None:  # absent, or an empty `litellm_observe:` line
                section = {}
    if not isinstance(section, Mapping):
        raise SettingsError(f"{SECTION}: must be a mapping of settings, got {section!r}")
    data = _merge(dict(section), _env_overrides(environ))
    return _validate(_build(Settings, data, ""))
