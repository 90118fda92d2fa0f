"""Safe on a shared host (issue 9), with two real local users sharing one temp directory.

Before: the default metrics directory was `$TMPDIR/litellm_observe` for every user, 0755 with files 0644,
and nothing checked who owned it. The second user's proxy got "Permission denied"; an attacker who
pre-created it could plant a symlink the victim's exporter wrote through, fill the victim's label file,
and plant a dead worker's file whose forged samples the victim then served; every user could read every
other user's team names and spend.

Now each user has a directory of its own (`litellm_observe-<uid>`, 0700, files 0600), checked with lstat
on every start; a directory someone else owns or could write in is refused with a clear error, never used.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from litellm_observe.rundir import layout
from tests.support.metrics import by_label, total
from tests.support.proxy import Proxy, free_port
from tests.support.users import shared_host
from tests.support.waiting import wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="creating local users needs root (CI runs as root)"),
]

VICTIM, ATTACKER = "lobs_victim", "lobs_attacker"

# Runs as the victim: the logger (with its exporter) records N success events of team victim-team, prints its
# run directory and why metrics are off (if they are), then stays alive (it is its run's root) until stdin closes.
LOGGER = textwrap.dedent("""
    import asyncio, json, sys
    from tests.support import events as ev
    from litellm_observe import settings as settings_mod
    from litellm_observe.worker.logger import ObserveLogger

    section, n = json.loads(sys.argv[1]), int(sys.argv[2])
    lg = ObserveLogger(settings_mod.load(environ={}, section=section), model_names=lambda: ["ok"],
                       caching_on=lambda: False)
    for i in range(n):
        kwargs = ev.success_kwargs(call_id=f"v{i}", team="victim-team")
        asyncio.run(lg.async_log_success_event(kwargs, None, None, None))
    print(json.dumps({"run": lg.run_directory, "off": lg.disabled_reason}), flush=True)
    sys.stdin.read()
""")

# Runs as the attacker: plants what the old design let it plant, in a given base directory.
PLANT = textwrap.dedent("""
    import json, os, sys
    from litellm_observe.rundir import samplefile
    from litellm_observe.catalogue import BY_NAME
    base, victim_secret = sys.argv[1], sys.argv[2]
    os.makedirs(base, exist_ok=True)
    os.chmod(base, 0o777)
    run = os.path.join(base, "run-1-1")
    os.makedirs(os.path.join(run, "labels"), exist_ok=True)
    os.chmod(run, 0o777)
    os.symlink(victim_secret, os.path.join(run, "exporter.pid"))
    os.symlink(victim_secret, os.path.join(base, "exporter.pid"))
    with open(os.path.join(run, "labels", "team.values"), "w") as f:
        f.write("".join(json.dumps(f"junk{i}") + "\\n" for i in range(1000)))
    key = samplefile.encode_key("spend_usd", BY_NAME["spend_usd"].schema, ("openai", "ok", "junk1"))
    for d in (base, run):
        with open(os.path.join(d, "w-1-forged.lob"), "wb") as f:
            f.write(samplefile.encode([(key, (1e6,))]))
    print("planted")
""")


@pytest.fixture
def host():
    """A fresh shared temp directory per test: what one test's users left does not shape the next."""
    with shared_host() as h:
        yield h


def _secret(host, victim) -> str:
    path = os.path.join(victim.home, "secret.txt")
    with open(path, "w") as f:
        f.write("the victim's own file")
    os.chown(path, victim.uid, victim.gid)
    os.chmod(path, 0o600)
    return path


