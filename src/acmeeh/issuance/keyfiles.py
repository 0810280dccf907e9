"""Read the CA's PEM files: certificates, and the private key with its permission check; write
the files a CA generates for itself, never exposed while half written.

Every failure is a `CAError` whose message names the setting and the file, never the key material.
`CAError` lives here, the lowest module of the room, so every other module can raise it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

# A CA file is a few kilobytes; refuse to slurp something huge by mistake.
MAX_FILE_BYTES = 1 << 20

IssuerKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
_ISSUER_KEY_TYPES = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)


class CAError(Exception):
    """The CA is misconfigured or cannot sign. The message is safe to show an operator."""


class CAUnavailable(CAError):
    """The CA cannot be reached now (an upstream ACME CA's outage): a later attempt may pass."""


def _read(path: Path, setting: str, *, private: bool = False) -> bytes:
    """Read a small regular file; for keys, refuse any group/other permission bit."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise CAError(f"{setting}: {path} does not exist") from None
    except PermissionError:
        raise CAError(f"{setting}: {path} is not readable (permission denied)") from None
    except OSError as exc:
        raise CAError(f"{setting}: {path} cannot be opened: {exc.strerror}") from None
    try:
        # fstat on the open descriptor: the mode we check is the file we read.
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CAError(f"{setting}: {path} is not a regular file")
        mode = stat.S_IMODE(st.st_mode)
        if private and mode & 0o077:
            raise CAError(f"{setting}: {path} has mode {mode:04o}; must be 0600 or stricter")
        if st.st_size > MAX_FILE_BYTES:
            raise CAError(f"{setting}: {path} is larger than {MAX_FILE_BYTES} bytes")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CAError(f"{setting}: {path} cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise CAError(f"{setting}: {path} is larger than {MAX_FILE_BYTES} bytes")
    return data


def read_certificates(path: str | Path, setting: str) -> list[x509.Certificate]:
    """Every certificate of a PEM file, in file order; CAError when there is none."""
    path = Path(path)
    data = _read(path, setting)
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise CAError(f"{setting}: {path} holds no valid PEM certificate") from None
    if not certs:
        raise CAError(f"{setting}: {path} holds no valid PEM certificate")
    return certs


def read_certificate(path: str | Path, setting: str) -> x509.Certificate:
    """The single certificate of a PEM file; more than one is refused (use ca.chain)."""
    certs = read_certificates(path, setting)
    if len(certs) != 1:
        raise CAError(
            f"{setting}: {path} holds {len(certs)} certificates; "
            "keep only the signing certificate and put the others in ca.chain"
        )
    return certs[0]


def read_private_key(path: str | Path, setting: str, password: str | None = None) -> IssuerKey:
    """Load a PEM private key (RSA, EC or Ed25519) from a file of mode 0600 or stricter.

    Raises CAError for a loose mode, a missing or wrong password, an unreadable or
    unsupported key. Messages never carry key bytes or the password.
    """
    path = Path(path)
    data = _read(path, setting, private=True)
    secret = password.encode("utf-8") if password is not None else None
    try:
        key = serialization.load_pem_private_key(data, password=secret)
    except TypeError:
        # cryptography raises TypeError for a password mismatch of kind, not of value.
        if secret is None:
            raise CAError(f"{setting}: {path} is encrypted; set ca.key_password") from None
        raise CAError(f"{setting}: {path} is not encrypted but ca.key_password is set") from None
    except ValueError:
        if secret is not None and b"ENCRYPTED" in data:
            raise CAError(f"{setting}: {path} cannot be decrypted with ca.key_password") from None
        raise CAError(f"{setting}: {path} is not a readable PEM private key") from None
    except Exception:  # noqa: BLE001 - backend errors must not leak key bytes either
        raise CAError(f"{setting}: {path} is not a readable PEM private key") from None
    if not isinstance(key, _ISSUER_KEY_TYPES):
        raise CAError(f"{setting}: {path} holds an unsupported key type (use RSA, EC or Ed25519)")
    return key


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write via a fresh temporary file created with `mode`, then rename into place.

    The file is created with its final mode (O_EXCL, never world-readable even briefly), so a
    private key is never exposed, and a crash never leaves a half-written file under `path`.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        os.fchmod(fd, mode)  # the umask may have removed bits; set exactly what we mean
        view = memoryview(data)
        while view:  # bounded: every write moves at least one byte
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
