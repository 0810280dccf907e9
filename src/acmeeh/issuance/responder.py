"""Who signs revocation status: the CA key itself, or a delegated OCSP responder (RFC 6960 §4.2.2.2).

The CA backend gives the issuer's Signer (CABackend.status_signer), for CRLs and `ocsp.signer:
ca`. `DelegatedResponder` keeps a short-lived OCSP signing certificate, issued by the CA, and issues
a new one when it is missing, foreign or near its end. Without a directory the responder key lives
only in this process's memory (nothing is written, so the CA key may sit on a read-only mount);
with one, the key (mode 0600) and certificate are kept there, and processes sharing the directory
serialise on a lock file, so one of them issues, the others load.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from acmeeh.issuance.keyfiles import CAError, read_certificate, read_private_key, write_atomic
from acmeeh.issuance.local import signature_hash, utc_now
from acmeeh.issuance.profiles import authority_key_identifier
from acmeeh.issuance.signer import Signer

KEY_NAME = "ocsp-responder-key.pem"
CERT_NAME = "ocsp-responder.pem"
LOCK_NAME = ".lock"
# notBefore a little in the past so relying parties with a slow clock accept the certificate.
BACKDATE = timedelta(minutes=5)


def build_responder_certificate(
    issuer: Signer, public_key: ec.EllipticCurvePublicKey, *, not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    """An OCSP signing certificate issued directly by the CA (RFC 6960 §4.2.2.2)."""
    label = issuer.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    base = str(label[0].value) if label else "ACMEEH CA"
    name = f"{base} OCSP Responder"[:56] + f" {secrets.token_hex(3)}"
    builder = (
        x509.CertificateBuilder()
        .serial_number(x509.random_serial_number())
        .issuer_name(issuer.certificate.subject)
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .public_key(public_key)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        # RFC 6960 §4.2.2.2: id-kp-OCSPSigning marks the delegation.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        # RFC 6960 §4.2.2.2.1: id-pkix-ocsp-nocheck, a relying party need not check this cert.
        .add_extension(x509.OCSPNoCheck(), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(authority_key_identifier(issuer.certificate), critical=False)
    )
    return builder.sign(issuer.key, issuer.hash)  # type: ignore[arg-type]


class DelegatedResponder:
    """The current delegated OCSP signer, issued again `renew_before` ahead of its expiry.

    Thread-safe. `current()` costs a clock read unless a rotation is due.
    """

    def __init__(
        self, issuer: Signer, directory: Path | None, *, validity: timedelta,
        renew_before: timedelta, clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if renew_before >= validity:
            raise CAError("ocsp.responder_renew_before_seconds must be below ocsp.responder_validity_seconds")
        self._issuer = issuer
        self._directory = Path(directory) if directory is not None else None
        self._validity = validity
        self._renew_before = renew_before
        self._clock = clock
        self._lock = threading.Lock()
        self._signer: Signer | None = None
        self._renew_at: datetime | None = None

    def current(self) -> Signer:
        """The signer to use now; loads or issues a certificate when none is fresh."""
        with self._lock:
            now = self._clock()
            if self._signer is None or self._renew_at is None or now >= self._renew_at:
                self._signer = self._load_or_issue(now)
                self._renew_at = self._signer.certificate.not_valid_after_utc - self._renew_before
            return self._signer

    def _load_or_issue(self, now: datetime) -> Signer:
        if self._directory is None:
            return self._issue(now)
        try:
            return self._load_or_issue_locked(self._directory, now)
        except OSError as exc:  # e.g. a read-only directory
            raise CAError(f"ocsp.responder_dir: {self._directory}: {exc.strerror or exc}") from None

    def _load_or_issue_locked(self, directory: Path, now: datetime) -> Signer:
        _private_dir(directory)
        with _locked(directory / LOCK_NAME):
            found = self._load(directory, now)
            if found is not None:
                return found
            signer = self._issue(now)
            pem = signer.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            # Key first, certificate last: a certificate on disk always has its key beside it.
            write_atomic(directory / KEY_NAME, pem, 0o600)
            write_atomic(directory / CERT_NAME, signer.certificate.public_bytes(serialization.Encoding.PEM), 0o644)
            return signer

    def _issue(self, now: datetime) -> Signer:
        """A fresh responder key and a certificate for it, signed by the CA (nothing written)."""
        key = ec.generate_private_key(ec.SECP256R1())
        start = max(now.replace(microsecond=0) - BACKDATE, self._issuer.certificate.not_valid_before_utc)
        end = min(start + self._validity, self._issuer.certificate.not_valid_after_utc)
        if end - now <= self._renew_before:
            raise CAError("the CA certificate expires too soon to issue an OCSP responder certificate")
        cert = build_responder_certificate(self._issuer, key.public_key(), not_before=start, not_after=end)
        return Signer(cert, key, hashes.SHA256(), delegated=True)

    def _load(self, directory: Path, now: datetime) -> Signer | None:
        """The stored responder when it belongs to this CA, matches its key and is fresh."""
        cert_path, key_path = directory / CERT_NAME, directory / KEY_NAME
        if not cert_path.exists() or not key_path.exists():
            return None
        try:
            cert = read_certificate(cert_path, "ocsp.responder_dir")
            key = read_private_key(key_path, "ocsp.responder_dir")
            cert.verify_directly_issued_by(self._issuer.certificate)
        except (CAError, ValueError, TypeError, InvalidSignature):
            return None
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        if key.public_key().public_bytes(serialization.Encoding.DER, spki) != cert.public_key(
        ).public_bytes(serialization.Encoding.DER, spki):
            return None
        if now >= cert.not_valid_after_utc - self._renew_before or now < cert.not_valid_before_utc:
            return None
        return Signer(cert, key, signature_hash(key, "sha256"), delegated=True)


def _private_dir(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive flock on `path`, across processes (released when the file closes)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
