"""dns-01 (RFC 8555 §8.4): find the key authorization digest in a TXT record."""

from __future__ import annotations

import base64
import hashlib
import time

from acmeeh.config.settings import Dns01Settings
from acmeeh.protocol import problems

from .attempt import ValidationAttempt
from .network import found_records

PREFIX = "_acme-challenge."


def txt_value(key_authorization: str) -> str:
    """RFC 8555 §8.4: base64url(SHA-256(key authorization)), no padding."""
    digest = hashlib.sha256(key_authorization.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def validate(attempt: ValidationAttempt, settings: Dns01Settings) -> None:
    """Pass silently when a TXT record matches; raise Problem otherwise."""
    identifier, resolver = attempt.identifier, attempt.resolver
    if identifier.type != "dns":
        # RFC 8738 §7: dns-01 MUST NOT be used for IP identifiers.
        raise problems.malformed("dns-01 cannot validate an IP address identifier")
    # RFC 8555 §8.4: for a wildcard "*.example.org" the record lives at the base name.
    name = PREFIX + identifier.base
    attempt.records.append({"hostname": identifier.base, "name": name})
    deadline = time.monotonic() + float(settings.timeout_seconds)
    values = found_records(lambda: resolver.txt(name, deadline), f"no TXT record found at {name}")
    expected = txt_value(attempt.key_authorization)
    if expected in values:
        return
    shown = ", ".join(repr(v[:64]) for v in values[:3])
    more = f" and {len(values) - 3} more" if len(values) > 3 else ""
    raise problems.incorrect_response(
        f"no TXT record at {name} matches the key authorization; found {shown}{more}"
    )
