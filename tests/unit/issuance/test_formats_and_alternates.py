"""issuance.formats (the download formats) and issuance.chains.load_alternates (the alternate
chains of ca.alternate_chains, checked at start-up with errors that name the file)."""
from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
from support.crosssign import cross_sign

from acmeeh.issuance import DevCA, generate_dev_ca
from acmeeh.issuance.backend import CAError, test_sign
from acmeeh.issuance.registry import load_backend
from acmeeh.issuance.chains import chains_to, leaf_of, load_alternates
from acmeeh.issuance.formats import CONTENT_TYPES, MEDIA_TYPES, encode

from .pki import CASettings


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> tuple[DevCA, str]:
    """A development CA and one leaf chain it signed (leaf, issuing CA)."""
    ca = generate_dev_ca(tmp_path_factory.mktemp("ca"))
    return ca, test_sign(load_backend(CASettings(**ca.ca_settings()))).pem_chain


def test_each_format(dev) -> None:
    _, pem = dev
    certs = x509.load_pem_x509_certificates(pem.encode())
    assert MEDIA_TYPES[0] == "application/pem-certificate-chain"
    assert encode(pem, MEDIA_TYPES[0]) == pem.encode()
    assert x509.load_der_x509_certificate(encode(pem, "application/pkix-cert")) == certs[0]
    # PKCS#7 holds its certificates as a DER SET OF: all of them, in no promised order.
    assert set(pkcs7.load_der_pkcs7_certificates(encode(pem, "application/pkcs7-mime"))) == set(certs)
    assert CONTENT_TYPES["application/pkcs7-mime"].endswith("smime-type=certs-only")
    with pytest.raises(ValueError, match="unsupported media type"):
        encode(pem, "text/html")


def test_an_alternate_drops_its_root_and_fits_the_leaf(dev, tmp_path: Path) -> None:
    ca, pem = dev
    crossed = cross_sign(ca, tmp_path)
    issuer = x509.load_pem_x509_certificate(ca.certificate.read_bytes())
    (alternate,) = load_alternates([str(crossed.chain)], issuer)
    assert x509.load_pem_x509_certificates(alternate.encode()) == [crossed.cross]
    assert chains_to(leaf_of(pem), alternate)
    other = cross_sign(generate_dev_ca(tmp_path / "other"), tmp_path / "other-cross")
    other_issuer = x509.load_pem_x509_certificate((tmp_path / "other" / ca.certificate.name)
                                                  .read_bytes())
    (unrelated,) = load_alternates([str(other.chain)], other_issuer)
    assert not chains_to(leaf_of(pem), unrelated)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda ca, c, d: [c.cross.public_bytes(Encoding.PEM)[:-40]], "holds no valid PEM"),
        (lambda ca, c, d: [ca.root.read_bytes()], "does not carry the subject and key"),
        (lambda ca, c, d: [c.cross.public_bytes(Encoding.PEM), ca.root.read_bytes()],
         "certificate 2 did not issue certificate 1"),
        (lambda ca, c, d: None, "does not exist"),
    ],
    ids=["not-pem", "wrong-first", "broken-link", "missing"],
)
def test_bad_alternate_chains_name_the_file(dev, tmp_path: Path, build, message: str) -> None:
    ca, _ = dev
    crossed = cross_sign(ca, tmp_path / "cross")
    path = tmp_path / "alt.pem"
    parts = build(ca, crossed, tmp_path)
    if parts is not None:
        path.write_bytes(b"".join(parts))
    issuer = x509.load_pem_x509_certificate(ca.certificate.read_bytes())
    with pytest.raises(CAError, match=message) as info:
        load_alternates([str(crossed.chain), str(path)], issuer)
    assert str(info.value).startswith("ca.alternate_chains[1]")
    assert str(path) in str(info.value)
