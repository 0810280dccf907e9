"""What follows the leaf: intermediates in order, never a trust anchor (RFC 8555 §7.4.2)."""

from __future__ import annotations

import pytest
from cryptography import x509

from acmeeh.issuance.backend import test_sign
from acmeeh.issuance.registry import load_backend
from acmeeh.issuance.chains import count, intermediates, is_trust_anchor, served_chain

from .pki import PKI, cert_pem, key_pem, make_cert, new_key, write


def certs(pem: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem.encode())


def test_a_root_is_an_anchor_and_nothing_else_is(pki: PKI) -> None:
    assert is_trust_anchor(pki.root)
    assert not is_trust_anchor(pki.policy) and not is_trust_anchor(pki.cert)


def test_self_issued_but_not_self_signed_is_no_anchor(pki: PKI) -> None:
    """RFC 5280 §6.1: a key-rollover certificate (subject == issuer, another key) links a
    chain; only a certificate its own key signed ends one."""
    rollover = make_cert(new_key("ec"), "Test Root", issuer_cert=pki.root, issuer_key=pki.root_key)
    assert rollover.subject == rollover.issuer and not is_trust_anchor(rollover)
    assert intermediates([pki.policy, rollover, pki.root]) == (pki.policy, rollover)


@pytest.mark.parametrize("with_root", [False, True])
def test_the_backend_never_sends_the_root(pki: PKI, with_root: bool) -> None:
    chain = pki.chain_path
    if with_root:  # an operator's ca.chain that ends with the root, as many bundles do
        chain = write(pki.dir / "chain-root.pem", cert_pem(pki.policy, pki.root))
    issued = test_sign(load_backend(pki.settings(chain=str(chain))))
    leaf = x509.load_der_x509_certificate(issued.der)
    assert certs(issued.pem_chain) == [leaf, pki.cert, pki.policy]


def test_a_root_that_signs_leaves_sends_the_leaf_alone(pki: PKI) -> None:
    root_key = pki.root_key
    root_path = write(pki.dir / "root.pem", cert_pem(pki.root))
    key_path = write(pki.dir / "root-key.pem", key_pem(root_key), 0o600)
    issued = test_sign(load_backend(pki.settings(certificate=str(root_path), key=str(key_path),
                                                 chain=None)))
    assert count(issued.pem_chain) == 1


def test_a_stored_chain_that_still_holds_the_root_is_served_without_it(pki: PKI) -> None:
    issued = test_sign(load_backend(pki.settings()))
    legacy = issued.pem_chain + cert_pem(pki.root).decode()  # as rows stored before
    served = served_chain(legacy)
    assert certs(served) == certs(issued.pem_chain)
    assert served == issued.pem_chain
    assert served_chain(served) == served  # idempotent
    leaf_only = issued.pem_chain[: issued.pem_chain.index("-----END CERTIFICATE-----") + 26]
    assert served_chain(leaf_only + cert_pem(pki.root).decode()) == leaf_only
    assert count(leaf_only) == 1 and count(served) == 3
