"""Command line: `litellm_observe generate | check | serve-metrics | demo | fake-provider`."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys

from . import settings as settings_mod

FAKE_PROVIDER_PORT = 4010  # beside the proxy's 4000 of the README


def _options(args):
    """The generators' options: the config's section, the environment, then the dashboard flags
    (checked exactly as the config's `dashboards:` keys are)."""
    from .generators import options

    flags = {k: getattr(args, k, None) for k in ("datasource", "selector", "title_prefix", "refresh")}
    flags = {k: v for k, v in flags.items() if v is not None}
    if getattr(args, "tags", None) is not None:
        flags["tags"] = [t.strip() for t in args.tags.split(",") if t.strip()]
    return options.load(args.config, dashboards=flags)


def _generate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out",
        default=".",
        help="folder that receives dashboards/, alerts/ (rules and their tests), "
        "docs/ (runbooks), mixin/, and with --kubernetes kubernetes/; a "
        "README.md there gets its generated tables (default: .)",
    )
    p.add_argument(
        "--config",
        help="config.yaml whose litellm_observe: section to read (default: "
        "$LITELLM_OBSERVE_CONFIG, else $CONFIG_FILE_PATH, else none: the defaults)",
    )
    p.add_argument("--datasource", help="default Prometheus datasource name")
    p.add_argument("--selector", help='extra label matchers for every query, e.g. namespace="llm"')
    p.add_argument("--title-prefix", dest="title_prefix", help="dashboard title prefix")
    p.add_argument("--tags", help="comma-separated dashboard tags")
    p.add_argument("--refresh", help="dashboard refresh interval, e.g. 30s")
    p.add_argument(
        "--kubernetes",
        action="store_true",
        help="also write Grafana sidecar ConfigMaps, a PrometheusRule and a PodMonitor (Prometheus Operator)",
    )


def cmd_generate(args) -> int:
    from .generators import generate

    options = _options(args)
    if args.check:
        bad = generate.stale(args.out, options, args.kubernetes)
        for rel in bad:
            print(
                f"stale: {os.path.join(args.out, rel)} differs from what `litellm_observe generate` writes",
                file=sys.stderr,
            )
        if bad:
            print(f"run `{_regenerate_command(args)}` and commit the result", file=sys.stderr)
            return 1
        print("generated files are up to date")
        return 0
    try:
        result = generate.write(args.out, options, args.kubernetes)
    except generate.GenerateError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for rel in result.written:
        print(f"wrote {os.path.join(args.out, rel)}")
    for rel in result.removed:
        print(f"removed {os.path.join(args.out, rel)} (generate wrote it before and no longer does)")
    for rel in result.kept:
        print(
            f"kept {os.path.join(args.out, rel)}: generate wrote it before and no longer does, but it was edited "
            "since; remove it yourself if it is not needed"
        )
    return 0


def _regenerate_command(args) -> str:
    """The `generate` command that rewrites what `generate --check` found stale: the same options."""
    words = ["litellm_observe", "generate"]
    for flag, value in (
        ("--config", args.config),
        ("--out", None if args.out == "." else args.out),
        ("--datasource", args.datasource),
        ("--selector", args.selector),
        ("--title-prefix", args.title_prefix),
        ("--tags", args.tags),
        ("--refresh", args.refresh),
    ):
        if value is not None:
            words += [flag, shlex.quote(value)]
    if args.kubernetes:
        words.append("--kubernetes")
    return " ".join(words)


def cmd_check(args) -> int:
    from .generators import check

    return check.check_all(args.out, _options(args))


def cmd_serve(args) -> int:
    from .exporter import service

    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    s = settings_mod.load(args.config)
    if not os.path.isdir(args.dir):
        print(
            f"error: --dir {args.dir}: no such directory (the proxy's metrics_dir, or one of its run-* directories)",
            file=sys.stderr,
        )
        return 2
    # As its container's first process (a sidecar), SIGTERM would be ignored without a handler: PID 1 gets
    # no default signal action. Stop as on Ctrl-C instead, so a pod stops at once.
    signal.signal(signal.SIGTERM, _stop)
    code = service.run(args.dir, s, None, address=args.address, port=args.port)
    return 2 if code in (service.EXIT_BIND, service.EXIT_UNSAFE) else code


