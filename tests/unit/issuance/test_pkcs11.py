"""Backend pkcs11 on a SoftHSM2 token made from scratch: leaves, CRLs, OCSP answers and the
delegated responder's certificate signed in the token (RSA and EC), the start-up checks naming
the token and key, the session pool under concurrency, and reconnection after a reset."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp as x509_ocsp
from support.softhsm import MODULE, PIN, Hsm, HsmCA

from acmeeh.config.load import settings_from_dict
from acmeeh.issuance import ocsp
from acmeeh.issuance.backend import CAError, test_sign
from acmeeh.issuance.backends.pkcs11_keys import TokenECKey, TokenRSAKey
from acmeeh.issuance.crl import RevokedEntry, build_crl
from acmeeh.issuance.local import LocalCA
from acmeeh.issuance.registry import load_backend
from acmeeh.issuance.responder import DelegatedResponder

NOW = datetime.now(UTC).replace(microsecond=0)


def settings(ca: HsmCA, *, certificate: bool = True, **pkcs11: object):
    doc = {"server": {"external_url": "https://acme.test"},
           "ca": ca.ca_settings(certificate=certificate)}
    doc["ca"]["pkcs11"].update(pkcs11)
    return settings_from_dict(doc, environ={"ACMEEH_TEST_HSM_PIN": PIN}).ca


def verify(issuer: x509.Certificate, signature: bytes, data: bytes,
           algorithm: hashes.HashAlgorithm) -> None:
    public = issuer.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        public.verify(signature, data, padding.PKCS1v15(), algorithm)
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(signature, data, ec.ECDSA(algorithm))


@pytest.fixture(params=["rsa", "ec"])
def hsm_ca(request: pytest.FixtureRequest, hsm: Hsm) -> HsmCA:
    return hsm.rsa if request.param == "rsa" else hsm.ec


def test_leaves_are_signed_in_the_token(hsm_ca: HsmCA) -> None:
    backend = load_backend(settings(hsm_ca))
    assert isinstance(backend, LocalCA)
    kind = TokenRSAKey if hsm_ca.token == "acmeeh-rsa" else TokenECKey
    signer = backend.status_signer("sha256")
    assert isinstance(signer.key, kind)
    leaf = x509.load_der_x509_certificate(test_sign(backend).der)
    leaf.verify_directly_issued_by(backend.issuer_certificate)
    assert leaf.issuer == backend.issuer_certificate.subject
    health = backend.health()
    assert health["backend"] == "pkcs11" and hsm_ca.token in str(health["token"])
    assert health["sessions"] == {"open": 1, "idle": 1, "max": 4}


def test_crl_ocsp_and_the_delegated_responder_are_signed_in_the_token(hsm_ca: HsmCA,
                                                                       tmp_path: Path) -> None:
    backend = load_backend(settings(hsm_ca))
    issuer = backend.status_signer("sha384")
    crl = x509.load_der_x509_crl(build_crl(
        issuer, [RevokedEntry(0x1234, NOW, 1)], number=7, this_update=NOW,
        next_update=NOW + timedelta(days=1)))
    assert crl.is_signature_valid(backend.issuer_certificate.public_key())  # type: ignore[arg-type]
    assert crl.signature_hash_algorithm.name == "sha384"  # type: ignore[union-attr]
    assert crl.get_revoked_certificate_by_serial_number(0x1234) is not None

    responder = DelegatedResponder(issuer, None, validity=timedelta(days=1),
                                   renew_before=timedelta(hours=1)).current()
    responder.certificate.verify_directly_issued_by(backend.issuer_certificate)
    name_hash, key_hash = ocsp.issuer_hashes(backend.issuer_certificate, "sha1")
    query = ocsp.OCSPQuery(0x1234, hashes.SHA1(), name_hash, key_hash, None)
    for signer in (issuer, responder):
        answer = x509_ocsp.load_der_ocsp_response(ocsp.build_response(
            signer, query, ocsp.GOOD, this_update=NOW, next_update=NOW + timedelta(hours=1)))
        verify(signer.certificate, answer.signature, answer.tbs_response_bytes,
               answer.signature_hash_algorithm)  # type: ignore[arg-type]


def test_the_certificate_can_come_from_the_token(hsm: Hsm) -> None:
    backend = load_backend(settings(hsm.ec, certificate=False))
    assert backend.issuer_certificate == x509.load_pem_x509_certificate(
        hsm.ec.certificate.read_bytes())


@pytest.mark.parametrize(("change", "message"), [
    ({"pin": "0000", "token_label": "acmeeh-spare"},
     "ca.pkcs11.pin: token 'acmeeh-spare' refused the PIN (PinIncorrect)"),
    ({"token_label": "nowhere"}, "ca.pkcs11.token_label: no token 'nowhere' in " + MODULE),
    ({"token_label": None, "slot": 999999}, "ca.pkcs11.slot: no slot 999999"),
    ({"key_label": "absent"}, "no private key label 'absent' on token 'acmeeh-rsa'"),
    ({"key_label": "twin"}, "more than one private key label 'twin' on token 'acmeeh-rsa'; "
                            "name it by ca.pkcs11.key_id"),
    ({"key_label": "twin", "key_id": "0a"}, "does not match the certificate in ca.certificate"),
    ({"module": "/nonexistent/libnothing.so"}, "ca.pkcs11.module: cannot load "
                                               "/nonexistent/libnothing.so"),
])
def test_what_is_wrong_is_named(hsm: Hsm, change: dict, message: str) -> None:
    with pytest.raises(CAError) as caught:
        load_backend(settings(hsm.rsa, **change))
    assert message in str(caught.value)


@pytest.mark.parametrize(("change", "message"), [
    ({"key": "x.pem"}, "ca.key must be empty with ca.backend pkcs11"),
    ({"pkcs11": {"module": None}}, "ca.pkcs11.module is required"),
    ({"pkcs11": {"key_label": None}}, "ca.pkcs11.key_label or ca.pkcs11.key_id is required"),
    ({"pkcs11": {"token_label": None}}, "ca.pkcs11.token_label or ca.pkcs11.slot is required"),
])
def test_settings_built_around_the_schema_are_checked_again(hsm: Hsm, change: dict,
                                                            message: str) -> None:
    """A third-party caller may build CASettings without the configuration checks."""
    ca = settings(hsm.rsa)
    if "pkcs11" in change:
        change = {"pkcs11": dataclasses.replace(ca.pkcs11, **change["pkcs11"])}
    with pytest.raises(CAError, match=message):
        load_backend(dataclasses.replace(ca, **change))


def test_a_certificate_of_another_key_is_refused_naming_the_key(hsm: Hsm) -> None:
    doc = {"server": {"external_url": "https://acme.test"}, "ca": hsm.rsa.ca_settings()}
    doc["ca"]["certificate"] = str(hsm.ec.certificate)
    ca = settings_from_dict(doc, environ={"ACMEEH_TEST_HSM_PIN": PIN}).ca
    with pytest.raises(CAError, match="key label 'ca-rsa' on token 'acmeeh-rsa' does not match"):
        load_backend(ca)


def test_concurrent_signatures_share_a_bounded_pool(hsm: Hsm) -> None:
    backend = load_backend(settings(hsm.ec, max_sessions=2))
    leaves: list[bytes] = []
    errors: list[BaseException] = []

    def sign() -> None:
        try:
            for _ in range(3):
                leaves.append(test_sign(backend).der)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sign) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(leaves) == 18
    for der in leaves:
        x509.load_der_x509_certificate(der).verify_directly_issued_by(backend.issuer_certificate)
    sessions = backend.health()["sessions"]
    assert sessions["open"] <= 2 and sessions["max"] == 2  # type: ignore[index]


def test_it_reconnects_after_the_library_is_reset(hsm: Hsm) -> None:
    backend = load_backend(settings(hsm.rsa))
    test_sign(backend)
    hsm.library().reinitialize()  # C_Finalize + C_Initialize: every session handle is void
    leaf = x509.load_der_x509_certificate(test_sign(backend).der)
    leaf.verify_directly_issued_by(backend.issuer_certificate)
    health = backend.health()
    assert health["reconnects"] == 1 and health["last_error"] == "SessionHandleInvalid"
    hsm.library().finalize()  # the library left finalised: the pool initialises it again
    backend.check()
    assert backend.health()["reconnects"] == 2


def test_the_key_cannot_be_read_out(hsm: Hsm) -> None:
    key = load_backend(settings(hsm.ec)).status_signer("sha256").key
    with pytest.raises(TypeError, match="stays in the PKCS#11 token"):
        key.private_numbers()
