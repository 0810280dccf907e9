"""deploy/systemd: `systemd-analyze verify` (any warning fails), `systemd-analyze security
--offline` (exposure must stay "OK"), systemd-tmpfiles run on a scratch root for the metrics
directory, and the promises the unit makes to the rest of the deployment."""
from __future__ import annotations

import configparser
import re
import subprocess
import sys
from pathlib import Path

from support.tools import required_tool

from acmeeh.config import load_settings
from acmeeh.config.load import load_schema

from .containerkit import ROOT

UNIT = ROOT / "deploy" / "systemd" / "acmeeh.service"
TMPFILES = ROOT / "deploy" / "systemd" / "acmeeh.tmpfiles"
VENV_PYTHON = "/opt/acmeeh/bin/python"


def checkable_unit(tmp_path: Path) -> Path:
    """The unit with the venv's python swapped for this interpreter: verify checks that every
    Exec* program exists, and /opt/acmeeh is not installed on a test machine."""
    text = UNIT.read_text()
    assert VENV_PYTHON in text
    path = tmp_path / "acmeeh.service"
    path.write_text(text.replace(VENV_PYTHON, str(Path(sys.executable).resolve())))
    return path


def service_section() -> dict[str, list[str]]:
    """[Service] key → every value given (keys may repeat)."""
    values: dict[str, list[str]] = {}
    section = None
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def test_systemd_analyze_verify_is_silent(tmp_path: Path) -> None:
    analyze = required_tool("systemd-analyze", "apt-get install systemd")
    done = subprocess.run([analyze, "verify", str(checkable_unit(tmp_path))],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr  # unknown keys are only warnings: none allowed


def test_systemd_analyze_security_rates_it_ok(tmp_path: Path) -> None:
    analyze = required_tool("systemd-analyze", "apt-get install systemd")
    done = subprocess.run([analyze, "security", "--offline=true", "--no-pager",
                           str(checkable_unit(tmp_path))],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    level = re.search(r"Overall exposure level for acmeeh\.service: ([\d.]+) (\w+)", done.stdout)
    assert level, done.stdout[-2000:]
    assert float(level.group(1)) <= 2.0 and level.group(2) == "OK", done.stdout[-3000:]


def test_hardening_and_lifecycle() -> None:
    service = service_section()
    for key, value in {
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
        "CapabilityBoundingSet": "", "AmbientCapabilities": "", "KillMode": "mixed",
        "ExecReload": "/bin/kill -HUP $MAINPID", "EnvironmentFile": "/etc/acmeeh/env",
    }.items():
        assert service.get(key) == [value], key
    writable = service["ReadWritePaths"][0].split()
    assert {"/var/lib/acmeeh", "/var/log/acmeeh", "/run/acmeeh"} <= set(writable)
    # The stop timeout outlasts gunicorn's graceful shutdown, by default and in the HA example.
    stop = int(service["TimeoutStopSec"][0])
    graceful_default = load_schema()["properties"]["server"]["properties"]["graceful_timeout"]["default"]
    ha = load_settings(ROOT / "config" / "production-ha.yaml", environ={
        "DB_PASSWORD": "x", "METRICS_TOKEN": "x", "ADMIN_TOKEN_SECRET": "x" * 40, "SMTP_PASSWORD": "x"})
    assert stop > graceful_default and stop > ha.server.graceful_timeout
    assert any("--validate-only" in v for v in service["ExecStartPre"])
    assert service["ExecStart"] == [f"{VENV_PYTHON} -m acmeeh -c /etc/acmeeh/config.yaml serve"]
    # Port 8443 needs no capability; binding below 1024 would need CAP_NET_BIND_SERVICE.
    assert ha.server.port >= 1024


def test_tmpfiles_makes_and_empties_the_metrics_directory(tmp_path: Path) -> None:
    tmpfiles = required_tool("systemd-tmpfiles", "apt-get install systemd")
    service = service_section()
    metrics = next(v.split("=", 1)[1] for v in service["Environment"]
                   if v.startswith("PROMETHEUS_MULTIPROC_DIR="))
    assert any("systemd-tmpfiles --remove --create acmeeh.conf" in v for v in service["ExecStartPre"])
    root = tmp_path / "root"
    (root / "etc" / "tmpfiles.d").mkdir(parents=True)
    (root / "run").mkdir()
    (root / "etc" / "tmpfiles.d" / "acmeeh.conf").write_text(TMPFILES.read_text())
    (root / "etc" / "passwd").write_text("acmeeh:x:1999:1999::/var/lib/acmeeh:/usr/sbin/nologin\n")
    (root / "etc" / "group").write_text("acmeeh:x:1999:\n")
    command = [tmpfiles, f"--root={root}", "--remove", "--create", "acmeeh.conf"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    directory = root / metrics.lstrip("/")
    assert directory.is_dir() and directory.stat().st_uid == 1999
    assert directory.stat().st_mode & 0o777 == 0o700
    (directory / "counter_123.db").write_bytes(b"stale")
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert list(directory.iterdir()) == []


def test_unit_parses_as_ini() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read_string(UNIT.read_text())
    assert parser["Install"]["WantedBy"] == "multi-user.target"