def _stop(signum, frame):
    raise KeyboardInterrupt


def cmd_demo(args) -> int:
    from .demo import run

    return run.run(args.duration, args.scenario, args.workers, args.clients)


def cmd_fake_provider(args) -> int:
    import threading

    from .demo import stack
    from .demo.upstream import FakeUpstream

    stack.direct_loopback(os.environ)
    try:
        upstream = FakeUpstream(port=args.port)
    except OSError as e:
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {e.strerror or e}", file=sys.stderr)
        return 2
    with upstream:
        print(
            f"fake OpenAI-compatible provider on {upstream.base_url} (Ctrl-C stops it); point a proxy at it:\n"
            f"  export OPENAI_BASE_URL={upstream.base_url} OPENAI_API_KEY=fake",
            flush=True,
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} is not above 0")
        return value

    return parse


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port (1..65535)")
    return port


def _address(text: str) -> str:
    if not settings_mod.valid_address(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an IPv4 or IPv6 address or a host name")
    return text


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="litellm_observe", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="write dashboards/ and alerts/ (or check them with --check)")
    _generate_args(g)
    g.add_argument("--check", action="store_true", help="exit 1 and name the files that are stale")
    g.set_defaults(func=cmd_generate)
    c = sub.add_parser(
        "check",
        help="promtool check and test the rules, lint the rules and the dashboards of the "
        "generated output (needs promtool on the PATH: Debian's `prometheus` package)",
        description="Runs `promtool check rules` and `promtool test rules` on OUT/alerts/ (promtool "
        "must be on the PATH: Debian and Ubuntu ship it in the `prometheus` package) "
        "and lints the rules and the dashboards.",
    )
    c.add_argument(
        "--out",
        default=".",
        help="folder holding what `generate --out` wrote: alerts/, dashboards/, docs/ (default: .)",
    )
    c.add_argument("--config", help="the config.yaml `generate` read (its litellm_observe: section)")
    c.set_defaults(func=cmd_check)
    s = sub.add_parser("serve-metrics", help="serve the aggregate of a metrics directory (sidecar)")
    s.add_argument("--dir", required=True, help="a run directory (with w-*.lob files)")
    s.add_argument("--address", type=_address, default=None, help="bind address (default: the bind_address setting)")
    s.add_argument("--port", type=_port, default=None, help="port (default: the port setting)")
    s.add_argument("--config", help="config.yaml with a litellm_observe: section")
    s.set_defaults(func=cmd_serve)
    d = sub.add_parser(
        "demo",
        help="start a demo stack on 127.0.0.1 (fake provider, LiteLLM with this callback, "
        "Prometheus with the generated rules) and show live figures",
    )
    d.add_argument(
        "--duration",
        type=_positive(float),
        default=None,
        help="seconds of traffic, then stop and clean up (default: until Ctrl-C)",
    )
    d.add_argument(
        "--scenario",
        choices=("steady", "outage"),
        default="steady",
        help="outage: one provider fails every call after 20 s, so LitellmHighErrorRate fires",
    )
    d.add_argument("--workers", type=_positive(int), default=4, help="proxy worker processes (default: 4)")
    d.add_argument("--clients", type=_positive(int), default=4, help="concurrent demo clients (default: 4)")
    d.set_defaults(func=cmd_demo)
    f = sub.add_parser(
        "fake-provider",
        help="run the demo's fake OpenAI-compatible provider on its own, on "
        "127.0.0.1, to try a proxy without a provider key",
    )
    f.add_argument("--port", type=_port, default=FAKE_PROVIDER_PORT, help=f"port (default: {FAKE_PROVIDER_PORT})")
    f.set_defaults(func=cmd_fake_provider)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except settings_mod.SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
