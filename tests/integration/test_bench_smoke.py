"""The benchmark tools work (bench/loadgen.py) and challenges.auto_accept behaves as promised.

Smoke tests, not timed assertions: a few seconds of load must finish without a single error
and end with a parsable RESULT line.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.acme_client import AcmeClient, expect
from support.tools import required_tool

from acmeeh.config import ConfigError, settings_from_dict

ROOT = Path(__file__).resolve().parents[2]
LOADGEN = ROOT / "bench" / "loadgen.py"
RESULT = re.compile(
    r"^RESULT issuances_per_sec=(?P<rate>[\d.]+|nan) p99_flow_ms=(?P<p99>[\d.]+|nan)"
    r" errors=(?P<errors>\d+) server_cpu_ms_per_issuance=(?P<cpu>[\d.]+|nan)$"
)
AUTO_ACCEPT = {
    "challenges": {"auto_accept": True},
    "security": {"identifiers": {"allowed_suffixes": ["localhost"], "ip_addresses": False}},
}


def run_loadgen(*args: str, timeout: float = 120) -> tuple[subprocess.CompletedProcess, re.Match]:
    done = subprocess.run(
        [sys.executable, str(LOADGEN), *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    match = RESULT.match(last)
    assert match, f"no RESULT line (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done, match


def test_loadgen_http01_smoke(acme_server) -> None:
    """~3 s at concurrency 2 with real http-01 answers: zero errors, a RESULT line."""
    done, result = run_loadgen(
        "--directory",
        acme_server.directory_url,
        "--concurrency",
        "2",
        "--processes",
        "2",
        "--seconds",
        "3",
        "--mode",
        "http-01",
        "--http01-port",
        str(acme_server.http01_port),
        "--server-pid",
        str(acme_server.process.pid),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert int(result["errors"]) == 0, done.stdout
    assert float(result["rate"]) > 0
    assert result["cpu"] != "nan"  # the server's process tree was found and measured


@pytest.mark.parametrize(
    ("identifiers", "error"),
    [
        ({}, True),
        ({"allowed_suffixes": []}, True),
        ({"allowed_suffixes": ["internal.example"]}, True),  # ip identifiers unbounded
        ({"allowed_suffixes": ["internal.example"], "ip_addresses": False}, False),
        ({"allowed_suffixes": ["internal.example"], "allowed_networks": ["10.0.0.0/8"]}, False),
        ({"allowed_networks": ["10.0.0.0/8"]}, True),  # dns names unbounded
        ({"allowed_networks": [], "allowed_suffixes": []}, True),
    ],
)
def test_auto_accept_needs_an_identifier_allow_list(identifiers: dict, error: bool) -> None:
    data = {
        "server": {"external_url": "https://acme.example"},
        "challenges": {"auto_accept": True},
        "security": {"identifiers": identifiers},
    }
    if not error:
        assert settings_from_dict(data, environ={}).challenges.auto_accept is True
        return
    with pytest.raises(ConfigError) as info:
        settings_from_dict(data, environ={})
    assert [e for e in info.value.errors if e.startswith("challenges.auto_accept:")]


def test_auto_accept_is_off_by_default() -> None:
    settings = settings_from_dict({"server": {"external_url": "https://acme.example"}}, environ={})
    assert settings.challenges.auto_accept is False


def test_auto_accept_server(start_acme_server) -> None:
    """Nothing answers http-01, yet the challenge is valid at once; the start-up log says so
    loudly; and the load generator runs clean in auto-accept mode."""
    server = start_acme_server(AUTO_ACCEPT)
    assert (
        "challenges.auto_accept is ON: challenges are accepted without validation"
        in server.log_tail()
    )
    client = AcmeClient(server.directory_url)
    expect(client.new_account(), 201)
    name = f"{uuid.uuid4().hex[:12]}.auto.localhost"
    order = expect(client.new_order([name]), 201).json()
    authz = expect(client.get_authz(order["authorizations"][0]), 200).json()
    challenge = next(c for c in authz["challenges"] if c["type"] == "http-01")
    answered = expect(client.respond(challenge["url"]), 200).json()
    assert answered["status"] == "valid" and "validated" in answered
    authz = expect(client.get_authz(order["authorizations"][0]), 200).json()
    assert authz["status"] == "valid"
    refused = expect(client.new_order(["auto.example.com"]), 400)  # outside the allow-list
    assert refused.json()["type"].endswith(":rejectedIdentifier")

    done, result = run_loadgen(
        "--directory",
        server.directory_url,
        "--concurrency",
        "2",
        "--processes",
        "1",
        "--flows",
        "6",
        "--mode",
        "auto-accept",
    )
    assert done.returncode == 0 and int(result["errors"]) == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def bench_modules() -> Iterator[None]:
    """bench/ on sys.path, for its pebble helper and the matrix's peer table."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        yield
    finally:
        sys.path.remove(str(ROOT / "bench"))


def test_loadgen_against_pebble(tmp_path: Path, bench_modules: None) -> None:
    """The peer of `run_matrix.py --peer pebble`: Debian's pebble, always valid, over TLS with
    the throwaway listener certificate; the same generator runs clean against it and measures
    its process."""
    required_tool("pebble", "apt-get install pebble")
    import pebble

    server = pebble.start_pebble(tmp_path / "pebble")
    try:
        assert (tmp_path / "pebble" / "listener.key").stat().st_mode & 0o077 == 0
        done, result = run_loadgen(
            "--directory",
            server.directory_url,
            "--ca-file",
            server.ca_file,
            "--concurrency",
            "2",
            "--processes",
            "1",
            "--flows",
            "6",
            "--mode",
            "auto-accept",
            "--server-pid",
            str(server.pid),
        )
    finally:
        server.stop()
    assert done.returncode == 0 and int(result["errors"]) == 0, done.stdout + done.stderr
    assert result["cpu"] != "nan"  # pebble's process was found and measured
    assert "Disabling VA challenge requests. VA always returns valid" in (
        server.log_path.read_text()
    )


def test_peer_table_gives_the_ratios(bench_modules: None) -> None:
    """Medians per concurrency: throughput ACMEEH / peer, CPU as a multiple of the peer's."""
    import run_matrix

    def point(row: str, rate: float, cpu: float, pg: float | None) -> dict:
        return {
            "row": row,
            "mode": "auto-accept",
            "concurrency": 4,
            "issuances_per_sec": rate,
            "server_cpu_ms_per_issuance": cpu,
            "postgres_cpu_ms_per_issuance": pg,
        }

    points = [
        point("auto-accept", 50.0, 16.0, 6.0),
        point("pebble", 100.0, 4.0, None),
        point("auto-accept", 70.0, 12.0, 4.0),  # median of the two: 60/s, 14 ms, 5 ms
        point("pebble", 100.0, 4.0, None),
    ]
    table = run_matrix.peer_table(points, "pebble")
    assert table.splitlines()[-1] == (
        "| 4 | 60.0 | 100.0 | 0.60 | 14.00 | 4.00 | 3.50 | 19.00 | 4.75 |"
    )


def test_inprocess_runs_an_a_b_comparison() -> None:
    """bench/inprocess.py builds the app as a worker does and drives whole flows through it;
    with a variant it reports both applications (here: pre-issuance lint on in B)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "inprocess.py"), "--flows", "2",
         "--variant", "lint.enabled=true"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = re.findall(r"^RESULT inprocess_ms_per_issuance median=([\d.]+) ", done.stdout, re.M)
    assert len(results) == 2 and all(float(r) > 0 for r in results), done.stdout
    assert "B: lint.enabled=true" in done.stdout
