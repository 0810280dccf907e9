"""In-process pieces of the CLI and server: parser, summaries, gunicorn options, SIGHUP merge, dev mode."""

from __future__ import annotations

import copy
import dataclasses
import logging
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from acmeeh import cli
from acmeeh.cli import dev
from acmeeh.cli.args import build_parser, wants_dev_server
from acmeeh.cli.report import config_summary, describe_database, one_line
from acmeeh.config import settings_from_dict
from acmeeh.issuance import DevCA
from acmeeh.server import gunicorn as gunicorn_server

BASE = {"server": {"external_url": "https://acme.example.com"}}


def settings(patch: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    data = copy.deepcopy(BASE)
    for key, value in (patch or {}).items():
        data.setdefault(key, {}).update(value)
    return settings_from_dict(data, environ={}, **kwargs)


@pytest.mark.parametrize(
    ("argv", "command", "dev_server"),
    [
        (["-c", "x"], None, False),
        (["-c", "x", "--dev"], None, True),
        (["-c", "x", "serve"], "serve", False),
        (["-c", "x", "serve", "--dev"], "serve", True),
        (["--dev"], None, True),
        (["-c", "x", "db", "status"], "db", False),
        (["-c", "x", "ca", "test-sign"], "ca", False),
        (["-c", "x", "inspect", "certificate", "0a1b"], "inspect", False),
    ],
)
def test_parser_routes(argv: list[str], command: str | None, dev_server: bool) -> None:
    args = build_parser().parse_args(argv)
    assert args.command == command
    assert wants_dev_server(args) is dev_server


def test_inspect_arguments() -> None:
    args = build_parser().parse_args(["-c", "x", "inspect", "account", "abc", "--json"])
    assert (args.inspect_kind, args.id, args.json) == ("account", "abc", True)


@pytest.mark.parametrize(
    ("database", "shown"),
    [
        ({}, "acmeeh@localhost:5432/acmeeh"),
        (
            {"host": "db", "port": 6432, "user": "ca", "database": "pki", "password": "pw"},
            "ca@db:6432/pki",
        ),
        ({"url": "postgresql://ca:pw@db:5432/pki"}, "postgresql://ca@db:5432/pki"),
        (
            {"url": "postgresql://ca:p%40ss@db/pki?sslmode=require"},
            "postgresql://ca@db/pki?sslmode=require",
        ),
        ({"url": "postgres://ca@db/pki"}, "postgres://ca@db/pki"),
        (
            {"url": "postgresql:///pki?host=/run/postgresql"},
            "postgresql:///pki?host=/run/postgresql",
        ),
        (
            {"url": "postgresql:///pki?user=ca&password=pw"},
            "postgresql:///pki?user=ca&password=***",
        ),
    ],
)
def test_describe_database_never_shows_the_password(database: dict[str, Any], shown: str) -> None:
    assert describe_database(settings({"database": database}).database) == shown


def test_config_summary() -> None:
    s = settings({"challenges": {"enabled": ["dns-01"]}}, source_path="/etc/acmeeh/config.yaml")
    assert config_summary(s) == (
        "config OK: /etc/acmeeh/config.yaml (external_url=https://acme.example.com, "
        "database=acmeeh@localhost:5432/acmeeh, challenges=dns-01)"
    )


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (RuntimeError("first\nsecond"), "first"),
        (KeyError(), "KeyError"),
        (RuntimeError("connect password=hunter2 failed"), "connect password=*** failed"),
    ],
)
def test_one_line(exc: BaseException, line: str) -> None:
    assert one_line(exc) == line


@pytest.mark.usefixtures("restore_root")
def test_inspect_missing_module_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(BASE))
    monkeypatch.setitem(sys.modules, "acmeeh.cli.inspect", None)  # import now fails as if absent
    assert cli.main(["-c", str(config), "inspect", "order", "x"]) == 1
    assert capsys.readouterr().err == "inspect is not available\n"


@pytest.mark.parametrize(
    ("host", "port", "bind"),
    [
        ("127.0.0.1", 8443, "127.0.0.1:8443"),
        ("0.0.0.0", 80, "0.0.0.0:80"),
        ("::", 8443, "[::]:8443"),
        ("[::1]", 8443, "[::1]:8443"),
        ("acme.internal", 9000, "acme.internal:9000"),
    ],
)
def test_bind_address(host: str, port: int, bind: str) -> None:
    assert gunicorn_server.bind_address(host, port) == bind


def test_gunicorn_options_follow_settings() -> None:
    s = settings(
        {
            "server": {
                "bind": "0.0.0.0",
                "port": 9443,
                "workers": 8,
                "worker_class": "sync",
                "threads": 2,
                "timeout": 40,
                "graceful_timeout": 20,
                "keepalive": 5,
                "max_requests": 1000,
                "max_requests_jitter": 50,
            },
            "logging": {"level": "WARNING"},
        }
    )
    options = gunicorn_server.gunicorn_options(s)
    assert options | {"logger_class": None} == {
        "bind": ["0.0.0.0:9443"],
        "workers": 8,
        "worker_class": "sync",
        "threads": 2,
        "timeout": 40,
        "graceful_timeout": 20,
        "keepalive": 5,
        "max_requests": 1000,
        "max_requests_jitter": 50,
        "preload_app": False,
        "proc_name": "acmeeh",
        "loglevel": "warning",
        "logger_class": None,
    }


def test_gunicorn_application_config_and_lazy_load() -> None:
    app = gunicorn_server.AcmeehApplication(settings({"server": {"workers": 3}}))
    assert app.cfg.workers == 3
    assert app.cfg.preload_app is False
    assert app.cfg.address and app.cfg.bind == ["127.0.0.1:8443"]
    assert app.cfg.control_socket_disable is True


