"""ACME identifiers (RFC 8555 §7.1.4 / §9.7.7, RFC 8738): syntax and canonical form.

Only syntax lives here; which names the CA is willing to serve (suffix lists, forbidden
names, address ranges) is policy and is decided by ``authority``. A client must send the
canonical text: every syntax or size defect is ``malformed`` (as Boulder does), and only
policy refusals are ``rejectedIdentifier``. Operators may write names more loosely
(U-labels, a trailing dot): ``from_operator`` turns their text into the canonical form.
"""

from __future__ import annotations

import contextlib
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
    """Check a client's identifier and return it in canonical form.

    Raises ``malformed`` for any syntax or size defect (RFC 8555 §7.1.4: A-labels only, no
    trailing dot; RFC 8738 §3: canonical address text) and ``unsupportedIdentifier`` for an
    unknown type. ASCII letters are folded to lower case (RFC 4343).
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


def from_operator(type: str, value: str) -> Identifier:
    """An identifier an operator typed (admin API): spaces around it, U-labels and one
    trailing dot are accepted and turned into the canonical form; the result must then pass
    :func:`normalize`. Raises ``malformed`` naming the defect."""
    text = value.strip() if isinstance(value, str) else value
    if type == IdentifierType.DNS and isinstance(text, str):
        text = a_label_name(text.removesuffix("."), {"type": "dns", "value": value})
    elif type == IdentifierType.IP and isinstance(text, str):
        with contextlib.suppress(ValueError):  # not an address: normalize() says why
            text = ipaddress.ip_address(text).compressed
    return normalize(type, text)


def a_label_name(text: str, ident: dict[str, str]) -> str:
    """Each non-ASCII label of `text` as its A-label (IDNA, RFC 5891); ``malformed`` when a
    label cannot be one."""
    labels = text.split(".")
    out = []
    for label in labels:
        if label.isascii():
            out.append(label)
            continue
        if _DEVIATIONS.intersection(label) or not _u_label_chars_ok(label):
            raise _malformed(f"{text!r} holds characters not allowed in a host name", ident)
        try:
            out.append(encodings.idna.ToASCII(label).decode("ascii"))
        except UnicodeError:
            raise _malformed(f"{text!r} is not a valid internationalized name", ident) from None
    return ".".join(out)


def _malformed(detail: str, ident: dict[str, str]) -> Problem:
    return problems.malformed(detail, identifier=ident)


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
    if not raw.strip():
        raise _malformed("dns identifier value is empty", ident)
    if not raw.isascii():
        # RFC 8555 §7.1.4: internationalized names are sent as A-labels, never U-labels.
        raise _malformed(f"{raw!r} is not ASCII; send internationalized names as A-labels", ident)
    name = raw.lower()
    if name.endswith("."):
        raise _malformed(f"{raw!r} ends with a dot; send the name without it", ident)
    if _is_ip_literal(name):
        # RFC 8738 §3: IP addresses use the "ip" identifier type, never "dns".
        raise _malformed(f"{raw!r} is an IP address; use an identifier of type ip", ident)
    if len(name) > _MAX_NAME:
        raise _malformed(f"name is longer than {_MAX_NAME} characters", ident)
    wildcard = name.startswith("*.")
    rest = name[2:] if wildcard else name
    if "*" in rest:
        raise _malformed("a wildcard is only allowed as the entire leftmost label", ident)
    labels = rest.split(".")
    if wildcard and len(labels) < 2:
        raise _malformed("a wildcard must cover a name of at least two labels", ident)
    for label in labels:
        _check_label(label, raw, ident)
    if labels[-1].isdigit():
        # RFC 3696 §2: a top-level label is never all-numeric; such names read as IPs.
        raise _malformed(f"{raw!r} ends in an all-numeric label", ident)
    return name


def _check_label(label: str, raw: str, ident: dict[str, str]) -> None:
    """One ASCII label: letters, digits and inner hyphens, at most 63 octets, a valid A-label
    when it is one; else ``malformed``."""
    if not label:
        raise _malformed(f"{raw!r} has an empty label", ident)
    if len(label) > 63:
        raise _malformed(f"label {label[:20]!r}... is longer than 63 octets", ident)
    if not _LDH.fullmatch(label):
        raise _malformed(f"label {label!r} is not letters, digits and inner hyphens", ident)
    # RFC 5891 §4.2.3.1: "??--" labels are reserved; only "xn--" (A-labels) exist.
    if label[2:4] == "--" and not (label.startswith("xn--") and _a_label_ok(label)):
        raise _malformed(f"label {label!r} is not a valid A-label", ident)


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
    if not raw.strip():
        raise _malformed("ip identifier value is empty", ident)
    if "%" in raw:
        raise _malformed("IPv6 zone identifiers are not allowed", ident)
    if "/" in raw:
        raise _malformed("an ip identifier is one address, not a network", ident)
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        raise _malformed(f"{raw!r} is not an IPv4 or IPv6 address", ident) from None
    if raw not in canonical_texts(address):
        # RFC 8738 §3: RFC 1123 §2.1 dotted quad for IPv4, RFC 5952 §4 text for IPv6.
        raise _malformed(
            f"{raw!r} is not in canonical form; send {address.compressed!r}", ident
        )
    return address.compressed


def canonical_texts(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> tuple[str, ...]:
    """The spellings RFC 8738 §3 accepts for `address`: its compressed lower-case form, and
    for an IPv6 address that embeds IPv4 the mixed notation of RFC 5952 §5 as well."""
    if isinstance(address, ipaddress.IPv4Address):
        return (str(address),)
    embedded = embedded_ipv4(address)
    if embedded is None:
        return (address.compressed,)
    head = "::ffff:" if address.ipv4_mapped else "::"
    return (address.compressed, f"{head}{embedded}")


def _ipv4_compatible(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside a deprecated IPv4-compatible address (::a.b.c.d, RFC 4291
    §2.5.5.1); None for others, including :: and ::1."""
    if int(address) >> 32 == 0 and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped or IPv4-compatible IPv6 address stands for, else None."""
    return address.ipv4_mapped or _ipv4_compatible(address)
