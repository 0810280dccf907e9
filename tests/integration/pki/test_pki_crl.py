"""The CRL (RFC 5280 §5) against a running server: served as DER with caching headers, rebuilt
by the worker right after a revocation, read by `openssl crl`, enforced by `openssl verify
-crl_check`; `acmeeh crl rebuild`; concurrent builders never reuse or lower a number."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import psycopg
import requests
from cryptography import x509
from support.acme_client import expect
from support.server import child_env

from acmeeh.authority import crl
from acmeeh.store import crls as crl_store
from acmeeh.workers.crl import make_tick
from acmeeh.workers.loop import LeaderLoop

from .conftest import openssl, wait_for

TIMEOUT = 15
JOIN_SECONDS = 60


def fetch(server, **headers: str) -> requests.Response:
    return requests.get(f"{server.base_url}/crl", headers=headers, timeout=TIMEOUT)


def current_crl(server) -> x509.CertificateRevocationList:
    response = fetch(server)
    assert response.status_code == 200, response.text
    return x509.load_der_x509_crl(response.content)


def crl_number(crl_obj: x509.CertificateRevocationList) -> int:
    return crl_obj.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def test_crl_served_as_der_with_caching_headers(pki_server) -> None:
    response = fetch(pki_server)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pkix-crl"
    parsed = x509.load_der_x509_crl(response.content)
    ca = x509.load_pem_x509_certificate(pki_server.ca_cert_path.read_bytes())
    assert parsed.is_signature_valid(ca.public_key()) and parsed.issuer == ca.subject
    max_age = int(response.headers["Cache-Control"].split("max-age=")[1].split(",")[0])
    left = (parsed.next_update_utc - datetime.now(UTC)).total_seconds()
    assert abs(max_age - left) < 5
    expires = datetime.strptime(response.headers["Expires"], "%a, %d %b %Y %H:%M:%S GMT")
    assert expires.replace(tzinfo=UTC) == parsed.next_update_utc
    again = fetch(pki_server, **{"If-None-Match": response.headers["ETag"]})
    if crl_number(current_crl(pki_server)) == crl_number(parsed):
        assert again.status_code == 304


def test_revocation_reaches_crl_and_openssl_verify(pki_server, issue, tmp_path) -> None:
    """The worker rebuilds within its poll interval of a revocation; openssl sees the serial,
    the reason, and `verify -crl_check` rejects the revoked certificate but not another."""
    revoked, kept = issue(), issue()
    before = crl_number(current_crl(pki_server))
    expect(revoked.client.revoke(revoked.der, reason=4), 200)

    def listed() -> x509.CertificateRevocationList | None:
        crl_obj = current_crl(pki_server)
        return crl_obj if crl_obj.get_revoked_certificate_by_serial_number(
            revoked.cert.serial_number) else None

    crl_obj = wait_for(listed, timeout=15)
    assert crl_number(crl_obj) > before
    der_path = tmp_path / "current.crl"
    der_path.write_bytes(fetch(pki_server).content)
    text = openssl("crl", "-inform", "DER", "-in", str(der_path), "-text", "-noout", check=True).stdout
    serial = revoked.serial_hex.rjust(len(revoked.serial_hex) + len(revoked.serial_hex) % 2, "0")
    assert f"Serial Number: {serial}" in text, text  # openssl prints whole octets, upper case
    assert "Superseded" in text
    pem_path = tmp_path / "current-crl.pem"
    openssl("crl", "-inform", "DER", "-in", str(der_path), "-out", str(pem_path), check=True)
    trust = ("-CAfile", str(pki_server.root_cert_path), "-untrusted", str(pki_server.ca_cert_path))
    bad = openssl("verify", "-crl_check", *trust, "-CRLfile", str(pem_path), str(revoked.pem_path))
    assert bad.returncode != 0 and "certificate revoked" in bad.stdout + bad.stderr
    good = openssl("verify", "-crl_check", *trust, "-CRLfile", str(pem_path), str(kept.pem_path))
    assert good.returncode == 0, good.stdout + good.stderr


def test_cli_crl_rebuild(pki_server) -> None:
    before = crl_number(current_crl(pki_server))
    done = subprocess.run([sys.executable, "-m", "acmeeh", "-c", str(pki_server.config_path), "crl",
                           "rebuild"], check=False, capture_output=True, text=True, timeout=60,
                          env=child_env())
    assert done.returncode == 0, done.stdout + done.stderr
    number = int(done.stdout.split()[1])
    assert number > before
    assert crl_number(current_crl(pki_server)) >= number


def all_numbers(server) -> list[tuple[int, datetime, bytes]]:
    with psycopg.connect(server.database_url, autocommit=True) as conn:
        return conn.execute("SELECT number, this_update, der FROM crls ORDER BY number").fetchall()


def test_concurrent_builders_one_at_a_time(pki_server, server_env) -> None:
    """Builders in many threads (plus the server's own worker) on one database: every build
    gets its own, higher number; thisUpdate never goes back; a build waits for the lock."""
    signer = crl.load_signer(server_env)
    results: list[object] = []
    lock = threading.Lock()

    def build() -> None:
        for _ in range(3):
            try:
                row = crl.rebuild(server_env, signer, force=True)
            except BaseException as exc:  # noqa: BLE001 - reported below
                row = exc
            with lock:
                results.append(row)

    threads = [threading.Thread(target=build, daemon=True) for _ in range(6)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + JOIN_SECONDS
    for thread in threads:
        thread.join(timeout=max(0.1, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    numbers = [r.number for r in results]  # type: ignore[union-attr]
    assert len(set(numbers)) == len(numbers) == 18
    stored = all_numbers(pki_server)
    assert [n for n, _t, _d in stored] == sorted(n for n, _t, _d in stored)
    times = [t for _n, t, _d in stored]
    assert times == sorted(times), "thisUpdate went backwards"
    for number, _t, der in stored:
        assert crl_number(x509.load_der_x509_crl(der)) == number

    # While another transaction holds the builder lock, a build waits; then it gets a higher number.
    finished: list[int] = []
    with psycopg.connect(pki_server.database_url, autocommit=True) as holder:
        with holder.transaction():
            held_number = crl_store.lock_builder(holder)
            waiter = threading.Thread(
                target=lambda: finished.append(crl.rebuild(server_env, signer).number), daemon=True)
            waiter.start()
            time.sleep(0.7)
            assert not finished, "a build ran while another builder held the lock"
        waiter.join(timeout=JOIN_SECONDS)
    assert finished and finished[0] > held_number


def test_one_leader_among_crl_workers(pki_server, server_env) -> None:
    """Two more CRL worker loops on the database: the server's own leader holds lock 712004,
    so neither of ours leads (one CRL worker across all instances)."""
    conninfo = pki_server.database_url
    loops = [LeaderLoop("crl", 712004, 0.2, make_tick(server_env), conninfo=conninfo) for _ in range(2)]
    try:
        for loop in loops:
            loop.start()
        time.sleep(1.5)
        assert sum(loop.is_leader for loop in loops) == 0
        assert all(loop.alive for loop in loops)
    finally:
        for loop in loops:
            loop.stop(timeout=10)


def test_crl_status_for_health(server_env) -> None:
    status = crl.status(server_env)
    assert status["status"] == "ok" and status["stale"] is False
    assert datetime.fromisoformat(status["next_update"]) > datetime.now(UTC)


def test_crl_status_disabled(server_env) -> None:
    crl_off = dataclasses.replace(server_env.settings.crl, enabled=False)
    env = dataclasses.replace(server_env, settings=dataclasses.replace(server_env.settings, crl=crl_off))
    assert crl.status(env)["status"] == "disabled"