def test_sighup_keeps_restart_only_sections(caplog: pytest.LogCaptureFixture) -> None:
    old = settings()
    new = settings(
        {
            "server": {"port": 9999},
            "database": {"host": "elsewhere"},
            "logging": {"level": "DEBUG"},
            "order": {"authz_reuse": False},
        }
    )
    with caplog.at_level(logging.WARNING, logger="acmeeh.server"):
        merged = gunicorn_server.reloaded(old, new)
    assert merged.server == old.server and merged.database == old.database
    assert merged.logging.level == "DEBUG" and merged.order.authz_reuse is False
    assert "database, server" in caplog.text or "server, database" in caplog.text
    assert dataclasses.is_dataclass(merged)


def test_sighup_reload_rereads_the_file(tmp_path: Path, restore_root: None) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(BASE))
    app = gunicorn_server.AcmeehApplication(settings(source_path=path))
    path.write_text(
        yaml.safe_dump(
            {**BASE, "logging": {"level": "ERROR"}, "server": {**BASE["server"], "workers": 9}}
        )
    )
    app.reload()
    assert app.settings.logging.level == "ERROR"
    assert app.settings.server.workers == 4  # restart-only: kept
    path.write_text("server: [broken\n")
    app.reload()  # an invalid file keeps the running settings
    assert app.settings.logging.level == "ERROR"


# --- zero-config development mode ---


def test_dev_config_is_valid_and_as_documented(tmp_path: Path) -> None:
    ca = DevCA(root=tmp_path / "ca" / "root.pem", certificate=tmp_path / "ca" / "i.pem",
               key=tmp_path / "ca" / "i-key.pem")
    url = f"postgresql://postgres:@/acmeeh?host={tmp_path}/pgdata"
    s = settings_from_dict(dev.dev_config(port=8443, database_url=url, ca=ca), environ={})
    assert s.server.external_url == "http://127.0.0.1:8443" and s.server.bind == "127.0.0.1"
    assert s.database.url == url and s.database.auto_setup is True
    assert (s.ca.certificate, s.ca.key, s.ca.chain) == (
        str(ca.certificate), str(ca.key), str(ca.root))
    assert s.challenges.allowed_networks == ("127.0.0.0/8", "::1/128")
    assert (s.challenges.http01.port, s.challenges.tlsalpn01.port) == (5002, 5001)
    assert s.security.identifiers.allowed_suffixes == ("localhost",)
    assert s.dev.enabled is True and s.source_path is None


def test_dev_config_keeps_dollar_paths_literal(tmp_path: Path) -> None:
    odd = tmp_path / "${HOME}"
    s = settings_from_dict(
        dev.dev_config(port=1, database_url="postgresql://x@/y",
                       ca=DevCA(root=odd / "r", certificate=odd / "c", key=odd / "k")),
        environ={},
    )
    assert s.ca.certificate == str(odd / "c")


def test_banner_has_the_exact_certbot_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    home = tmp_path / ".acmeeh-dev"
    s = settings_from_dict(
        dev.dev_config(
            port=8443,
            database_url="postgresql://x@/y",
            ca=DevCA(root=home / "ca" / "root.pem", certificate=home / "ca" / "i.pem",
                     key=home / "ca" / "i-key.pem"),
        ),
        environ={},
    )
    text = dev.banner(s, home, home / "ca" / "root.pem")
    assert "  directory:   http://127.0.0.1:8443/acme/directory" in text
    assert f"  CA root:     {home / 'ca' / 'root.pem'} (trust this;" in text
    expected = (
        "certbot certonly --server http://127.0.0.1:8443/acme/directory --standalone --http-01-port 5002 "
        "-d myhost.localhost --register-unsafely-without-email --agree-tos --config-dir ./.acmeeh-dev/certbot "
        "--work-dir ./.acmeeh-dev/certbot --logs-dir ./.acmeeh-dev/certbot"
    )
    assert f"    {expected}" in text.splitlines()
    assert shlex.split(expected)[0] == "certbot"


@pytest.mark.parametrize(("value", "port"), [(None, 8443), ("", 8443), ("9443", 9443), ("1", 1)])
def test_dev_port(monkeypatch: pytest.MonkeyPatch, value: str | None, port: int) -> None:
    if value is None:
        monkeypatch.delenv("ACMEEH_DEV_PORT", raising=False)
    else:
        monkeypatch.setenv("ACMEEH_DEV_PORT", value)
    assert dev.dev_port() == port


@pytest.mark.parametrize("value", ["0", "65536", "http", "-1", "80.5"])
def test_dev_port_refuses(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("ACMEEH_DEV_PORT", value)
    with pytest.raises(ValueError, match="ACMEEH_DEV_PORT"):
        dev.dev_port()


def test_dev_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ACMEEH_DEV_HOME", raising=False)
    assert dev.dev_home() == tmp_path / ".acmeeh-dev"
    monkeypatch.setenv("ACMEEH_DEV_HOME", "elsewhere")
    assert dev.dev_home() == tmp_path / "elsewhere"
    home = dev.prepare_home(dev.dev_home())
    assert home.stat().st_mode & 0o777 == 0o700
    home.chmod(0o755)
    assert dev.prepare_home(home).stat().st_mode & 0o777 == 0o700


# --- WSGI entry point ---


def test_wsgi_requires_acmeeh_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from acmeeh.server import wsgi

    monkeypatch.delenv("ACMEEH_CONFIG", raising=False)
    wsgi.build_app.cache_clear()
    with pytest.raises(RuntimeError, match="ACMEEH_CONFIG is not set"):
        wsgi.app  # noqa: B018
    with pytest.raises(AttributeError):
        wsgi.nothing  # noqa: B018
