"""LeafProfile: what a certificate profile puts in the leaf, extension by extension."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from acmeeh.issuance.backend import CAError, LeafProfile
from acmeeh.issuance.registry import load_backend
from acmeeh.protocol.identifiers import Identifier
from acmeeh.protocol.status import IdentifierType

from .pki import PKI

NAMES = [Identifier(IdentifierType.DNS, "shape.example"), Identifier(IdentifierType.IP, "192.0.2.7")]


def _leaf(pki: PKI, key, profile: LeafProfile) -> x509.Certificate:
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(
        key, hashes.SHA256())
    issued = load_backend(pki.settings()).sign(csr, NAMES, profile=profile)
    return x509.load_der_x509_certificate(issued.der)


def _usage(cert: x509.Certificate) -> set[str]:
    value = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement")
    return {n for n in names if getattr(value, n)}


@pytest.mark.parametrize(
    ("profile", "key_kind", "usage", "eku"),
    [
        (LeafProfile(), "rsa", {"digital_signature", "key_encipherment"},
         [ExtendedKeyUsageOID.SERVER_AUTH]),
        # keyEncipherment is RSA key transport: an EC key does not get it (RFC 8813 §3).
        (LeafProfile(), "ec", {"digital_signature"}, [ExtendedKeyUsageOID.SERVER_AUTH]),
        (LeafProfile(key_usage=("digital_signature",), extended_key_usage=("client_auth",)),
         "rsa", {"digital_signature"}, [ExtendedKeyUsageOID.CLIENT_AUTH]),
        (LeafProfile(key_usage=("digital_signature", "key_agreement"),
                     extended_key_usage=("server_auth", "client_auth", "email_protection")),
         "ec", {"digital_signature", "key_agreement"},
         [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH,
          ExtendedKeyUsageOID.EMAIL_PROTECTION]),
    ],
    ids=["server-rsa", "server-ec", "client-rsa", "mixed-ec"],
)
def test_usages_follow_the_profile(pki: PKI, keys, profile, key_kind, usage, eku) -> None:
    leaf = _leaf(pki, keys[key_kind], profile)
    assert _usage(leaf) == usage
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).critical
    assert list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == eku


@pytest.mark.parametrize("common_name", [True, False])
def test_common_name_is_a_choice(pki: PKI, keys, common_name: bool) -> None:
    leaf = _leaf(pki, keys["ec"], LeafProfile(common_name=common_name))
    cns = [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    assert cns == (["shape.example"] if common_name else [])
    # RFC 5280 §4.2.1.6: with an empty subject the subjectAltName is critical.
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical is not common_name


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"key_usage": ("key_cert_sign",)}, "unknown key usage key_cert_sign"),
        ({"extended_key_usage": ("any",)}, "unknown key usage any"),
        ({"extended_key_usage": ()}, "no extended key usage"),
    ],
    ids=["ca-usage", "unknown-eku", "no-eku"],
)
def test_a_profile_that_cannot_be_built_is_refused(changes, match) -> None:
    with pytest.raises(CAError, match=match):
        LeafProfile(name="odd", **changes)