def _victim_logger(host, victim, section: dict, n: int = 5):
    proc = host.popen(
        victim,
        ["-c", LOGGER, json.dumps(section), str(n)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=victim.home,
    )
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    return proc, json.loads(line)


def _stop(proc) -> str:
    proc.stdin.close()
    proc.wait(timeout=60)
    return proc.stderr.read()


def test_an_attackers_plants_in_the_old_shared_directory_reach_nothing(host):
    victim, attacker = host.user(VICTIM), host.user(ATTACKER)
    secret = _secret(host, victim)
    planted = host.run(attacker, PLANT, os.path.join(host.shared, layout.BASE_NAME), secret)
    assert planted.returncode == 0, planted.stderr
    port = free_port()
    proc, info = _victim_logger(host, victim, {"port": port, "bind_address": "127.0.0.1"})
    try:
        assert info["off"] is None
        base = os.path.join(host.shared, layout.base_name(victim.uid))
        assert info["run"].startswith(base + "/")
        for d in (base, info["run"]):
            st = os.lstat(d)
            assert st.st_uid == victim.uid and st.st_mode & 0o777 == 0o700, d
        text = wait_until(lambda: _scrape(port), timeout=60, what="the victim's exporter")
        assert total(text, "requests") == 5 and set(by_label(text, "requests", "team")) == {"victim-team"}
        assert "junk" not in text and total(text, "spend_usd") < 1.0  # no planted sample served
        for root, _dirs, files in os.walk(base):
            for name in files:
                st = os.lstat(os.path.join(root, name))
                assert st.st_uid == victim.uid and st.st_mode & 0o077 == 0, f"{name}: {st.st_mode:o}"
        peek = host.run(
            attacker,
            "import os, sys\nfor r, d, f in os.walk(sys.argv[1]): print(r, f)\nprint(open(sys.argv[2]).read())",
            base,
            info["run"] + "/labels/team.values",
        )
        assert peek.returncode != 0 and "victim-team" not in peek.stdout  # nothing of the victim's is readable
    finally:
        _stop(proc)
    with open(secret) as f:
        assert f.read() == "the victim's own file"  # no symlink was written through


def test_a_squatted_per_user_directory_is_refused_with_a_clear_error(host):
    victim, attacker = host.user(VICTIM), host.user(ATTACKER)
    secret = _secret(host, victim)
    squatted = os.path.join(host.shared, layout.base_name(victim.uid))
    planted = host.run(attacker, PLANT, squatted, secret)
    assert planted.returncode == 0, planted.stderr
    before = sorted(os.listdir(squatted))
    port = free_port()
    proc, info = _victim_logger(host, victim, {"port": port, "bind_address": "127.0.0.1"})
    err = _stop(proc)
    assert info["off"] and squatted in info["off"] and f"belongs to uid {attacker.uid}" in info["off"]
    assert "metrics are OFF" in err and squatted in err
    assert sorted(os.listdir(squatted)) == before  # the victim wrote nothing there
    assert _scrape(port) is None  # and served nothing
    with open(secret) as f:
        assert f.read() == "the victim's own file"


def test_where_the_system_gives_a_private_runtime_directory_it_is_used(host):
    victim, _attacker = host.user(VICTIM), host.user(ATTACKER)  # both accounts exist, as on a shared host
    runtime = os.path.join(victim.home, "run")
    os.makedirs(runtime, exist_ok=True)
    os.chown(runtime, victim.uid, victim.gid)
    os.chmod(runtime, 0o700)
    port = free_port()
    proc = host.popen(
        victim,
        ["-c", LOGGER, json.dumps({"port": port, "bind_address": "127.0.0.1"}), "3"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=victim.home,
        env={"XDG_RUNTIME_DIR": runtime},
    )
    try:
        info = json.loads(proc.stdout.readline())
        assert info["off"] is None and info["run"].startswith(os.path.join(runtime, layout.BASE_NAME) + "/")
        text = wait_until(lambda: _scrape(port), timeout=60, what="the victim's exporter")
        assert total(text, "requests") == 3
    finally:
        _stop(proc)


def test_two_users_proxies_on_one_host_both_record(host, upstream):
    """Before: the second user's proxy got "Permission denied; metrics are OFF"."""
    a, b = host.user(VICTIM), host.user(ATTACKER)
    proxies = []
    for user in (a, b):
        workdir = os.path.join(user.home, f"proxy-{time.monotonic_ns()}")
        os.makedirs(workdir)
        proxies.append(
            Proxy(Path(workdir), upstream.base_url, workers=2, host=host, user=user, tmpdir=Path(host.shared))
        )
    with proxies[0], proxies[1]:
        for i, proxy in enumerate(proxies):
            for j in range(3 + i):
                assert proxy.chat("ok", content=f"user {i} request {j}") == 200
        for i, proxy in enumerate(proxies):
            wait_until(
                lambda p=proxy, n=3 + i: total(p.scrape(), "requests") == n,
                timeout=60,
                what=f"user {i}'s proxy counts its {3 + i} requests",
            )
            assert proxy.base_dir.is_dir() and os.lstat(proxy.base_dir).st_uid == proxy.user.uid


def _scrape(port: int) -> str | None:
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        return r.text if r.status_code == 200 else None
    except httpx.HTTPError:
        return None
