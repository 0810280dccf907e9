"""What follows the leaf in a download: intermediates only, never the trust anchor.

RFC 8555 §7.4.2 serves "the end-entity certificate followed by the certificates of the chain";
RFC 5246 §7.4.2 and RFC 8446 §4.4.2 let a server omit the self-signed root, and clients that
append their own copy of the issuer otherwise store the root twice.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature

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
