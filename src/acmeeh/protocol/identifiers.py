"""ACME identifiers (RFC 8555 §7.1.4 / §9.7.7, RFC 8738): syntax and canonical form.

Only syntax lives here; which names the CA is willing to serve (suffix lists,
single-label names, forbidden names) is policy and is decided by ``authority``.
"""

from __future__ import annotations

import encodings.idna
import ipaddress
import re
import unicodedata
from dataclasses import dataclass

from acmeeh.protocol import problems
from acmeeh.protocol.problems import Problem
from acmeeh.protocol.status import IdentifierType

_LDH = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_MAX_NAME = 253
# RFC 3490 §3.1: these full stops separate labels like "." does.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
# IDNA2008 "deviation" characters (UTS #46 §4): IDNA2003 maps them away (ß → ss) but
# IDNA2008 keeps them, so the same U-label names two different hosts. Refuse them.
_DEVIATIONS = frozenset("\u00df\u03c2\u200c\u200d")


@dataclass(frozen=True, order=True)
class Identifier:
    """A normalised identifier: ``value`` is lower case A-labels (dns) or canonical IP text."""

    type: IdentifierType
    value: str

    @property
    def wildcard(self) -> bool:
        """True for a dns identifier of the form ``*.example.com``."""
        return self.type == IdentifierType.DNS and self.value.startswith("*.")

    @property
    def base(self) -> str:
        """The value without a leading ``*.`` (the name that is validated, RFC 8555 §7.1.3)."""
        return self.value[2:] if self.wildcard else self.value

    def to_json(self) -> dict[str, str]:
        """The wire form ``{"type": ..., "value": ...}``."""
        return {"type": str(self.type), "value": self.value}


def normalize(type: str, value: str) -> Identifier:
    """Check syntax and return the canonical identifier.

    Raises ``malformed`` (not a string / empty), ``unsupportedIdentifier`` (unknown type)
    or ``rejectedIdentifier`` (invalid name or address).
    """
    if not isinstance(type, str) or not isinstance(value, str):
        raise problems.malformed("identifier type and value must be strings")
    ident = {"type": str(type), "value": value}
    if type == IdentifierType.DNS:
        return Identifier(IdentifierType.DNS, _normalize_dns(value, ident))
    if type == IdentifierType.IP:
        return Identifier(IdentifierType.IP, _normalize_ip(value, ident))
    raise problems.unsupported_identifier(
        f"identifier type {type!r} is not supported", identifier=ident
    )


def _reject(detail: str, ident: dict[str, str]) -> Problem:
    return problems.rejected_identifier(detail, identifier=ident)


def _is_ip_literal(text: str) -> bool:
    """An address ("10.0.0.1", "[::1]", "fe80::1%eth0") or network ("10.0.0.0/8")."""
    try:
        if "/" in text:
            ipaddress.ip_network(text, strict=False)
        else:
            ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def _normalize_dns(raw: str, ident: dict[str, str]) -> str:
    name = raw.strip().lower().translate(_DOTS)
    if not name:
        raise problems.malformed("dns identifier value is empty", identifier=ident)
    name = name.removesuffix(".")  # one trailing dot: the root, same name (RFC 1034 §3.1)
    if not name or name.endswith(".") or name.startswith("."):
        raise _reject(f"{raw!r} has an empty label", ident)
    if _is_ip_literal(name):
        # RFC 8738 §3: IP addresses use the "ip" identifier type, never "dns".
        raise _reject(f"{raw!r} is an IP address; use an identifier of type ip", ident)
    wildcard = name.startswith("*.")
    rest = name[2:] if wildcard else name
    if "*" in rest:
        raise _reject("a wildcard is only allowed as the entire leftmost label", ident)
    labels = rest.split(".")
    if wildcard and len(labels) < 2:
        raise _reject("a wildcard must cover a name of at least two labels", ident)
    a_labels = [_to_a_label(label, raw, ident) for label in labels]
    result = ("*." if wildcard else "") + ".".join(a_labels)
    if len(result) > _MAX_NAME:
        raise _reject(f"name is longer than {_MAX_NAME} characters", ident)
    if a_labels[-1].isdigit():
        # RFC 3696 §2: a top-level label is never all-numeric; such names read as IPs.
        raise _reject(f"{raw!r} ends in an all-numeric label", ident)
    return result


def _to_a_label(label: str, raw: str, ident: dict[str, str]) -> str:
    """One label to its A-label, or a rejectedIdentifier."""
    if not label:
        raise _reject(f"{raw!r} has an empty label", ident)
    if not label.isascii():
        if _DEVIATIONS.intersection(label):
            raise _reject(f"{raw!r} holds a character IDNA2003 and IDNA2008 treat apart", ident)
        if not _u_label_chars_ok(label):
            raise _reject(f"{raw!r} holds characters not allowed in a host name", ident)
        try:
            label = encodings.idna.ToASCII(label).decode("ascii")
        except UnicodeError:
            raise _reject(f"{raw!r} is not a valid internationalized name", ident) from None
    if not _LDH.fullmatch(label) or len(label) > 63:
        raise _reject(f"label {label!r} is not letters, digits and inner hyphens", ident)
    # RFC 5891 §4.2.3.1: "??--" labels are reserved; only "xn--" (A-labels) exist.
    if label[2:4] == "--" and not (label.startswith("xn--") and _a_label_ok(label)):
        raise _reject(f"label {label!r} is not a valid A-label", ident)
    return label


def _u_label_chars_ok(label: str) -> bool:
    # Letters, marks, digits and hyphen: a close, conservative reading of IDNA2008
    # PVALID that keeps symbols and emoji (valid only in IDNA2003) out.
    return all(ch == "-" or unicodedata.category(ch)[0] in "LMN" for ch in label)


def _a_label_ok(label: str) -> bool:
    """An ``xn--`` label must decode and re-encode to itself (RFC 5891 §5.4)."""
    try:
        u_label = label[4:].encode("ascii").decode("punycode")
    except UnicodeError:
        return False
    if not u_label or u_label.isascii() or not _u_label_chars_ok(u_label):
        return False
    if _DEVIATIONS.intersection(u_label):
        return False
    try:
        return encodings.idna.ToASCII(u_label).decode("ascii") == label
    except UnicodeError:
        return False


def _normalize_ip(raw: str, ident: dict[str, str]) -> str:
    text = raw.strip()
    if not text:
        raise problems.malformed("ip identifier value is empty", identifier=ident)
    if "%" in text:
        raise _reject("IPv6 zone identifiers are not allowed", ident)
    if "/" in text:
        raise _reject("an ip identifier is one address, not a network", ident)
    if (
        "." in text
        and ":" not in text
        and any(len(part) > 1 and part.startswith("0") for part in text.split("."))
    ):
        # Leading zeros read as octal in some parsers (inet_aton); refuse the ambiguity.
        raise _reject(f"{raw!r} has leading zeros", ident)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise _reject(f"{raw!r} is not an IPv4 or IPv6 address", ident) from None
    # RFC 8738 §3 / RFC 5952 §4: IPv6 in its compressed lower-case text form.
    return address.compressed
