"""`python -m acmeeh` as a subprocess: --version, --validate-only, errors, ca test-sign, db."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.database import fresh_database
from support.dns import free_port
from support.server import as_uri, drop_database

from acmeeh.cli.args import version
from acmeeh.issuance import DevCA, generate_dev_ca

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 60


def acmeeh(
    *argv: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {
        "PYTHONPATH": str(ROOT / "src"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
    }
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "acmeeh", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=environ,
        check=False,
    )


def write_config(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def base_config(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"server": {"external_url": "https://acme.example.com/"}}
    data.update(extra)
    return data


@pytest.mark.parametrize("flag", ["--version", "-v"])
def test_version(tmp_path: Path, flag: str) -> None:
    done = acmeeh(flag, cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout == f"acmeeh {version()}\n"
    assert version() == "0.1.0"


def test_validate_only_ok(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.yaml",
        base_config(
            database={
                "host": "${DB_HOST:-db.internal}",
                "port": "${DB_PORT}",
                "password": "${DB_PASSWORD}",
            },
            challenges={"enabled": ["http-01", "dns-01"]},
        ),
    )
    done = acmeeh(
        "-c",
        str(config),
        "--validate-only",
        cwd=tmp_path,
        env={"DB_PORT": "6432", "DB_PASSWORD": "hunter2"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        f"config OK: {config} (external_url=https://acme.example.com, "
        "database=acmeeh@db.internal:6432/acmeeh, challenges=http-01,dns-01)\n"
    )
    assert "hunter2" not in done.stdout + done.stderr


def test_validate_only_hides_url_password(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.yaml", base_config(database={"url": "postgresql://app:hunter2@db:5432/pki"})
    )
    done = acmeeh("-c", str(config), "--validate-only", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "database=postgresql://app@db:5432/pki" in done.stdout
    assert "hunter2" not in done.stdout


def test_validate_only_reports_every_error(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.yaml",
        {
            "server": {"external_url": "ftp://acme.example.com", "port": "abc"},
            "database": {"password": "${DB_PASSWORD}"},
            "ca": {"key": "/k.pem"},
            "bogus": True,
        },
    )
    done = acmeeh("-c", str(config), "--validate-only", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"acmeeh: config error: {config}: 5 problems",
        "  bogus: unknown key",
        "  ca.key: is set but ca.certificate is not",
        "  database.password: environment variable DB_PASSWORD is not set",
        "  server.external_url: 'ftp://acme.example.com' must be an absolute http:// or https:// URL with a host",
        "  server.port: 'abc' is not of type 'integer'",
    ]


def test_validate_only_reports_a_forbidden_name_that_is_no_host_name(tmp_path: Path) -> None:
    """Issue 11 item 7: a forbidden_names entry that is not a name fails the check (it would
    otherwise block nothing)."""
    config = write_config(
        tmp_path / "c.yaml",
        base_config(security={"identifiers": {"forbidden_names": ["Bücher.example", "bad..name"]}}),
    )
    done = acmeeh("-c", str(config), "--validate-only", cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    assert done.stderr.splitlines() == [
        "acmeeh: config error: security.identifiers.forbidden_names[1]: 'bad..name' has an empty label",
    ]


@pytest.mark.parametrize("extra", [[], ["--validate-only"], ["db", "status"]])
def test_missing_config_file(tmp_path: Path, extra: list[str]) -> None:
    missing = tmp_path / "nope.yaml"
    done = acmeeh("-c", str(missing), *extra, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == f"acmeeh: config error: {missing}: configuration file not found\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "-c/--config is required"),
        (["--validate-only"], "-c/--config is required"),
        (["db", "status"], "-c/--config is required"),
        (["--dev", "db", "status"], "-c/--config is required"),
        (["-c", "x.yaml", "db"], "the following arguments are required: action"),
        (["-c", "x.yaml", "frobnicate"], "invalid choice: 'frobnicate'"),
        (["-c", "x.yaml", "inspect", "order"], "the following arguments are required: id"),
    ],
)
def test_usage_errors(tmp_path: Path, argv: list[str], message: str) -> None:
    done = acmeeh(*argv, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr


def test_runtime_error_is_one_line_and_debug_shows_the_traceback(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", base_config())  # no CA configured
    done = acmeeh("-c", str(config), "ca", "test-sign", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("acmeeh: error: ")
    assert len(done.stderr.strip().splitlines()) == 1
    debug = acmeeh("-c", str(config), "--debug", "ca", "test-sign", cwd=tmp_path)
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == done.stderr.strip()


@pytest.fixture
def dev_ca(tmp_path: Path) -> DevCA:
    return generate_dev_ca(tmp_path / "ca")


def test_ca_test_sign(tmp_path: Path, dev_ca: DevCA) -> None:
    config = write_config(tmp_path / "c.yaml", base_config(ca=dev_ca.ca_settings()))
    done = acmeeh("-c", str(config), "ca", "test-sign", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "test-sign OK"
    assert "  subject:    CN=test-sign.invalid" in lines
    assert "  SANs:       test-sign.invalid" in lines
    assert any(line.startswith("  serial:     ") and len(line.split()[-1]) > 8 for line in lines)
    assert any(line.startswith("  not after:  ") for line in lines)
    # leaf + issuing intermediate; the root (a trust anchor) is never sent
    assert done.stdout.count("-----BEGIN CERTIFICATE-----") == 2
    assert dev_ca.root.read_text().strip() not in done.stdout
    assert "PRIVATE KEY" not in done.stdout


def test_ca_test_sign_refuses_a_readable_key(tmp_path: Path, dev_ca: DevCA) -> None:
    key = dev_ca.key
    key.chmod(0o644)
    config = write_config(tmp_path / "c.yaml", base_config(ca=dev_ca.ca_settings()))
    done = acmeeh("-c", str(config), "ca", "test-sign", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("acmeeh: error: ") and str(key) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_db_status_unreachable(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    config = write_config(
        tmp_path / "c.yaml",
        base_config(
            database={
                "url": f"postgresql://acmeeh:hunter2@127.0.0.1:{port}/acmeeh",
                "connect_timeout": 2,
            }
        ),
    )
    done = acmeeh("-c", str(config), "db", "status", cwd=tmp_path)
    assert done.returncode == 1
    assert f"database: postgresql://acmeeh@127.0.0.1:{port}/acmeeh: cannot connect: " in done.stderr
    assert "hunter2" not in done.stderr + done.stdout


@pytest.fixture
def database_url() -> Iterator[str]:
    """A fresh, empty database on the test PostgreSQL, dropped afterwards."""
    name = f"acmeeh_cli_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
    yield as_uri(fresh_database(name))
    drop_database(name)


def test_db_status_and_migrate_on_a_real_database(tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path / "c.yaml", base_config(database={"url": database_url}))

    before = acmeeh("-c", str(config), "db", "status", cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    lines = before.stdout.splitlines()
    assert lines[0].endswith(")") and ": connected (PostgreSQL " in lines[0]
    assert lines[1] == "applied migrations (0): -"
    assert lines[2].startswith("pending migrations (") and "0001_" in lines[2]

    migrated = acmeeh("-c", str(config), "db", "migrate", cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.startswith("applied 0001_")

    again = acmeeh("-c", str(config), "db", "migrate", cwd=tmp_path)
    assert again.stdout == "database schema is up to date\n"

    after = acmeeh("-c", str(config), "db", "status", cwd=tmp_path)
    assert after.returncode == 0
    assert after.stdout.splitlines()[2] == "pending migrations (0): -"
    assert "0001_" in after.stdout.splitlines()[1]
