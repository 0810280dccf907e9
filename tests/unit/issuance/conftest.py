"""Fixtures for the issuance tests: a three-level test PKI written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from .pki import PKI, build_pki, new_key


@pytest.fixture(scope="session")
def keys():
    """Issuer and leaf keys, generated once per session (RSA generation is slow)."""
    return {kind: new_key(kind) for kind in ("rsa", "ec", "ec384", "ed25519")}


@pytest.fixture
def pki(tmp_path: Path, keys: dict) -> PKI:
    """An EC P-256 issuing CA under a policy CA under a P-384 root."""
    return build_pki(tmp_path / "pki", "ec", keys)


@pytest.fixture
def pki_factory(tmp_path: Path, keys: dict):
    """build(issuer_kind) -> PKI whose issuing CA has a key of that kind."""
    return lambda kind: build_pki(tmp_path / f"pki-{kind}", kind, keys)
