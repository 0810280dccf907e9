"""ACMEEH's own account at the upstream ACME CA: its key file and its registration.

The key is an EC P-256 key (ES256) in a PEM file of mode 0600 or stricter; when the configured
file does not exist it is generated there, created exclusively (two processes starting at once
end up with the one key that was linked first). The registration is a newAccount with the key
(RFC 8555 §7.3), bound to an external account when the upstream requires one (§7.3.4); for a
key the upstream knows already, newAccount answers with the existing account (§7.3.1).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

import josepy as jose
from acme import client, errors, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from acmeeh.config.settings import AcmeUpstreamSettings
from acmeeh.issuance.keyfiles import CAError, read_private_key


def account_key(path: Path) -> jose.JWKEC:
    """The account key at `path`, generated there (mode 0600) when the file does not exist."""
    if not path.exists():
        _create(path)
    key = read_private_key(path, "ca.acme_upstream.account_key")
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise CAError(f"ca.acme_upstream.account_key: {path} must hold an EC P-256 key (ES256)")
    return jose.JWKEC(key=key)


def _create(path: Path) -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            os.write(fd, pem)  # a PEM key is far below one write's limit
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(FileExistsError):  # another process was first: its key wins
            os.link(tmp, path)
    except OSError as exc:
        raise CAError(f"ca.acme_upstream.account_key: cannot create {path}: "
                      f"{exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def register(acme: client.ClientV2, cfg: AcmeUpstreamSettings,
             key: jose.JWKEC) -> messages.RegistrationResource:
    """The upstream account of `key`: created (with EAB when configured), or the existing one."""
    binding = None
    if cfg.eab_kid and cfg.eab_hmac_key:
        binding = messages.ExternalAccountBinding.from_data(
            account_public_key=key.public_key(), kid=cfg.eab_kid, hmac_key=cfg.eab_hmac_key,
            directory=acme.directory)
    elif acme.external_account_required():
        raise CAError("ca.acme_upstream: the upstream CA requires external account binding; "
                      "set eab_kid and eab_hmac_key")
    new = messages.NewRegistration.from_data(
        email=",".join(cfg.contact) or None, terms_of_service_agreed=True,
        external_account_binding=binding)
    try:
        return acme.new_account(new)
    except errors.ConflictError as exc:  # §7.3.1: the key has an account already
        return messages.RegistrationResource(uri=exc.location, body=messages.Registration())
