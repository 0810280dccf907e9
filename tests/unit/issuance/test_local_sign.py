"""LocalCA.sign: the leaf profile, extension by extension, plus serials, validity and the chain."""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from acmeeh.issuance.backend import CAError, IssuedCertificate, LeafProfile, test_sign
from acmeeh.issuance.local import LocalCA
from acmeeh.issuance.registry import load_backend
from acmeeh.protocol.identifiers import Identifier
from acmeeh.protocol.status import IdentifierType

from .pki import PKI, make_cert, new_key

TLS = LeafProfile()  # the schema's tlsserver profile
CRL = "http://127.0.0.1:8443/crl/1.crl"
OCSP = "http://127.0.0.1:8443/ocsp"


def dns(value: str) -> Identifier:
    return Identifier(IdentifierType.DNS, value)


def ip(value: str) -> Identifier:
    return Identifier(IdentifierType.IP, value)


def csr_for(key, names=("csr-name.example",)) -> x509.CertificateSigningRequest:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    )
    builder = builder.add_extension(
        x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
    )
    digest = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, digest)


def leaf_of(issued: IssuedCertificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(issued.der)


def ext(cert: x509.Certificate, cls):
    return cert.extensions.get_extension_for_class(cls)


@pytest.mark.parametrize("leaf_kind", ["rsa", "ec", "ed25519"])
@pytest.mark.parametrize("issuer_kind", ["rsa", "ec", "ed25519"])
def test_leaf_profile(pki_factory, keys, issuer_kind: str, leaf_kind: str) -> None:
    p = pki_factory(issuer_kind)
    backend = load_backend(p.settings(), crl_url=CRL, ocsp_url=OCSP)
    leaf_key = keys[leaf_kind]
    names = [dns("www.example.test"), dns("*.example.test")]
    issued = backend.sign(csr_for(leaf_key), names, profile=TLS)
    leaf = leaf_of(issued)

    assert leaf.version == x509.Version.v3
    assert leaf.issuer == p.cert.subject
    assert leaf.subject == x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "www.example.test")])
    assert leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == leaf_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    san = ext(leaf, x509.SubjectAlternativeName)
    assert not san.critical  # the subject is not empty
    assert san.value.get_values_for_type(x509.DNSName) == ["www.example.test", "*.example.test"]

    bc = ext(leaf, x509.BasicConstraints)
    assert bc.critical and bc.value.ca is False and bc.value.path_length is None

    ku = ext(leaf, x509.KeyUsage)
    assert ku.critical
    assert ku.value.digital_signature
    assert ku.value.key_encipherment is (leaf_kind == "rsa")
    for flag in (
        "content_commitment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
    ):
        assert getattr(ku.value, flag) is False

    eku = ext(leaf, x509.ExtendedKeyUsage)
    assert not eku.critical and list(eku.value) == [ExtendedKeyUsageOID.SERVER_AUTH]

    ski = ext(leaf, x509.SubjectKeyIdentifier)
    assert not ski.critical
    assert ski.value == x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key())

    aki = ext(leaf, x509.AuthorityKeyIdentifier)
    assert not aki.critical
    assert aki.value.key_identifier == ext(p.cert, x509.SubjectKeyIdentifier).value.digest

    cdp = ext(leaf, x509.CRLDistributionPoints)
    assert not cdp.critical
    assert [n.value for n in cdp.value[0].full_name] == [CRL]

    aia = ext(leaf, x509.AuthorityInformationAccess)
    assert not aia.critical
    assert [(d.access_method, d.access_location.value) for d in aia.value] == [
        (AuthorityInformationAccessOID.OCSP, OCSP)
    ]
    assert len(leaf.extensions) == 8

    expected_hash = None if issuer_kind == "ed25519" else hashes.SHA256
    if expected_hash is None:
        assert leaf.signature_hash_algorithm is None
    else:
        assert isinstance(leaf.signature_hash_algorithm, expected_hash)
    leaf.verify_directly_issued_by(p.cert)


