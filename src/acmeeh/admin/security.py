"""Password hashing (scrypt, RFC 7914) and opaque bearer tokens for admin users. Pure."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# RFC 7914 §2 parameters: n = 2**14, r = 8, p = 1 (16 MiB of memory per hash).
_N, _R, _P = 2**14, 8, 1
_DKLEN = 32
_SALT_BYTES = 16
_MAXMEM = 64 * 1024 * 1024
TOKEN_BYTES = 32
_PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_DKLEN,
                          maxmem=_MAXMEM)


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$hash` with a fresh random salt."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, _N, _R, _P)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches; constant-time comparison, False for any malformed hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(actual, expected)


def dummy_hash() -> str:
    """A hash to verify against for unknown users, so timing does not reveal who exists."""
    return hash_password(secrets.token_urlsafe(16))


def generate_password() -> str:
    """20 characters from an unambiguous alphabet (~113 bits)."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(20))


def new_token() -> str:
    """An opaque bearer token: 32 random bytes, base64url."""
    return _b64(secrets.token_bytes(TOKEN_BYTES))


def token_hash(secret: str, token: str) -> str:
    """What the database stores: HMAC-SHA256 under admin_api.token_secret of the token's
    SHA-256, so a leaked table yields no usable token and rows cannot be forged without
    the secret."""
    inner = hashlib.sha256(token.encode("utf-8")).digest()
    return hmac.new(secret.encode("utf-8"), inner, hashlib.sha256).hexdigest()
