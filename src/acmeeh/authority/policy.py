"""Identifier policy: which names and addresses this CA will certify, and how they are proven."""
from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from ..protocol import problems
from ..protocol.identifiers import Identifier
from ..protocol.problems import Problem
from ..protocol.status import ChallengeType, IdentifierType


def _under(name: str, suffix: str) -> bool:
    suffix = suffix.lower().strip(".")
    return name == suffix or name.endswith("." + suffix)


def identifier_problem(ident: Identifier, identifiers_policy: Any) -> Problem | None:
    """Why `ident` may not be certified, or None when policy allows it."""
    if ident.type == IdentifierType.IP:
        if not identifiers_policy.ip_addresses:
            return problems.unsupported_identifier(f"ip identifiers are not accepted: {ident.value}")
        nets = identifiers_policy.allowed_networks
        if nets and not any(
            ipaddress.ip_address(ident.value) in ipaddress.ip_network(n, strict=False) for n in nets
        ):
            return problems.rejected_identifier(f"{ident.value} is outside the allowed networks")
        return None
    name = ident.base
    if ident.wildcard and not identifiers_policy.wildcards:
        return problems.rejected_identifier(f"wildcard names are not accepted: {ident.value}")
    for forbidden in identifiers_policy.forbidden_names:
        if _under(name, forbidden):
            return problems.rejected_identifier(f"{ident.value} is forbidden by policy")
    suffixes = identifiers_policy.allowed_suffixes
    if suffixes and not any(_under(name, s) for s in suffixes):
        return problems.rejected_identifier(
            f"{ident.value} is not under an allowed suffix ({', '.join(suffixes)})"
        )
    return None


def check_identifiers(identifiers: Sequence[Identifier], identifiers_policy: Any) -> None:
    """Raise one problem covering every refused identifier (RFC 8555 §6.7.1 subproblems)."""
    if not identifiers:
        raise problems.malformed("an order needs at least one identifier")
    if len(identifiers) > identifiers_policy.max_per_order:
        raise problems.rejected_identifier(
            f"an order may name at most {identifiers_policy.max_per_order} identifiers"
        )
    refused = []
    for ident in identifiers:
        prob = identifier_problem(ident, identifiers_policy)
        if prob is not None:
            refused.append(Problem(prob.type, prob.detail, prob.status, identifier=ident.to_json()))
    if not refused:
        return
    if len(refused) == 1:
        raise refused[0]
    # The top-level type follows the subproblems when they agree (RFC 8555 §6.7.1).
    kinds = {p.type for p in refused}
    first = refused[0]
    detail = "; ".join(p.detail for p in refused)
    if len(kinds) == 1:
        raise Problem(first.type, detail, first.status, subproblems=refused)
    raise problems.compound(detail, refused)


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