def test_names_come_from_identifiers_not_the_csr(pki: PKI, keys) -> None:
    backend = load_backend(pki.settings())
    csr = csr_for(keys["ec"], ("evil.example", "other.example"))
    leaf = leaf_of(backend.sign(csr, [dns("good.example")], profile=TLS))
    assert ext(leaf, x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == [
        "good.example"
    ]
    assert "evil" not in leaf.subject.rfc4514_string()


def test_ip_and_dns_identifiers(pki: PKI, keys) -> None:
    backend = load_backend(pki.settings())
    idents = [ip("192.0.2.7"), dns("mixed.example"), ip("2001:db8::1")]
    leaf = leaf_of(backend.sign(csr_for(keys["ec"]), idents, profile=TLS))
    san = ext(leaf, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("192.0.2.7"),
        ipaddress.ip_address("2001:db8::1"),
    ]
    assert san.get_values_for_type(x509.DNSName) == ["mixed.example"]
    # CN is the first dns identifier even when an ip comes first.
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "mixed.example"


LONG = "a" * 60 + ".example"  # 68 characters: too long for a CN (RFC 5280 ub-common-name 64)


@pytest.mark.parametrize(
    ("idents", "cn"),
    [
        ([ip("192.0.2.1")], None),
        ([ip("192.0.2.1"), ip("::1")], None),
        ([dns(LONG)], None),
        ([dns(LONG), dns("short.example")], "short.example"),
        ([dns("a" * 56 + ".example")], "a" * 56 + ".example"),  # exactly 64
        ([dns("*.wild.example")], "*.wild.example"),
    ],
    ids=["ip-only", "two-ips", "long-dns", "long-then-short", "64-chars", "wildcard"],
)
def test_subject_and_san_criticality(pki: PKI, keys, idents, cn) -> None:
    backend = load_backend(pki.settings())
    leaf = leaf_of(backend.sign(csr_for(keys["ec"]), idents, profile=TLS))
    san = ext(leaf, x509.SubjectAlternativeName)
    if cn is None:
        # RFC 5280 §4.2.1.6: empty subject → SAN MUST be critical.
        assert len(leaf.subject) == 0 and san.critical
    else:
        assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
        assert not san.critical
    assert len(list(san.value)) == len(idents)


def test_duplicate_identifiers_appear_once(pki: PKI, keys) -> None:
    leaf = leaf_of(
        load_backend(pki.settings()).sign(
            csr_for(keys["ec"]),
            [dns("a.example"), dns("a.example"), ip("192.0.2.1"), ip("192.0.2.1")],
        profile=TLS)
    )
    assert len(list(ext(leaf, x509.SubjectAlternativeName).value)) == 2


def test_client_auth_and_no_urls(pki: PKI, keys) -> None:
    backend = load_backend(pki.settings())
    both = LeafProfile(extended_key_usage=("server_auth", "client_auth"))
    leaf = leaf_of(backend.sign(csr_for(keys["ec"]), [dns("c.example")], profile=both))
    assert list(ext(leaf, x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    ]
    for cls in (x509.CRLDistributionPoints, x509.AuthorityInformationAccess):
        with pytest.raises(x509.ExtensionNotFound):
            ext(leaf, cls)


@pytest.mark.parametrize(
    ("name", "cls"),
    [("sha256", hashes.SHA256), ("sha384", hashes.SHA384), ("sha512", hashes.SHA512)],
)
def test_hash_setting(pki_factory, keys, name: str, cls) -> None:
    for kind in ("rsa", "ec"):
        p = pki_factory(kind)
        leaf = leaf_of(
            load_backend(p.settings(hash=name)).sign(
                csr_for(keys["ec"]), [dns("h.example")], profile=TLS
            )
        )
        assert isinstance(leaf.signature_hash_algorithm, cls)
        leaf.verify_directly_issued_by(p.cert)


def test_aki_falls_back_to_issuer_public_key(pki: PKI, keys, tmp_path) -> None:
    issuer_key = new_key("ec")
    cert = make_cert(issuer_key, "No SKI CA", ski=False)
    backend = LocalCA(certificate=cert, key=issuer_key)
    leaf = leaf_of(backend.sign(csr_for(keys["ec"]), [dns("aki.example")], profile=TLS))
    expected = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key())
    assert ext(leaf, x509.AuthorityKeyIdentifier).value.key_identifier == expected.key_identifier


def test_serials_are_random_positive_and_unique(pki: PKI, keys) -> None:
    backend = load_backend(pki.settings())
    csr = csr_for(keys["ec"])
    serials = []
    for _ in range(200):
        issued = backend.sign(csr, [dns("serial.example")], profile=TLS)
        serial = leaf_of(issued).serial_number
        assert issued.serial_hex == format(serial, "x")
        serials.append(serial)
    assert len(set(serials)) == 200
    assert all(0 < s < 2**159 for s in serials)
    # >= 64 bits of entropy: every serial needs more than 64 bits, and the bits vary.
    assert all(s.bit_length() > 64 for s in serials)
    ored = anded = serials[0]
    for s in serials[1:]:
        ored, anded = ored | s, anded & s
    assert (ored ^ anded).bit_count() >= 150  # nearly all 159 positions vary across 200 draws


def fixed(at: datetime):
    return lambda: at


def test_validity_is_backdated_and_sized(pki: PKI, keys) -> None:
    now = datetime(2030, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    issuer = pki.reissued(
        "Long CA",
        not_before=now - timedelta(days=10),
        not_after=now + timedelta(days=400),
    )
    backend = LocalCA(certificate=issuer, key=pki.key, backdate_seconds=120, clock=fixed(now))
    month = LeafProfile(validity_days=30)
    issued = backend.sign(csr_for(keys["ec"]), [dns("v.example")], profile=month)
    start = datetime(2030, 5, 1, 11, 58, 0, tzinfo=UTC)
    assert issued.not_before == start
    assert issued.not_after == start + timedelta(days=30)
    assert issued.not_before.tzinfo is not None
    week = LeafProfile(name="shortlived", validity_days=7)
    override = backend.sign(csr_for(keys["ec"]), [dns("v.example")], profile=week)
    assert override.not_after == start + timedelta(days=7)


def test_validity_is_clamped_to_the_issuer(pki: PKI, keys) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    issuer = pki.reissued(
        "Short CA",
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=10),
    )
    backend = LocalCA(certificate=issuer, key=pki.key, clock=fixed(now))
    issued = backend.sign(csr_for(keys["ec"]), [dns("clamp.example")], profile=TLS)
    assert issued.not_after == issuer.not_valid_after_utc
    # A CA made a moment ago: notBefore is not pushed before the issuer's own notBefore.
    young = pki.reissued(
        "Young CA",
        not_before=now,
        not_after=now + timedelta(days=100),
    )
    issued = LocalCA(certificate=young, key=pki.key, clock=fixed(now)).sign(
        csr_for(keys["ec"]), [dns("young.example")], profile=TLS
    )
    assert issued.not_before == now


@pytest.mark.parametrize(
    ("profile", "idents", "match"),
    [
        (TLS, [], "no identifiers"),
        (LeafProfile(validity_days=0), [dns("x.example")], "validity_days"),
        (TLS, [ip("not-an-ip")], "not an IP address"),
        (LeafProfile(key_usage=("key_encipherment",)), [dns("x.example")], "no key usage"),
    ],
    ids=["no-identifiers", "zero-days", "bad-ip", "no-usage-for-ec"],
)
def test_sign_refuses_bad_requests(pki: PKI, keys, profile, idents, match) -> None:
    backend = load_backend(pki.settings())
    with pytest.raises(CAError, match=match):
        backend.sign(csr_for(keys["ec"]), idents, profile=profile)


def test_sign_refuses_after_the_issuer_expired(pki: PKI, keys) -> None:
    later = pki.cert.not_valid_after_utc + timedelta(seconds=1)
    backend = LocalCA(certificate=pki.cert, key=pki.key, clock=fixed(later))
    with pytest.raises(CAError, match="expired"):
        backend.sign(csr_for(keys["ec"]), [dns("late.example")], profile=TLS)
    with pytest.raises(CAError, match="expired"):
        backend.check()


def test_check_detects_a_key_that_does_not_match(pki: PKI) -> None:
    backend = LocalCA(certificate=pki.cert, key=new_key("ec"))
    with pytest.raises(CAError, match="cannot produce a signature"):
        backend.check()


def test_issued_certificate_fields_and_chain_order(pki: PKI, keys) -> None:
    backend = load_backend(pki.settings())
    issued = backend.sign(csr_for(keys["rsa"]), [dns("fields.example")], profile=TLS)
    leaf = leaf_of(issued)
    certs = x509.load_pem_x509_certificates(issued.pem_chain.encode())
    assert certs == [leaf, pki.cert, pki.policy]
    assert issued.pem_chain.startswith("-----BEGIN CERTIFICATE-----")
    assert issued.pem_chain.endswith(backend.chain_pem)
    assert issued.fingerprint_sha256 == hashlib.sha256(issued.der).hexdigest()
    spki = (
        keys["rsa"]
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert issued.spki_sha256 == hashlib.sha256(spki).hexdigest()
    assert issued.not_before == leaf.not_valid_before_utc
    assert issued.not_after == leaf.not_valid_after_utc
    assert issued.serial_hex == issued.serial_hex.lower() and not issued.serial_hex.startswith("0")
    # The leaf's signature verifies with the issuer's public key directly.
    public = pki.cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(
        leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(leaf.signature_hash_algorithm)
    )


def test_test_sign_helper(pki: PKI) -> None:
    issued = test_sign(load_backend(pki.settings()))
    leaf = leaf_of(issued)
    assert ext(leaf, x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == [
        "test-sign.invalid"
    ]
    leaf.verify_directly_issued_by(pki.cert)


def test_unsupported_csr_key_is_refused(pki: PKI) -> None:
    # An X25519 key cannot sign a CSR, so hand one over through a stand-in CSR.
    class FakeCSR:
        def public_key(self):
            return x25519.X25519PrivateKey.generate().public_key()

    with pytest.raises(CAError, match="unsupported certificate key type"):
        load_backend(pki.settings()).sign(FakeCSR(), [dns("k.example")], profile=TLS)  # type: ignore[arg-type]
