"""docker/entrypoint.sh outside a container, against the embedded PostgreSQL: it validates the
image's configuration, waits for the database (bounded, with a clear message), migrates when
ACMEEH_MIGRATE=1 and execs the server, which answers /livez and the Dockerfile's HEALTHCHECK, and
serves TLS through docker/nginx.conf. The CA folder is mounted read-only, as in the image."""
from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from support.database import fresh_database, unique_name
from support.dns import free_port
from support.server import drop_database
from support.tools import required_tool

from acmeeh.issuance import DevCA, generate_dev_ca, issue_dev_tls

from .containerkit import (
    ENTRYPOINT,
    container_env,
    database_env,
    healthcheck_command,
    nginx_config,
    read_only_mounts_work,
    start_entrypoint,
    stop,
    wait_for,
)


def answers(url: str, context: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def ca(tmp_path: Path) -> DevCA:
    """The demo CA of the compose lab (`acmeeh ca init --tls-name ...`)."""
    made = generate_dev_ca(tmp_path / "ca")
    issue_dev_tls(made, ["localhost", "127.0.0.1"])
    return made


def ca_env(ca: DevCA) -> dict[str, str]:
    return {"ACMEEH_CA_CERT": str(ca.certificate), "ACMEEH_CA_KEY": str(ca.key)}


def test_entrypoint_waits_migrates_validates_and_execs_the_server(tmp_path: Path, ca: DevCA) -> None:
    nginx = required_tool("nginx", "apt-get install nginx")
    dbname = unique_name("entrypoint")
    port = free_port()
    env = container_env({
        **database_env(dbname),
        "ACMEEH_MIGRATE": "1", "ACMEEH_DB_WAIT_SECONDS": "60",
        "ACMEEH_BIND": "127.0.0.1", "ACMEEH_PORT": str(port), "ACMEEH_WORKERS": "1",
        "ACMEEH_EXTERNAL_URL": f"http://127.0.0.1:{port}",
        **ca_env(ca), "ACMEEH_TRUSTED_PROXIES": "127.0.0.1/32", "ACMEEH_LOG_FORMAT": "text",
        "XDG_RUNTIME_DIR": str(tmp_path),
    })
    ca_dir = ca.key.parent
    before = sorted(p.name for p in ca_dir.iterdir())
    read_only = ca_dir if read_only_mounts_work() else None
    if read_only is None and os.environ.get("CI"):
        pytest.fail("CI must run the server with the CA folder mounted read-only (needs root)")
    log = tmp_path / "entrypoint.log"
    process = start_entrypoint([], env, log, read_only=read_only)
    nginx_process = None
    try:
        # The database does not exist yet: the entrypoint must say it waits, then go on once it does.
        wait_for(lambda: "waiting up to 60s for the database" in log.read_text(), "wait message",
                 process, log, timeout=60)
        fresh_database(dbname)
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/livez"), "/livez", process, log, timeout=90)
        text = log.read_text()
        assert "database reachable after" in text
        assert "applied 0001" in text, text[-3000:]
        # exec: the process we started is now the server itself, no shell left in between.
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
        assert b"serve" in cmdline and b"-c" in cmdline, cmdline
        assert not any(part.endswith(b"sh") for part in cmdline[:1]), cmdline

        health = subprocess.run(healthcheck_command(), env={**env, "ACMEEH_PORT": str(port)},
                                capture_output=True, timeout=30, check=False)
        assert health.returncode == 0, health.stderr

        listen = free_port()
        main = nginx_config(tmp_path, upstream_port=port, listen_port=listen, ca_dir=ca_dir)
        checked = subprocess.run([nginx, "-t", "-c", str(main), "-e", str(tmp_path / "error.log")],
                                 capture_output=True, text=True, timeout=30, check=False)
        assert checked.returncode == 0, checked.stderr
        nginx_process = subprocess.Popen([nginx, "-c", str(main), "-e", str(tmp_path / "error.log")],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
        trust = ssl.create_default_context(cafile=str(ca.root))
        wait_for(lambda: answers(f"https://localhost:{listen}/acme/directory", trust),
                 "the directory through nginx", nginx_process, tmp_path / "error.log", timeout=30)
        with urllib.request.urlopen(f"https://localhost:{listen}/acme/directory", timeout=5,
                                    context=trust) as response:
            assert "newAccount" in json.loads(response.read())
        assert sorted(p.name for p in ca_dir.iterdir()) == before  # nothing beside the key

        assert stop(process) == 0, log.read_text()[-3000:]
    finally:
        if nginx_process is not None:
            nginx_process.send_signal(signal.SIGQUIT)
            try:
                nginx_process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(nginx_process.pid, signal.SIGKILL)
        stop(process)
        migrate = subprocess.run([str(ENTRYPOINT), "migrate"], env=env, capture_output=True,
                                 text=True, timeout=60, check=False)
        drop_database(dbname)
    assert migrate.returncode == 0, migrate.stderr
    assert "database schema is up to date" in migrate.stdout


def test_entrypoint_gives_up_on_an_unreachable_database(tmp_path: Path, ca: DevCA) -> None:
    env = container_env({
        **database_env("never"), "ACMEEH_DB_HOST": str(tmp_path / "no-socket-here"),
        "ACMEEH_DB_WAIT_SECONDS": "2", "ACMEEH_LOG_FORMAT": "text", **ca_env(ca),
    })
    started = time.monotonic()
    done = subprocess.run([str(ENTRYPOINT)], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 1
    assert "database not reachable after 2s" in done.stderr
    assert "cannot connect" in done.stderr
    assert time.monotonic() - started < 45


@pytest.mark.parametrize(
    ("variables", "expected"),
    [({"ACMEEH_PORT": "not-a-port"}, "server.port"),
     ({"ACMEEH_DB_PASSWORD": None}, "ACMEEH_DB_PASSWORD is not set"),
     ({"ACMEEH_DB_WAIT_SECONDS": "soon"}, "not a whole number")],
)
def test_entrypoint_refuses_a_bad_setup_at_once(tmp_path: Path, ca: DevCA,
                                                variables: dict, expected: str) -> None:
    env = container_env({**database_env("never"), "ACMEEH_LOG_FORMAT": "text", **ca_env(ca)})
    for name, value in variables.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    done = subprocess.run([str(ENTRYPOINT)], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2
    assert expected in done.stderr


def test_entrypoint_runs_other_commands_as_given(tmp_path: Path) -> None:
    env = container_env({})
    done = subprocess.run([str(ENTRYPOINT), "acmeeh", "ca", "init", str(tmp_path / "demo")],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "demo" / "intermediate-key.pem").is_file()
