"""Address policy: which IP addresses validation may connect to.

An internal CA validates hosts on private networks, so RFC 1918 / ULA ranges are allowed.
Refused by default: loopback, link-local, unspecified ("this network"), multicast, the
limited broadcast address and the server's own addresses. `challenges.allowed_networks`
re-allows anything, e.g. 127.0.0.0/8 for local testing.

Own addresses are gathered from `getaddrinfo(gethostname())` only. That misses addresses of
interfaces the host name does not resolve to (reading every interface needs netlink or
/proc parsing, which we do not do); loopback is refused anyway, so the gap is an interface
address that a client also points its DNS at.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from typing import TypeVar

from acmeeh.protocol import problems

from .resolver import LookupFailed, Resolver

T = TypeVar("T")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # RFC 1122 §3.2.1.3
_BROADCAST = ipaddress.ip_address("255.255.255.255")


def own_addresses() -> frozenset[IPAddress]:
    """Addresses the local host name resolves to (see the module docstring for the limit)."""
    found: set[IPAddress] = set()
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None)
    except OSError:
        return frozenset()
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]
        try:
            found.add(ipaddress.ip_address(text))
        except ValueError:
            continue
    return frozenset(found)


class Transient(Exception):
    """A validation failure that a later attempt may get past (RFC 8555 §8.2): connection
    refused, a timeout, a DNS server failure. `problem` is what the challenge reports."""

    def __init__(self, problem: problems.Problem) -> None:
        super().__init__(problem.detail)
        self.problem = problem


def dns_failure(exc: LookupFailed) -> Exception:
    """The `dns` problem for a failed lookup, marked Transient when trying again may help."""
    problem = problems.dns(str(exc))
    return Transient(problem) if exc.transient else problem


def found_records(lookup: Callable[[], list[T]], missing: str) -> list[T]:
    """What `lookup` found: a failed lookup raises its dns_failure, finding nothing raises the
    `dns` problem `missing`."""
    try:
        found = lookup()
    except LookupFailed as exc:
        raise dns_failure(exc) from None
    if not found:
        raise problems.dns(missing)
    return found


def parse_networks(cidrs: tuple[str, ...] | list[str]) -> tuple[IPNetwork, ...]:
    """CIDR strings → networks; raises ValueError naming the bad entry."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError:
            raise ValueError(f"bad network in challenges.allowed_networks: {cidr!r}") from None
    return tuple(networks)


class AddressPolicy:
    """Decides whether an address may be the target of a validation connection."""

    def __init__(
        self,
        allowed_networks: tuple[str, ...] | list[str] = (),
        own: frozenset[IPAddress] | None = None,
    ) -> None:
        self.allowed = parse_networks(allowed_networks)
        self.own = own_addresses() if own is None else own

    def refusal(self, address: IPAddress) -> str | None:
        """None when `address` may be used, else the reason it is refused."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            # ::ffff:127.0.0.1 reaches 127.0.0.1: judge the IPv4 address.
            address = address.ipv4_mapped
        if any(address.version == net.version and address in net for net in self.allowed):
            return None
        if address.is_loopback:
            return "loopback"
        if address.is_link_local:
            return "link-local"
        if address.is_unspecified or (address.version == 4 and address in _THIS_NETWORK):
            return "unspecified"
        if address.is_multicast or address == _BROADCAST:
            return "multicast or broadcast"
        if address in self.own:
            return "an address of this server"
        return None

    def allows(self, address: IPAddress) -> bool:
        return self.refusal(address) is None


def literal_address(host: str) -> IPAddress | None:
    """The address if `host` is an IP literal (brackets allowed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve_target(
    host: str, resolver: Resolver, policy: AddressPolicy, deadline: float, record: dict
) -> list[IPAddress]:
    """Addresses of `host` that the policy allows, in the order to try them.

    Fills record["addressesResolved"]. Raises `dns` when the name has no address and
    `connection` when every address is refused, BEFORE anything is connected.
    """
    literal = literal_address(host)
    if literal is not None:
        found = [literal]
    else:
        found = found_records(lambda: resolver.addresses(host, deadline),
                              f"no A or AAAA records found for {host}")
    record["addressesResolved"] = [str(a) for a in found]
    allowed = [a for a in found if policy.allows(a)]
    if not allowed:
        first = found[0]
        raise problems.connection(
            f"address {first} of {host} is not allowed for validation ({policy.refusal(first)})"
        )
    # Try at most one IPv6 and one IPv4 address, IPv6 first (as resolvers answer).
    v6 = [a for a in allowed if a.version == 6][:1]
    v4 = [a for a in allowed if a.version == 4][:1]
    return v6 + v4


def connect(addresses: list[IPAddress], port: int, deadline: float, record: dict) -> socket.socket:
    """TCP-connect to the first address that answers; sets record["addressUsed"].

    Raises `connection` with the last error when none answers before `deadline`, Transient
    when that error was a refusal or a timeout.
    """
    detail, transient = "no address to connect to", False
    for index, address in enumerate(addresses):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            detail, transient = f"timeout connecting to {_hostport(address, port)}", True
            break
        if index < len(addresses) - 1:
            remaining /= 2  # a black-holed first address must leave time for the next
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(remaining)
        try:
            sock.connect((str(address), port))
        except OSError as exc:
            sock.close()
            detail = f"{describe_os_error(exc)} connecting to {_hostport(address, port)}"
            transient = is_transient(exc)
            continue
        record["addressUsed"] = str(address)
        return sock
    problem = problems.connection(detail)
    raise Transient(problem) if transient else problem


def is_transient(exc: OSError) -> bool:
    """Connection refused or a timeout: the service may simply not be up yet."""
    return isinstance(exc, (ConnectionRefusedError, TimeoutError))


def describe_os_error(exc: OSError) -> str:
    """A short phrase for a socket error, without traceback or errno noise."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    return (exc.strerror or str(exc) or type(exc).__name__).splitlines()[0][:120]


def _hostport(address: IPAddress, port: int) -> str:
    return f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
