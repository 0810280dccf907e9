"""Crash-safe issuance (issue 11 item 5) with real fault injection on a running server.

No serial is signed that the database does not know: the issuance intent commits before the
CA signs. A PostgreSQL trigger makes the certificate insert fail (RAISE EXCEPTION), or makes it
wait (pg_sleep) while the test SIGKILLs the gunicorn worker between signing and storing. Either
way the serial stays findable through the admin API, OCSP answers for it ("good", then
"revoked"), the CRL lists it once an operator revokes it, and the stale-order recovery (the
cleanup worker's task, run with a clock past the threshold) stores the kept leaf or records the
order as given up.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from integration.admin.admin_support import AdminClient, create_user
from psycopg import sql
from psycopg_pool import ConnectionPool
from support.acme_client import ERROR_PREFIX, AcmeClient, Http01Responder, expect, make_csr
from support.server import RunningServer, deep_merge, start_server, wait_for_directory
from trust_support import (
    TRUST_OVERRIDES,
    db,
    new_account,
    read_order,
    ready_order,
    scalar,
    unique,
)

from acmeeh.authority import finalize as finalizing
from acmeeh.authority.env import Env, utc_now
from acmeeh.config.load import settings_from_dict
from acmeeh.issuance.ocsp import issuer_hashes
from acmeeh.protocol.messages import Finalize
from acmeeh.workers.cleanup import TASKS

TIMEOUT = 30
WAIT_SECONDS = 20


@pytest.fixture(scope="module")
def crash_server(tmp_path_factory: pytest.TempPathFactory, dns_server) -> Iterator[RunningServer]:
    """One gunicorn worker (the one the test kills), a CRL worker that polls quickly."""
    server = start_server(tmp_path_factory.mktemp("crash_server"), dns=dns_server, workers=1,
                          overrides=deep_merge(TRUST_OVERRIDES, {"crl": {"poll_seconds": 0.3}}))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def crash_http01(crash_server: RunningServer) -> Iterator[Http01Responder]:
    with Http01Responder(crash_server.http01_port) as responder:
        yield responder


@pytest.fixture(scope="module")
def crash_admin(crash_server: RunningServer) -> AdminClient:
    password = create_user(crash_server, "crashroot", "admin")
    return AdminClient(crash_server).as_user("crashroot", password)


@pytest.fixture
def client(crash_server: RunningServer) -> AcmeClient:
    acme = AcmeClient(crash_server.directory_url)
    expect(acme.new_account(), 201)
    return acme


# --- fault injection ------------------------------------------------------------------------


@contextlib.contextmanager
def certificate_insert_trigger(server: RunningServer, name: str, body: str) -> Iterator[None]:
    """A BEFORE INSERT trigger on certificates running `body` for rows naming `name` only
    (other tests' certificates pass), dropped afterwards."""
    tag = sql.Identifier(f"crash_{uuid.uuid4().hex[:12]}")
    with db(server) as conn:
        conn.execute(sql.SQL(
            "CREATE FUNCTION {tag}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.names @> ARRAY[{name}]::text[] THEN {body}; END IF; RETURN NEW; END $$"
        ).format(tag=tag, name=sql.Literal(name), body=sql.SQL(body)))
        conn.execute(sql.SQL("CREATE TRIGGER {tag} BEFORE INSERT ON certificates FOR EACH ROW"
                             " EXECUTE FUNCTION {tag}()").format(tag=tag))
    try:
        yield
    finally:
        with db(server) as conn:
            conn.execute(sql.SQL("DROP TRIGGER IF EXISTS {tag} ON certificates").format(tag=tag))
            conn.execute(sql.SQL("DROP FUNCTION IF EXISTS {tag}()").format(tag=tag))


REFUSE = "RAISE EXCEPTION 'certificate insert refused by the test'"
STALL = "PERFORM pg_sleep(60)"


def ready(client: AcmeClient, http01: Http01Responder, name: str) -> tuple[str, dict]:
    created = expect(client.new_order([name]), 201)
    client.complete_authorizations(created.json(), http01=http01)
    order = client.poll(created.headers["Location"], {"ready"}, timeout=TIMEOUT)
    assert order.json()["status"] == "ready", order.text
    return created.headers["Location"], order.json()


def intent_of(server: RunningServer, order_url: str) -> str:
    """The serial recorded for the order (read as an auditor would, from the database)."""
    serial = scalar(server, "SELECT serial FROM issuance_intents WHERE order_id = %s",
                    uuid.UUID(order_url.rsplit("/", 1)[1]))
    assert serial, "no issuance intent was recorded"
    return str(serial)


def stored(server: RunningServer, serial: str) -> int:
    return int(scalar(server, "SELECT count(*) FROM certificates WHERE serial = %s", serial))  # type: ignore[arg-type]


# --- what an outsider sees: OCSP, the CRL -----------------------------------------------------


def ocsp_status(server: RunningServer, serial: str) -> ocsp.OCSPResponse:
    """Ask the server's OCSP responder about a serial (RFC 6960 CertID by hash)."""
    issuer = x509.load_pem_x509_certificate(server.ca_cert_path.read_bytes())
    name_hash, key_hash = issuer_hashes(issuer, "sha1")
    request = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        name_hash, key_hash, int(serial, 16), hashes.SHA1()).build()
    response = requests.post(f"{server.base_url}/ocsp",
                             data=request.public_bytes(serialization.Encoding.DER),
                             headers={"Content-Type": "application/ocsp-request"}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    answer = ocsp.load_der_ocsp_response(response.content)
    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.serial_number == int(serial, 16)
    return answer


def ocsp_good(server: RunningServer, serial: str) -> bool:
    return ocsp_status(server, serial).certificate_status == ocsp.OCSPCertStatus.GOOD


def revoked_with(server: RunningServer, serial: str) -> x509.ReasonFlags | None:
    answer = ocsp_status(server, serial)
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    return answer.revocation_reason


def on_crl(server: RunningServer, serial: str) -> x509.RevokedCertificate:
    """The CRL entry for the serial, waiting (bounded) for the CRL worker's rebuild."""
    issuer = x509.load_pem_x509_certificate(server.ca_cert_path.read_bytes())
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        response = requests.get(f"{server.base_url}/crl", timeout=TIMEOUT)
        assert response.status_code == 200
        crl = x509.load_der_x509_crl(response.content)
        assert crl.is_signature_valid(issuer.public_key())
        entry = crl.get_revoked_certificate_by_serial_number(int(serial, 16))
        if entry is not None:
            return entry
        assert time.monotonic() < deadline, f"serial {serial} never reached the CRL"
        time.sleep(0.3)


# --- the stale-order recovery, as the cleanup worker runs it --------------------------------


def recover_stale_orders(server: RunningServer) -> int:
    """Run the cleanup worker's stale_processing task once on the server's database with a
    clock past order.stale_processing_threshold_seconds; the orders it moved."""
    settings = settings_from_dict(server.config, environ={})
    later = utc_now() + timedelta(seconds=settings.order.stale_processing_threshold_seconds + 1)
    task = next(t for t in TASKS if t.name == "stale_processing")
    with ConnectionPool(server.database_url, min_size=1, max_size=2,
                        kwargs={"autocommit": True}) as pool:
        env = Env(settings=settings, pool=pool, ca=None, validator=None,
                  dispatch=lambda *_: None, clock=lambda: later)
        return task.run(env, 100)[1]


def order_status(client: AcmeClient, order_url: str) -> dict:
    return expect(client.post(order_url, None), 200).json()


# --- a failed certificate insert ------------------------------------------------------------


@pytest.mark.parametrize("insert_fails_again", [False, True], ids=["recovered", "given-up"])
def test_failed_insert_keeps_the_signed_certificate(crash_server, crash_http01, crash_admin,
                                                    client, insert_fails_again) -> None:
    name = unique("insert", zone="localhost")
    order_url, order = ready(client, crash_http01, name)
    csr, _key = make_csr([name])
    with certificate_insert_trigger(crash_server, name, REFUSE):
        response = client.finalize(order, csr)
        assert response.status_code == 500, response.text
        assert response.json()["type"] == ERROR_PREFIX + "serverInternal"
        assert "certificate insert refused" not in response.text  # nothing internal leaks
        serial = intent_of(crash_server, order_url)
        assert stored(crash_server, serial) == 0
        # findable: the admin API lists it, with the signed leaf the CA produced
        listed = crash_admin.get("/issuance-intents").json()["items"]
        assert serial in [i["serial"] for i in listed]
        shown = crash_admin.get(f"/issuance-intents/{serial}").json()
        assert shown["leaf_kept"] is True and shown["abandoned_at"] is None
        leaf = x509.load_pem_x509_certificate(shown["pem"].encode())
        issuer = x509.load_pem_x509_certificate(crash_server.ca_cert_path.read_bytes())
        leaf.verify_directly_issued_by(issuer)
        assert format(leaf.serial_number, "x") == serial
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == [name]
        assert ocsp_good(crash_server, serial)  # never "unknown": this serial was signed
        assert order_status(client, order_url)["status"] == "processing"
        if insert_fails_again:  # recovery tries to store it, fails, and records the order given up
            assert recover_stale_orders(crash_server) >= 1
    if not insert_fails_again:
        assert recover_stale_orders(crash_server) >= 1
        done = order_status(client, order_url)
        assert done["status"] == "valid"
        chain = expect(client.download(done["certificate"]), 200).text
        assert x509.load_pem_x509_certificate(chain.encode()) == leaf  # the very leaf signed
        assert stored(crash_server, serial) == 1
        assert crash_admin.get(f"/issuance-intents/{serial}").status_code == 404
        assert ocsp_good(crash_server, serial)
        return
    failed = order_status(client, order_url)
    assert failed["status"] == "invalid"
    assert failed["error"]["type"] == ERROR_PREFIX + "serverInternal"
    kept = crash_admin.get(f"/issuance-intents/{serial}").json()
    assert kept["leaf_kept"] is True and kept["abandoned_at"] is not None
    assert ocsp_good(crash_server, serial) and stored(crash_server, serial) == 0


def test_operator_revokes_an_unstored_certificate(crash_server, crash_http01, crash_admin,
                                                  client) -> None:
    """Revoked by the admin API: OCSP says revoked, the CRL lists it, keyCompromise blocks the
    key, and the order still in processing is given up so it can never be handed out."""
    name = unique("revoke", zone="localhost")
    order_url, order = ready(client, crash_http01, name)
    csr, key = make_csr([name])
    with certificate_insert_trigger(crash_server, name, REFUSE):
        assert client.finalize(order, csr).status_code == 500
    serial = intent_of(crash_server, order_url)
    bad = crash_admin.post(f"/issuance-intents/{serial}/revoke", {"reason": 2})  # cACompromise
    assert bad.status_code == 400, bad.text
    assert ocsp_good(crash_server, serial)
    response = crash_admin.post(f"/issuance-intents/{serial}/revoke", {"reason": 1})
    assert response.status_code == 200, response.text
    assert response.json()["revocation_reason"] == 1
    again = crash_admin.post(f"/issuance-intents/{serial}/revoke", {"reason": 1})
    assert again.status_code == 400 and again.json()["type"].endswith("alreadyRevoked")
    assert revoked_with(crash_server, serial) == x509.ReasonFlags.key_compromise
    assert on_crl(crash_server, serial).revocation_date_utc is not None
    assert order_status(client, order_url)["status"] == "invalid"
    spki = scalar(crash_server, "SELECT spki_sha256 FROM issuance_intents WHERE serial = %s", serial)
    assert crash_admin.get(f"/blocked-keys/{spki}").status_code == 200
    assert recover_stale_orders(crash_server) == 0 or stored(crash_server, serial) == 0
    assert stored(crash_server, serial) == 0  # a revoked leaf is never stored and handed out
    audit = crash_admin.get("/audit", params={"action": "issuance_intent.revoke"}).json()["items"]
    assert any(row["target"] == f"serial:{serial}" and row["outcome"] == "success" for row in audit)


# --- a worker killed between signing and storing -------------------------------------------


def gunicorn_workers(server: RunningServer) -> list[int]:
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    return [int(pid) for pid in children.read_text().split()]


def sleeping_backend(server: RunningServer) -> int:
    """The PostgreSQL backend waiting in the trigger's pg_sleep (bounded wait)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        pid = scalar(server, "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                             " AND wait_event = 'PgSleep' AND query LIKE '%%INSERT INTO certificates%%'")
        if pid:
            return int(pid)  # type: ignore[arg-type]
        time.sleep(0.1)
    raise AssertionError("finalize never reached the certificate insert\n" + server.log_tail())


def test_worker_killed_between_signing_and_storing(crash_server, crash_http01, crash_admin,
                                                   client) -> None:
    name = unique("sigkill", zone="localhost")
    order_url, order = ready(client, crash_http01, name)
    csr, _key = make_csr([name])
    answers: list[object] = []

    def finalize() -> None:
        try:
            answers.append(client.finalize(order, csr))
        except requests.RequestException as exc:  # the worker died with the connection open
            answers.append(exc)

    with certificate_insert_trigger(crash_server, name, STALL):
        caller = threading.Thread(target=finalize, daemon=True)
        caller.start()
        backend = sleeping_backend(crash_server)
        # The CA has signed; the certificate row waits in the trigger. The intent is already
        # committed: another connection sees it.
        serial = intent_of(crash_server, order_url)
        (worker,) = gunicorn_workers(crash_server)
        os.kill(worker, signal.SIGKILL)
        # The database drops the dead client's session (else the insert would finish after
        # the sleep and commit: the certificate would be stored after all).
        with db(crash_server) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (backend,))
        caller.join(TIMEOUT)
    assert not caller.is_alive() and answers
    assert not (isinstance(answers[0], requests.Response) and answers[0].status_code == 200)
    wait_for_directory(crash_server, WAIT_SECONDS)  # gunicorn started a new worker
    assert stored(crash_server, serial) == 0
    shown = crash_admin.get(f"/issuance-intents/{serial}").json()
    assert shown["leaf_kept"] is False and shown["names"] == [name]
    assert ocsp_good(crash_server, serial)  # it may be in use: never "unknown"
    assert order_status(client, order_url)["status"] == "processing"
    assert recover_stale_orders(crash_server) >= 1  # recorded, not forgotten
    assert order_status(client, order_url)["status"] == "invalid"
    recorded = crash_admin.get(f"/issuance-intents/{serial}").json()
    assert recorded["abandoned_at"] is not None
    assert ocsp_good(crash_server, serial)
    expect(crash_admin.post(f"/issuance-intents/{serial}/revoke", {"reason": 4}), 200)
    assert revoked_with(crash_server, serial) == x509.ReasonFlags.superseded
    assert on_crl(crash_server, serial).revocation_date_utc is not None


# --- the order of events, seen from another connection -------------------------------------


def test_the_intent_is_committed_before_the_ca_signs(authority, trust_db) -> None:
    """When the CA signs, another connection already sees the intent of exactly the serial it
    signs (the real CA, watched as it is called)."""
    env = authority()
    account, _ = new_account(env)
    name = unique("intent", zone="localhost")
    order_id = ready_order(env, account, [{"type": "dns", "value": name}])
    real, seen = env.ca, []

    class Watched:
        def __getattr__(self, attribute: str):
            return getattr(real, attribute)

        def sign(self, csr, identifiers, **kw):
            with psycopg.connect(trust_db, autocommit=True) as conn:
                seen.append(conn.execute("SELECT serial, names FROM issuance_intents"
                                         " WHERE order_id = %s", (order_id,)).fetchall())
            return real.sign(csr, identifiers, **kw)

    csr, _key = make_csr([name])
    done = finalizing.finalize(dataclasses.replace(env, ca=Watched()), account,
                               read_order(env, order_id),
                               Finalize(csr=csr))
    with env.pool.connection() as conn:
        serial = conn.execute("SELECT serial FROM certificates WHERE id = %s",
                              (done.order.certificate_id,)).fetchone()[0]
        left = conn.execute("SELECT count(*) FROM issuance_intents WHERE order_id = %s",
                            (order_id,)).fetchone()[0]
    assert seen == [[(serial, [name])]]  # recorded and committed before the signature
    assert left == 0  # settled by the statement that stored the certificate
