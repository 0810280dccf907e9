"""DNS lookups for validation: addresses, TXT and CAA, with a bounded lifetime.

Every lookup answers a list (empty for NXDOMAIN or no data) or raises `LookupFailed`
for trouble that says nothing about the records (timeout, SERVFAIL, refused).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import time
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# RFC 6761 §6.3: "localhost." and names under it are loopback; never ask DNS about them.
_LOCALHOST = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


class LookupFailed(Exception):
    """A DNS query could not be answered (as opposed to answering "no records").

    `transient`: a timeout or a server failure (SERVFAIL, no server answering), which a later
    attempt may get past; anything else (a name too long, a malformed answer) is final.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class CAARecord:
    """One CAA resource record (RFC 8659 §4.1)."""

    flags: int
    tag: str
    value: str

    @property
    def critical(self) -> bool:
        # RFC 8659 §4.1: bit 0 (value 128) is the Issuer Critical Flag.
        return bool(self.flags & 0x80)


def parse_nameserver(spec: str) -> tuple[str, int]:
    """Split "host", "host:port", "[v6]:port" or a bare IPv6 address into (ip, port).

    Host names are resolved once via the system (config may only name IPs in spirit,
    but a name is tolerated); raises ValueError when the entry is unusable.
    """
    spec = spec.strip()
    host, port = spec, 53
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0:
            raise ValueError(f"bad resolver {spec!r}: missing ']'")
        host, rest = spec[1:end], spec[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"bad resolver {spec!r}")
            port = _port(spec, rest[1:])
    elif spec.count(":") == 1:
        host, port_text = spec.split(":")
        port = _port(spec, port_text)
    if not host:
        raise ValueError(f"bad resolver {spec!r}: empty host")
    with contextlib.suppress(ValueError):  # not an address literal: resolved below
        return str(ipaddress.ip_address(host)), port
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_UDP)
    except OSError as exc:
        raise ValueError(f"bad resolver {spec!r}: cannot resolve {host}: {exc}") from None
    return str(infos[0][4][0]), port


def _port(spec: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"bad resolver {spec!r}: bad port")
    return int(text)


def is_localhost(name: str) -> bool:
    """True for "localhost" and names under ".localhost" (RFC 6761 §6.3)."""
    name = name.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


class Resolver:
    """dnspython stub resolver bounded by `timeout` seconds per lookup."""

    def __init__(self, nameservers: tuple[str, ...] = (), timeout: float = 10.0) -> None:
        self.timeout = float(timeout)
        if nameservers:
            self._dns = dns.resolver.Resolver(configure=False)
            self._dns.nameservers = [
                dns.nameserver.Do53Nameserver(ip, port)
                for ip, port in (parse_nameserver(s) for s in nameservers)
            ]
        else:
            try:
                self._dns = dns.resolver.Resolver(configure=True)
            except dns.exception.DNSException:
                # No usable /etc/resolv.conf: every lookup will fail as a `dns` problem.
                self._dns = dns.resolver.Resolver(configure=False)
        # Validation names are absolute: no search list, no ndots games.
        self._dns.search = []
        self._dns.use_search_by_default = False
        self._dns.lifetime = self.timeout
        self._dns.timeout = min(self.timeout, 2.0)

    def addresses(self, name: str, deadline: float | None = None) -> list[IPAddress]:
        """A and AAAA addresses of `name` (IPv6 first); [] if the name has none."""
        if is_localhost(name):
            return [_LOCALHOST[1], _LOCALHOST[0]]
        if deadline is None:
            deadline = time.monotonic() + self.timeout
        found: list[IPAddress] = []
        failures: list[LookupFailed] = []
        # A silent AAAA lookup may use half the time at most, so A still gets its turn.
        halfway = time.monotonic() + (deadline - time.monotonic()) / 2
        for rdtype, until in (("AAAA", halfway), ("A", deadline)):
            try:
                found += [ipaddress.ip_address(r.address) for r in self._query(name, rdtype, until)]
            except LookupFailed as exc:
                failures.append(exc)
        if not found and failures:
            raise failures[0]
        return found

    def txt(self, name: str, deadline: float | None = None) -> list[str]:
        """TXT values at `name`, each record's strings joined; CNAMEs followed."""
        if is_localhost(name):
            return []
        return [
            b"".join(r.strings).decode("utf-8", "replace")
            for r in self._query(name, "TXT", deadline)
        ]

    def caa(self, name: str, deadline: float | None = None) -> list[CAARecord]:
        """CAA records at `name` (RFC 8659 §3 CAA(X), CNAME followed by the resolver)."""
        if is_localhost(name):
            return []
        return [
            CAARecord(
                int(r.flags),
                r.tag.decode("ascii", "replace"),
                r.value.decode("utf-8", "replace"),
            )
            for r in self._query(name, "CAA", deadline)
        ]

    def _query(self, name: str, rdtype: str, deadline: float | None) -> list:
        lifetime = self.timeout
        if deadline is not None:
            lifetime = min(lifetime, deadline - time.monotonic())
        if lifetime <= 0:
            raise LookupFailed(f"DNS timeout looking up {rdtype} for {name}", transient=True)
        try:
            qname = dns.name.from_text(name)
            answer = self._dns.resolve(qname, rdtype, lifetime=lifetime, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.resolver.LifetimeTimeout:
            raise LookupFailed(f"DNS timeout looking up {rdtype} for {name}", transient=True) from None
        except dns.resolver.NoNameservers:  # every server answered SERVFAIL (or refused)
            raise LookupFailed(f"DNS server failure looking up {rdtype} for {name}",
                               transient=True) from None
        except dns.name.NameTooLong:
            raise LookupFailed(f"name too long: {name[:80]}") from None
        except dns.exception.DNSException as exc:
            raise LookupFailed(f"DNS error looking up {rdtype} for {name}: {_short(exc)}") from None
        return list(answer)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
