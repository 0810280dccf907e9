"""issuance.crl, issuance.ocsp and issuance.responder: CRLs, OCSP answers and the delegated
responder, checked by parsing what they produce with cryptography (and its signature checks)."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp as x509_ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from acmeeh.issuance import ocsp
from acmeeh.issuance.crl import RevokedEntry, build_crl
from acmeeh.issuance.keyfiles import CAError
from acmeeh.issuance.local import LocalCA
from acmeeh.issuance.profiles import LeafProfile
from acmeeh.issuance.responder import (
    CERT_NAME,
    KEY_NAME,
    DelegatedResponder,
    Signer,
)
from acmeeh.issuance.registry import load_backend
from acmeeh.protocol.identifiers import Identifier
from acmeeh.protocol.status import IdentifierType

from .pki import CASettings, make_cert, new_key, write

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def signer_for(pki) -> Signer:
    settings = CASettings(certificate=str(pki.cert_path), key=str(pki.key_path))
    return load_backend(settings).status_signer(settings.hash)


def leaf_of(pki, name: str = "leaf.example") -> x509.Certificate:
    ca = LocalCA(certificate=pki.cert, key=pki.key)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .sign(new_key("ec"), hashes.SHA256())
    )
    issued = ca.sign(csr, [Identifier(IdentifierType.DNS, name)], profile=LeafProfile())
    return x509.load_der_x509_certificate(issued.der)


def request_for(leaf, issuer, algorithm=None, nonce: bytes | None = None) -> bytes:
    builder = x509_ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, algorithm or hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


# --- CRL ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["ec", "rsa", "ed25519"])
def test_crl_lists_entries_with_reasons(pki_factory, kind: str) -> None:
    pki = pki_factory(kind)
    signer = signer_for(pki)
    entries = [
        RevokedEntry(0x1234, NOW - HOUR, 0),
        RevokedEntry(0xABCDEF, NOW - 2 * HOUR, 1),
        RevokedEntry(0x42, NOW - 3 * HOUR, 4),
    ]
    der = build_crl(signer, entries, number=7, this_update=NOW, next_update=NOW + 24 * HOUR)
    crl = x509.load_der_x509_crl(der)
    assert crl.is_signature_valid(pki.cert.public_key())
    assert crl.issuer == pki.cert.subject
    assert crl.last_update_utc == NOW and crl.next_update_utc == NOW + 24 * HOUR
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 7
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = pki.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    by_serial = {r.serial_number: r for r in crl}
    assert set(by_serial) == {0x1234, 0xABCDEF, 0x42}
    # RFC 5280 §5.3.1: unspecified is expressed by leaving reasonCode out.
    assert not list(by_serial[0x1234].extensions)
    reason = by_serial[0xABCDEF].extensions.get_extension_for_class(x509.CRLReason).value
    assert reason.reason == x509.ReasonFlags.key_compromise
    assert by_serial[0x42].revocation_date_utc == NOW - 3 * HOUR


def test_empty_crl(pki) -> None:
    der = build_crl(signer_for(pki), [], number=1, this_update=NOW, next_update=NOW + HOUR)
    crl = x509.load_der_x509_crl(der)
    assert len(crl) == 0 and crl.is_signature_valid(pki.cert.public_key())


@pytest.mark.parametrize(
    ("number", "next_update", "delegated"),
    [(0, NOW + HOUR, False), (1 << 160, NOW + HOUR, False), (1, NOW, False), (1, NOW + HOUR, True)],
    ids=["zero-number", "huge-number", "next-not-after-this", "delegated-signer"],
)
def test_crl_refuses_bad_input(pki, number, next_update, delegated) -> None:
    base = signer_for(pki)
    signer = Signer(base.certificate, base.key, base.hash, delegated=delegated)
    with pytest.raises(CAError):
        build_crl(signer, [], number=number, this_update=NOW, next_update=next_update)


# --- OCSP requests ------------------------------------------------------------------------------
@pytest.mark.parametrize("algorithm", [hashes.SHA1(), hashes.SHA256(), hashes.SHA384(), hashes.SHA512()])
def test_parse_request_and_issuer_match(pki, algorithm) -> None:
    leaf = leaf_of(pki)
    query = ocsp.parse_request(request_for(leaf, pki.cert, algorithm, nonce=b"n" * 16))
    assert query.serial_number == leaf.serial_number
    assert query.hash_algorithm.name == algorithm.name
    assert query.nonce == b"n" * 16
    names = (query.issuer_name_hash, query.issuer_key_hash)
    assert names == ocsp.issuer_hashes(pki.cert, algorithm.name)
    assert names != ocsp.issuer_hashes(pki.policy, algorithm.name)  # another CA


def two_entry_request(pki) -> bytes:
    """An OCSPRequest with two entries (cryptography builds only one): splice DER by hand."""
    one = request_for(leaf_of(pki, "a.example"), pki.cert)
    two = request_for(leaf_of(pki, "b.example"), pki.cert)

    def request_entry(der: bytes) -> bytes:  # OCSPRequest → TBSRequest → requestList → Request
        _t, s, _e = ocsp._tlv(der, 0)
        _t, s, _e = ocsp._tlv(der, s)
        _t, s, e = ocsp._tlv(der, s)
        return der[s:e]

    def seq(body: bytes) -> bytes:
        n = len(body)
        length = bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else bytes([0x82]) + n.to_bytes(2, "big")
        return b"\x30" + length + body

    return seq(seq(seq(request_entry(one) + request_entry(two))))


@pytest.mark.parametrize(
    "make",
    [lambda pki: b"", lambda pki: b"not der", lambda pki: b"\x30\x03\x02\x01\x01", two_entry_request],
    ids=["empty", "garbage", "wrong-structure", "two-entries"],
)
def test_parse_request_malformed(pki, make) -> None:
    with pytest.raises(ocsp.OCSPError) as caught:
        ocsp.parse_request(make(pki))
    assert caught.value.status == x509_ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_parse_request_refuses_oversized_nonce(pki) -> None:
    with pytest.raises(ocsp.OCSPError):
        ocsp.parse_request(request_for(leaf_of(pki), pki.cert, nonce=b"x" * 33))


@pytest.mark.parametrize("kind", ["ec", "rsa", "ed25519"])
def test_issuer_hashes_match_cryptography(pki_factory, kind: str) -> None:
    pki = pki_factory(kind)
    leaf = leaf_of(pki)
    for algorithm in (hashes.SHA1(), hashes.SHA256()):
        req = x509_ocsp.load_der_ocsp_request(request_for(leaf, pki.cert, algorithm))
        assert ocsp.issuer_hashes(pki.cert, algorithm.name) == (req.issuer_name_hash, req.issuer_key_hash)


# --- OCSP responses -----------------------------------------------------------------------------
STATES = {
    "good": (ocsp.GOOD, x509_ocsp.OCSPCertStatus.GOOD, None),
    "revoked-keycompromise": (
        ocsp.CertState("revoked", NOW - HOUR, 1), x509_ocsp.OCSPCertStatus.REVOKED,
        x509.ReasonFlags.key_compromise,
    ),
    "revoked-unspecified": (
        ocsp.CertState("revoked", NOW - HOUR, 0), x509_ocsp.OCSPCertStatus.REVOKED, None,
    ),
    "unknown": (ocsp.UNKNOWN, x509_ocsp.OCSPCertStatus.UNKNOWN, None),
}


@pytest.mark.parametrize("name", list(STATES))
@pytest.mark.parametrize("delegated", [False, True], ids=["ca-signed", "delegated"])
def test_build_response(pki, tmp_path: Path, name: str, delegated: bool) -> None:
    state, expected, reason = STATES[name]
    issuer = signer_for(pki)
    signer = issuer
    if delegated:
        signer = DelegatedResponder(issuer, tmp_path / "responder", validity=24 * HOUR,
                                    renew_before=6 * HOUR).current()
    leaf = leaf_of(pki)
    query = ocsp.parse_request(request_for(leaf, pki.cert, nonce=b"nonce-123"))
    der = ocsp.build_response(signer, query, state, this_update=NOW, next_update=NOW + HOUR,
                              nonce=query.nonce)
    resp = x509_ocsp.load_der_ocsp_response(der)
    assert resp.response_status == x509_ocsp.OCSPResponseStatus.SUCCESSFUL
    assert resp.certificate_status == expected
    assert resp.serial_number == leaf.serial_number
    assert resp.issuer_key_hash == query.issuer_key_hash
    assert resp.this_update_utc == NOW and resp.next_update_utc == NOW + HOUR
    assert resp.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"nonce-123"
    if expected == x509_ocsp.OCSPCertStatus.REVOKED:
        assert resp.revocation_time_utc == NOW - HOUR
        assert resp.revocation_reason == reason
    # The responder is identified by key hash, its certificate included only when delegated.
    assert resp.responder_key_hash == x509.SubjectKeyIdentifier.from_public_key(
        signer.certificate.public_key()).digest
    assert [c.serial_number for c in resp.certificates] == (
        [signer.certificate.serial_number] if delegated else [])
    signing_key = signer.certificate.public_key()
    assert isinstance(signing_key, ec.EllipticCurvePublicKey)  # the test PKI's issuer is EC
    signing_key.verify(resp.signature, resp.tbs_response_bytes, ec.ECDSA(resp.signature_hash_algorithm))


@pytest.mark.parametrize(
    "status",
    [x509_ocsp.OCSPResponseStatus.MALFORMED_REQUEST, x509_ocsp.OCSPResponseStatus.UNAUTHORIZED,
     x509_ocsp.OCSPResponseStatus.INTERNAL_ERROR],
)
def test_unsuccessful(status) -> None:
    assert x509_ocsp.load_der_ocsp_response(ocsp.unsuccessful(status)).response_status == status


# --- delegated responder ------------------------------------------------------------------------
class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_delegated_responder_certificate_profile(pki, tmp_path: Path) -> None:
    directory = tmp_path / "ocsp"
    responder = DelegatedResponder(signer_for(pki), directory, validity=7 * 24 * HOUR,
                                   renew_before=2 * 24 * HOUR)
    cert = responder.current().certificate
    cert.verify_directly_issued_by(pki.cert)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.OCSP_SIGNING]
    assert cert.extensions.get_extension_for_class(x509.OCSPNoCheck)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= 7 * 24 * HOUR
    assert stat.S_IMODE((directory / KEY_NAME).stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    # A second process (a new object) loads the same certificate instead of issuing one.
    again = DelegatedResponder(signer_for(pki), directory, validity=7 * 24 * HOUR,
                               renew_before=2 * 24 * HOUR)
    assert again.current().certificate == cert


def test_delegated_responder_rotates_before_expiry(pki, tmp_path: Path) -> None:
    clock = Clock(datetime.now(UTC))
    responder = DelegatedResponder(signer_for(pki), tmp_path / "r", validity=10 * HOUR,
                                   renew_before=3 * HOUR, clock=clock)
    first = responder.current().certificate
    clock.now += 6 * HOUR
    assert responder.current().certificate == first  # 4 hours left: still fine
    clock.now += 2 * HOUR
    second = responder.current().certificate  # 2 hours left: rotated
    assert second != first and second.not_valid_after_utc > first.not_valid_after_utc
    assert x509.load_pem_x509_certificate((tmp_path / "r" / CERT_NAME).read_bytes()) == second


def test_delegated_responder_replaces_a_foreign_certificate(pki_factory, tmp_path: Path) -> None:
    one, two = pki_factory("ec"), pki_factory("rsa")
    directory = tmp_path / "shared"
    first = DelegatedResponder(signer_for(one), directory, validity=24 * HOUR, renew_before=HOUR)
    foreign = first.current().certificate
    second = DelegatedResponder(signer_for(two), directory, validity=24 * HOUR, renew_before=HOUR)
    mine = second.current().certificate
    assert mine != foreign
    mine.verify_directly_issued_by(two.cert)


def test_delegated_responder_settings_checked(pki, tmp_path: Path) -> None:
    with pytest.raises(CAError):
        DelegatedResponder(signer_for(pki), tmp_path, validity=HOUR, renew_before=HOUR)


def test_status_signer_is_the_backends_issuer_with_the_asked_hash(pki) -> None:
    backend = load_backend(CASettings(certificate=str(pki.cert_path), key=str(pki.key_path)))
    signer = backend.status_signer("sha384")
    assert signer.certificate == backend.issuer_certificate and not signer.delegated
    assert signer.hash is not None and signer.hash.name == "sha384"


def test_responder_uses_expired_ca_guard(pki, tmp_path: Path) -> None:
    """A CA that ends before a responder could live its renew margin refuses to delegate."""
    key = new_key("ec")
    short = make_cert(key, "Short CA", not_before=datetime.now(UTC) - HOUR,
                      not_after=datetime.now(UTC) + HOUR)
    signer = Signer(short, key, hashes.SHA256())
    responder = DelegatedResponder(signer, tmp_path / "x", validity=24 * HOUR, renew_before=2 * HOUR)
    with pytest.raises(CAError, match="expires too soon"):
        responder.current()


def test_delegated_responder_unusable_directory(pki, tmp_path: Path) -> None:
    """An OSError (here: a path under a regular file) becomes a CAError naming the setting."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    responder = DelegatedResponder(signer_for(pki), blocker / "ocsp", validity=24 * HOUR,
                                   renew_before=HOUR)
    with pytest.raises(CAError, match="ocsp.responder_dir"):
        responder.current()


def test_delegated_responder_in_memory_writes_nothing(pki, tmp_path: Path) -> None:
    """ocsp.responder_dir null: the responder lives in memory, so a read-only CA folder is fine."""
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    clock = Clock(datetime.now(UTC))
    responder = DelegatedResponder(signer_for(pki), None, validity=10 * HOUR,
                                   renew_before=3 * HOUR, clock=clock)
    first = responder.current()
    assert first.delegated and first.certificate.public_key() == first.key.public_key()
    first.certificate.verify_directly_issued_by(pki.cert)
    assert responder.current() is first  # kept, not issued per call
    clock.now += 8 * HOUR
    second = responder.current().certificate  # rotated in memory
    assert second != first.certificate
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
