"""What follows the leaf in a download: intermediates only, never the trust anchor.

RFC 8555 §7.4.2 serves "the end-entity certificate followed by the certificates of the chain";
RFC 5246 §7.4.2 and RFC 8446 §4.4.2 let a server omit the self-signed root, and clients that
append their own copy of the issuer otherwise store the root twice.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from acmeeh.issuance.keyfiles import CAError, read_certificates
from acmeeh.issuance.profiles import to_pem

_END = "-----END CERTIFICATE-----"


def is_trust_anchor(certificate: x509.Certificate) -> bool:
    """True for a self-issued certificate that its own key signed (a root)."""
    if certificate.subject != certificate.issuer:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def intermediates(certificates: Iterable[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    """The given certificates, in order, without any trust anchor."""
    return tuple(c for c in certificates if not is_trust_anchor(c))


def served_chain(pem_chain: str) -> str:
    """A stored leaf-first PEM chain as it is sent: the leaf, then every non-anchor.

    Chains stored before anchors were left out still carry the root; this drops it. The part
    after the leaf is the same for every leaf of one issuer, so its parse is cached.
    """
    cut = pem_chain.find(_END)
    if cut < 0:
        return pem_chain
    cut += len(_END)
    return pem_chain[:cut] + "\n" + _served_rest(pem_chain[cut:].strip())


@lru_cache(maxsize=32)
def _served_rest(rest_pem: str) -> str:
    if not rest_pem:
        return ""
    rest = x509.load_pem_x509_certificates(rest_pem.encode("ascii"))
    return "".join(to_pem(c) for c in intermediates(rest))


def count(pem_chain: str) -> int:
    """How many certificates a PEM chain holds."""
    return pem_chain.count(_END)


def load_alternates(paths: Sequence[str], issuer: x509.Certificate) -> tuple[str, ...]:
    """ca.alternate_chains as sent after a leaf: each file's certificates, trust anchors left
    out. CAError naming the file when it cannot be read, when its first certificate does not
    carry the issuer's subject and key (a leaf would not chain to it), or when a certificate
    did not issue the one before it."""
    out: list[str] = []
    for index, path in enumerate(paths):
        setting = f"ca.alternate_chains[{index}]"
        label = f"{setting}: {path}"
        chain = read_certificates(path, setting)
        first = chain[0]
        if first.subject != issuer.subject or first.public_key() != issuer.public_key():
            raise CAError(f"{label}: its first certificate does not carry the subject and key "
                          "of ca.certificate")
        for position, (child, parent) in enumerate(zip(chain, chain[1:]), start=2):
            try:
                child.verify_directly_issued_by(parent)
            except (ValueError, TypeError, InvalidSignature):
                raise CAError(f"{label}: certificate {position} did not issue certificate "
                              f"{position - 1}") from None
        out.append("".join(to_pem(c) for c in intermediates(chain)))
    return tuple(out)


def chains_to(leaf_pem: str, chain_pem: str) -> bool:
    """True when the first certificate of `chain_pem` issued the leaf (so an alternate chain
    fits a leaf signed before the CA changed)."""
    leaf = x509.load_pem_x509_certificate(leaf_pem.encode("ascii"))
    parent = x509.load_pem_x509_certificates(chain_pem.encode("ascii"))[0]
    try:
        leaf.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def leaf_of(pem_chain: str) -> str:
    """The first certificate of a PEM chain, PEM."""
    cut = pem_chain.find(_END)
    return pem_chain[: cut + len(_END)] + "\n" if cut >= 0 else pem_chain
