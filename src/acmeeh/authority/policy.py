"""Identifier policy: which names and addresses this CA will certify, and how they are proven.

One rule for identifier errors (RFC 8555 §6.7.1, as Boulder does): a syntax or size defect is
`malformed`, a refusal by policy is `rejectedIdentifier`, and every refused identifier of a
request is a subproblem that names it. newOrder, newAuthz and finalize (against the
configuration in force) all ask `screen`/`check_identifiers` here.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..config.settings import IdentifiersSettings
from ..protocol import problems
from ..protocol.identifiers import Identifier, embedded_ipv4, normalize
from ..protocol.problems import Problem
from ..protocol.status import ChallengeType, IdentifierType


def _under(name: str, suffix: str) -> bool:
    return name == suffix or name.endswith("." + suffix)


def _special_range(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is never a host this CA certifies by default, or None."""
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv6Address) and embedded_ipv4(address) is not None:
        # The same host as an IPv4 address, spelled to slip past IPv4 rules.
        return "an IPv4-mapped or IPv4-compatible IPv6 address"
    return None


def _ip_problem(ident: Identifier, identifiers_policy: IdentifiersSettings) -> str | None:
    if not identifiers_policy.ip_addresses:
        return f"ip identifiers are not accepted: {ident.value}"
    address = ipaddress.ip_address(ident.value)
    nets = identifiers_policy.allowed_networks
    if any(address in ipaddress.ip_network(n, strict=False) for n in nets):
        return None  # an operator's explicit network wins over the default refusals
    special = _special_range(address)
    if special is not None:
        return f"{ident.value} is {special}"
    if nets:
        return f"{ident.value} is outside the allowed networks"
    return None


def _dns_problem(ident: Identifier, identifiers_policy: IdentifiersSettings) -> str | None:
    name = ident.base
    if ident.wildcard and not identifiers_policy.wildcards:
        return f"wildcard names are not accepted: {ident.value}"
    # Entries were normalised at load (config.names): A-labels, lower case, no dot at the end.
    for forbidden in identifiers_policy.forbidden_names:
        if _under(name, forbidden):
            return f"{ident.value} is forbidden by policy"
    suffixes = identifiers_policy.allowed_suffixes
    if suffixes and not any(_under(name, s) for s in suffixes):
        return f"{ident.value} is not under an allowed suffix ({', '.join(suffixes)})"
    return None


def identifier_problem(ident: Identifier, identifiers_policy: IdentifiersSettings) -> Problem | None:
    """rejectedIdentifier naming `ident` when policy refuses it, else None."""
    if ident.type == IdentifierType.IP:
        why = _ip_problem(ident, identifiers_policy)
    else:
        why = _dns_problem(ident, identifiers_policy)
    return None if why is None else problems.rejected_identifier(why, identifier=ident.to_json())


def screen(raw: Sequence[Mapping[str, Any]], identifiers_policy: IdentifiersSettings) -> list[Identifier]:
    """Normalise a request's identifiers and apply policy: the canonical identifiers, sorted
    and without duplicates. Every refused one is a subproblem of the problem raised."""
    if not raw:
        raise problems.malformed("an order needs at least one identifier")
    if len(raw) > identifiers_policy.max_per_order:
        raise problems.malformed(
            f"an order may name at most {identifiers_policy.max_per_order} identifiers"
        )
    found: dict[Identifier, None] = {}
    refused: list[Problem] = []
    for item in raw:
        try:
            ident = normalize(item["type"], item["value"])
        except Problem as problem:
            refused.append(_naming(problem, item))
            continue
        prob = identifier_problem(ident, identifiers_policy)
        if prob is not None:
            refused.append(_naming(prob, item, as_sent=True))
        found[ident] = None
    raise_refusals(refused)
    return sorted(found)


def check_identifiers(identifiers: Iterable[Identifier], identifiers_policy: IdentifiersSettings) -> None:
    """Apply policy to identifiers already in canonical form (finalize re-checks stored orders
    against the configuration in force)."""
    refused = [p for i in identifiers if (p := identifier_problem(i, identifiers_policy))]
    raise_refusals(refused)


def raise_refusals(refused: Sequence[Problem]) -> None:
    """Raise one problem with a subproblem per refused identifier (RFC 8555 §6.7.1): of their
    type when they agree, else `compound`. Nothing when `refused` is empty."""
    if not refused:
        return
    kinds = {p.type for p in refused}
    detail = "; ".join(p.detail for p in refused[:5])
    if len(refused) > 5:
        detail += f" (and {len(refused) - 5} more: see subproblems)"
    if len(kinds) == 1:
        first = refused[0]
        # One refusal also names its identifier at the top, as a single-identifier problem does.
        only = first.identifier if len(refused) == 1 else None
        raise Problem(first.type, detail, first.status, subproblems=refused, identifier=only)
    raise problems.compound(detail, refused)


def _naming(problem: Problem, item: Mapping[str, Any], *, as_sent: bool = False) -> Problem:
    """`problem` naming the identifier as the client sent it (so the client can match it),
    when it names none yet or `as_sent`."""
    if problem.identifier is not None and not as_sent:
        return problem
    ident = {"type": str(item.get("type")), "value": str(item.get("value"))}
    return Problem(problem.type, problem.detail, problem.status, identifier=ident)


def challenge_types(ident: Identifier, enabled: Sequence[str]) -> list[str]:
    """The challenge types offered for an identifier, in the configured order.

    Wildcards only by dns-01 (RFC 8555 §7.1.3); ip identifiers never by dns-01 (RFC 8738 §7).
    """
    if ident.wildcard:
        allowed = {ChallengeType.DNS_01}
    elif ident.type == IdentifierType.IP:
        allowed = {ChallengeType.HTTP_01, ChallengeType.TLS_ALPN_01}
    else:
        allowed = {ChallengeType.HTTP_01, ChallengeType.DNS_01, ChallengeType.TLS_ALPN_01}
    return [t for t in enabled if t in allowed]
